"""A memory cgroup per sandboxed run: one ceiling on the memory of all its processes together.

Why: rlimits are per process, so a candidate that starts N processes gets N times RLIMIT_AS (3 x 800 MB ran
fine against a 1 GB limit). A cgroup charges every page of every process in the run, and the size-limited
tmpfs the run writes to, against one limit; over it, the kernel's OOM killer ends a process of the run.

cgroup v2 is used when the memory controller can be enabled below this process's own cgroup; else cgroup v1's
memory hierarchy (what this machine has). Neither writable (an unprivileged container, no cgroupfs): `create`
returns None and the caller documents that only per-process limits apply.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

_PREFIX = "tm-sandbox-"


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fs type, super options) from /proc/self/mountinfo."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3:
            found.append((fields[4].replace("\\040", " "), tail[0], set(tail[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """controller list ('' for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            paths[controllers] = path
    return paths


@dataclass
class MemoryCgroup:
    path: Path
    version: int

    @classmethod
    def create(cls, limit_bytes: int) -> MemoryCgroup | None:
        """A fresh cgroup capped at `limit_bytes` (swap included where the kernel accounts it), or None."""
        for make in (cls._v2, cls._v1):
            with contextlib.suppress(OSError, ValueError):
                group = make(limit_bytes)
                if group is not None:
                    return group
        return None

    @classmethod
    def _v2(cls, limit_bytes: int) -> MemoryCgroup | None:
        own = _own_paths().get("")
        mount = next((m for m, fstype, _ in _mounts() if fstype == "cgroup2"), None)
        if own is None or mount is None:
            return None
        parent = Path(mount) / own.lstrip("/")
        if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
            return None  # enabling it would move this process out of its own cgroup first: not ours to do
        path = parent / f"{_PREFIX}{secrets.token_hex(6)}"
        path.mkdir()
        try:
            (path / "memory.max").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):
                (path / "memory.swap.max").write_text("0")
        except OSError:
            path.rmdir()
            raise
        return cls(path, 2)

    @classmethod
    def _v1(cls, limit_bytes: int) -> MemoryCgroup | None:
        mount = next((m for m, fstype, opts in _mounts() if fstype == "cgroup" and "memory" in opts), None)
        if mount is None:
            return None
        own = next((p for c, p in _own_paths().items() if "memory" in c.split(",")), "/")
        parent = Path(mount) / own.lstrip("/")
        if not parent.is_dir():
            parent = Path(mount)
        path = parent / f"{_PREFIX}{secrets.token_hex(6)}"
        path.mkdir()
        try:
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):  # only where swap accounting is on
                (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
        except OSError:
            path.rmdir()
            raise
        return cls(path, 1)

    def enter_argv(self) -> list[str]:
        """Prefix for a command line: the shell joins the cgroup, then execs the command (so all it starts is in)."""
        return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs")]

    def oom_kills(self) -> int:
        """Processes the kernel killed for going over the limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def peak_bytes(self) -> int:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.path / name).read_text())
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        """rmdir once the run's processes are gone (the PID namespace is torn down asynchronously)."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)
