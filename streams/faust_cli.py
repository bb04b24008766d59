"""Faust's click helpers, re-exported so commands import them from one place."""

from faust.cli import argument, option

__all__ = ["argument", "option"]
