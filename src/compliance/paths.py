"""Where the database lives: ``--db``, else ``COMPLIANCE_DB``, else the user data directory."""

from __future__ import annotations

import os
from pathlib import Path

APP = "compliance"


def default_db() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP, appauthor=False)) / "compliance.db"


def resolve_db(option: str | None) -> Path:
    if option:
        return Path(option).expanduser()
    env = os.environ.get("COMPLIANCE_DB")
    if env:
        return Path(env).expanduser()
    return default_db()
