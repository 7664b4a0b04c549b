"""REST routes: interchange (being built)."""

from fastapi import APIRouter

router = APIRouter()
