"""The REST API under /api, one router per subject."""
