"""The small pieces every layer uses: the clock, the configuration, the one domain error, rich text, how
times are shown, health and metrics, what background workers share."""
