"""The TLS check: sslyze scan (off the event loop), pure evaluation, compliance profiles, grade."""

from checks.tls.check import TlsCheck
from checks.tls.models import TlsConfig, TlsDetails

__all__ = ["TlsCheck", "TlsConfig", "TlsDetails"]
