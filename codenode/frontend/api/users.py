"""REST routes: users (being built)."""

from fastapi import APIRouter

router = APIRouter()
