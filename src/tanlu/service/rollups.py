"""Roll-ups: a parent's consolidation of its subsidiaries and a regulator's totals (being built)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine


def add_rollup_routes(app: FastAPI, engine: Engine) -> None:
    """The roll-up routes."""
