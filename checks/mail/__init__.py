"""The mail check of a domain (issue #22): DNS policy (SPF, DMARC, TLS-RPT, MTA-STS) and transport (STARTTLS, DANE)."""
