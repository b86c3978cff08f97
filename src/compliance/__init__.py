"""compliance: statutory deadlines of secure children's homes, computed from rules and an event log."""

__version__ = "0.1.0"
