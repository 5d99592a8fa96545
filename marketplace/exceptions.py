"""Exceptions that services raise for views and commands to report."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused action; `message` is for the user, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class StateError(ServiceError):
    """An action that the object's current state does not allow."""
