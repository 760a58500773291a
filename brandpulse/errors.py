"""Errors a user can act on: the CLI prints the message (no traceback) and exits with the code."""

from __future__ import annotations


class BrandpulseError(Exception):
    """A failure with a message that says what is wrong and how to fix it."""

    exit_code = 1


class UsageError(BrandpulseError):
    exit_code = 2
