"""``brandpulse webhooks``: platforms push to us instead of being polled.

One HTTP receiver serves three paths: ``/meta`` (Facebook Pages and Instagram, Meta Graph
webhooks), ``/shopify`` (orders) and ``/hooks/generic`` (a documented signed JSON format for
websites and shops). Every request is authenticated by an HMAC of its raw body before it is
parsed, and answered 200 only once what it carried is acknowledged by Kafka, so a platform that
gets no 200 retries and nothing is lost; retries are recognised by the platform's ids.
"""
