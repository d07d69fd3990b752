"""The web check: HTTPS redirect, security headers, cookies and security.txt of an agency's site, with an
MDN HTTP Observatory-compatible score and grade."""

from checks.web.check import WebCheck
from checks.web.models import WebConfig, WebDetails

__all__ = ["WebCheck", "WebConfig", "WebDetails"]
