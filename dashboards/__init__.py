"""Monitoring as code: Prometheus scrape config, rules, Alertmanager routing, Grafana boards."""
