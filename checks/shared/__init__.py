"""Building blocks several checks use; no check of its own."""
