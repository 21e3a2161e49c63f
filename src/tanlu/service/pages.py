"""The dashboard's pages (being built)."""

from __future__ import annotations

from fastapi import FastAPI


def add_pages(app: FastAPI) -> None:
    """The dashboard."""
