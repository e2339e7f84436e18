"""Ranges that every edge (the CLI, the app, saved archives) checks numbers against, kept in one place."""

from __future__ import annotations

MAX_SEED = 2**32 - 1  # numpy's seeds are unsigned 32-bit words
