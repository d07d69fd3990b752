"""The zone-transfer check: whether a domain's authoritative name servers hand the whole zone to anyone (AXFR)."""

from checks.zonetransfer.check import ZoneTransferCheck
from checks.zonetransfer.models import ZoneTransferConfig, ZoneTransferDetails

__all__ = ["ZoneTransferCheck", "ZoneTransferConfig", "ZoneTransferDetails"]
