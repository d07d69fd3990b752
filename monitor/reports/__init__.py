"""Weekly reports: an agency's posture for one ISO week (German, English per contact) as PDF, HTML and JSON, the
state-wide report for the CERT, and their delivery by mail (docs/reports.md)."""
