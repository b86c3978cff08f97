"""One error base class: every user-facing failure becomes a one-line message and an exit code."""

from __future__ import annotations

# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_FAILED = 1  # a check found overdue items (``check``, ``overdue --fail``)
EXIT_USAGE = 2  # bad usage or invalid input
EXIT_NOT_FOUND = 3  # an id, home, action or event that does not exist
EXIT_STORE = 4  # the database cannot be opened, is locked, or is from a newer version


class ComplianceError(Exception):
    """An error meant for the user: a message that says what to do, and an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ComplianceError):
    """Bad usage or invalid input (exit 2)."""


class NotFound(ComplianceError):
    """Something named on the command line does not exist (exit 3)."""

    exit_code = EXIT_NOT_FOUND


class StoreError(ComplianceError):
    """The database cannot be used (exit 4)."""

    exit_code = EXIT_STORE


class TemporarySpace(StoreError):
    """Temporary files could not be written: a large fixture's parts, check's database (exit 4)."""

    def __init__(self, detail: str) -> None:
        import tempfile

        super().__init__(
            f"cannot write temporary files in {tempfile.gettempdir()} ({detail}); "
            "set TMPDIR to a directory with more room"
        )


class FixtureError(InvalidInput):
    """A problem in a fixture or rule file, located by file, line and field."""

    def __init__(self, file: str, line: int, field: str, message: str, more: int = 0) -> None:
        where = f"{file}:{line}"
        text = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        if more:
            text += f" (and {more} more problem{'s' if more > 1 else ''}; run 'compliance check' to list all)"
        super().__init__(text)
        self.file = file
        self.line = line
        self.field = field
        self.detail = message
