"""REST routes: backends (being built)."""

from fastapi import APIRouter

router = APIRouter()
