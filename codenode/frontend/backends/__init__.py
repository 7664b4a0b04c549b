"""The backends a frontend starts engines on: registry, health checks, placement."""
