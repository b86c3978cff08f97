"""CLI commands registered on compliance.cli.app (kept in their own module to keep cli.py small)."""

from __future__ import annotations

from .cli import app  # noqa: F401
