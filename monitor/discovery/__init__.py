"""Asset discovery inside each agency's scope: the sources (DNS names and zone transfers, address sweeps,
certificate names, Certificate Transparency logs) each produce sightings; the discovery use case keeps those that
registration's scope rules admit as candidates in the agency's inbox (docs/discovery.md)."""
