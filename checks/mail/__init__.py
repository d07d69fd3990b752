"""The `mail` check's DNS-policy building blocks (issue #22): MX, SPF, DMARC, TLS-RPT, MTA-STS.

Not a registered check yet: the SMTP/DANE part and the Check class come next (docs/mail.md).
"""
