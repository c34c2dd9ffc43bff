"""The public API for tasks.json: list, show, next, set-status, add, update, move, remove, tags (no model needed)."""

from __future__ import annotations
