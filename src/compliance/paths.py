"""Where the database lives: ``--db``, else ``COMPLIANCE_DB``, else the user data directory."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

APP = "compliance"


def default_db() -> Path:
    from pathlib import Path

    from platformdirs import user_data_dir

    return Path(user_data_dir(APP, appauthor=False)) / "compliance.db"


def explicit_db(option: str | None) -> str | None:
    """The database named by ``--db`` or ``COMPLIANCE_DB`` (the plain listings read it without
    importing pathlib), or None for the default one."""
    named = option or os.environ.get("COMPLIANCE_DB")
    return os.path.expanduser(named) if named else None


def resolve_db(option: str | None) -> Path:
    from pathlib import Path

    named = explicit_db(option)
    return Path(named) if named else default_db()
