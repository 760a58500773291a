"""The stream worker: a Faust app around brandpulse's pure core."""
