"""The event-time analytics core: windows, rates, sentiment, spikes, first response, alerts.

Plain Python, no Kafka or Faust: the worker and the offline replay run the same code, event by
event, and get the same records out.
"""
