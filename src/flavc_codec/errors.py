"""Errors a user can cause. The CLI turns each into one ``error: ...`` line and exit 1."""


class FlavcError(Exception):
    """Base class for user-facing failures (bad input, bad stream, missing weights)."""


class BitstreamError(FlavcError):
    """A stream that cannot be parsed: wrong magic, truncation, CRC mismatch, limits."""


class InputError(FlavcError):
    """An input video that cannot be opened or decoded."""
