"""REST routes: notebooks (being built)."""

from fastapi import APIRouter

router = APIRouter()
