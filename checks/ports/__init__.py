"""Open-ports check: nmap connect scan, service fingerprints, exposure and drift findings."""

from checks.ports.check import NEW_OPEN, UNEXPECTED, PortsCheck, scan_batch, validate_host
from checks.ports.models import OpenPort, PortsConfig, PortsDetails
from checks.ports.portspec import DEFAULT_PORTS, PortSelection, parse_port_spec
from checks.ports.scanner import NMAP_MISSING, NmapFailed

__all__ = [
    "DEFAULT_PORTS",
    "NEW_OPEN",
    "NMAP_MISSING",
    "UNEXPECTED",
    "NmapFailed",
    "OpenPort",
    "PortSelection",
    "PortsCheck",
    "PortsConfig",
    "PortsDetails",
    "parse_port_spec",
    "scan_batch",
    "validate_host",
]
