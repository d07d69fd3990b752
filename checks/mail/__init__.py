"""The building blocks of the `mail` check of a domain (issue #22): DNS policy (MX, SPF, DMARC, TLS-RPT, MTA-STS:
`policy.py` and its parsers) and transport (STARTTLS: `smtp.py`; DANE: `dane.py`).

Not a registered check yet: the Check class that wires them, the MTA-STS policy fetch, the scope rule for MX hosts,
the metrics and the dashboards come next (docs/mail.md).
"""
