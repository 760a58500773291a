"""``brandpulse audit``: replay a range and compare it with what the live worker recorded.

``compare`` pairs live and replayed alerts and window records and sums per-brand totals, and
``report`` renders the result as a self-contained HTML page and a JSON summary; both are pure
and import no Kafka client, so they can be tested and reused offline. ``live`` is the only
module that talks to Kafka (it reads the windows and alerts topics whole), and ``command`` wires
the replay, the reading and the comparison together for the CLI.
"""
