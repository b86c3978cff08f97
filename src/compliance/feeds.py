"""(being written: see the issue for this capability)."""
