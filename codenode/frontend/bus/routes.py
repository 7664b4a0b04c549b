"""The bus's WebSocket route (being built)."""

from fastapi import APIRouter

router = APIRouter()
