"""Reading user-supplied text files (PRDs, tests, code) with errors that say what to do."""

from __future__ import annotations

from pathlib import Path

from taskmaster.errors import AppError
from taskmaster.settings import BreakdownSettings

DEFAULT_MAX_BYTES = BreakdownSettings.model_fields["max_prd_bytes"].default


def read_text_input(path: Path, what: str = "PRD", max_bytes: int | None = DEFAULT_MAX_BYTES) -> str:
    """The file's text, or one AppError saying what to do: missing, a directory, too large (checked before
    reading, so a huge file is never loaded), binary (a NUL byte anywhere), not UTF-8, or empty."""
    if not path.exists():
        raise AppError(f"{what} file {path} not found; check the path")
    if path.is_dir():
        raise AppError(f"{path} is a directory; give the {what} file itself")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        setting = "breakdown.max_prd_bytes" if what == "PRD" else "the input limit"
        raise AppError(
            f"{what} file {path} is {_size(size)}, over {setting} ({_size(max_bytes)}); split it into smaller "
            f"files, or raise breakdown.max_prd_bytes in taskmaster.toml if you mean to spend that much model time"
        )
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1 if max_bytes is not None else -1)
    if max_bytes is not None and len(data) > max_bytes:  # it grew since stat
        raise AppError(f"{what} file {path} is over {_size(max_bytes)}; split it into smaller files")
    if b"\x00" in data:
        raise AppError(f"{path} looks binary; the {what} must be UTF-8 text or markdown")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AppError(f"{path} is not UTF-8 text (bad byte at offset {exc.start}); re-save it as UTF-8") from None
    if not text.strip():
        raise AppError(f"{what} file {path} is empty; write the requirements into it first")
    return text


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{n / 1000:.0f} KB"
