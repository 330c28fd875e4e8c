"""Simulators at the edge of the world (call feeds, crews) and the demo data they use."""
