"""The `mail` check of a domain (`check.py`): DNS policy (MX, SPF, DMARC, TLS-RPT, MTA-STS: `policy.py` and its
parsers), transport (STARTTLS: `smtp.py`; DANE: `dane.py`; the MTA-STS policy file: `stsfetch.py`), where it may
connect (`reach.py`) and the verdict (`verdict.py`). The rules, their sources and severities: docs/mail.md.
"""
