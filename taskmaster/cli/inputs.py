"""Moved below the shell: taskmaster.workspace.inputs (kept so the shells' imports keep working until they move)."""

from taskmaster.workspace.inputs import DEFAULT_MAX_BYTES, read_text_input

__all__ = ["DEFAULT_MAX_BYTES", "read_text_input"]
