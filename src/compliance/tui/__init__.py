"""The Textual TUI (a shell over the core)."""
