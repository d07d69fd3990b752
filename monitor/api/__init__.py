"""The HTTP side: health endpoints now; the agency API, web UI and /metrics plug in here."""
