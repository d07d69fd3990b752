"""posture-monitor: the daemon that watches what public agencies expose to the internet."""

__version__ = "0.1.0"
