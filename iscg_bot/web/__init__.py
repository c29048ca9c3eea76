"""The embedded web server: the group's pages, calendar feeds, /healthz and /metrics."""
