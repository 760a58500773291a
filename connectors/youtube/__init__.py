"""YouTube: comment threads of the brand channels and videos, and subscriber counts, over the
Data API v3 within a daily quota budget."""
