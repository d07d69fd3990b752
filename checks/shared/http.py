"""Limits every check that reads HTTP shares (the TLS check's HSTS request, the web check)."""

MAX_HTTP_HEAD_BYTES = (
    32 * 1024
)  # a response head larger than this is cut: far above any real one (and below nassl's failure point)
