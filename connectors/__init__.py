"""Connectors: bring platform events in, normalized to the event contract, and publish them."""
