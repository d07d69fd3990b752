"""The DNSSEC check: a validating resolver's verdict on a domain and the check's own diagnosis of its zone."""

from checks.dnssec.check import DnssecCheck
from checks.dnssec.models import DnssecConfig, DnssecDetails

__all__ = ["DnssecCheck", "DnssecConfig", "DnssecDetails"]
