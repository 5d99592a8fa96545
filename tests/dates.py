"""Dates for tests, read when a test runs, never when a module is imported.

A run can cross the city's midnight; a date taken at import would then be yesterday's
and a form that accepts only today or later would refuse it.
"""

from __future__ import annotations

from datetime import date, timedelta

from marketplace.clock import local_today


def today(days: int = 0) -> date:
    """The city's date today, or `days` from it."""
    return local_today() + timedelta(days=days)


def iso(days: int = 0) -> str:
    """The city's date `days` from today, as a form field writes it."""
    return today(days).isoformat()


def resolved(values: dict) -> dict:
    """The values with every callable among them (a date to read now) called."""
    return {key: value() if callable(value) else value for key, value in values.items()}
