"""The tasks.json lock that Task Master's own processes also respect.

task-master-ai 0.43.1 takes `tasks.json.lock` in two ways, both exclusive on the same path:

- tm-core (`set-status`, `list`, ... via proper-lockfile): `mkdir tasks.json.lock`; the holder refreshes the
  directory's mtime every `stale / 2` seconds; a lock whose mtime is older than `stale` (10 s) is removed by the
  next contender; release is `rmdir`.
- the legacy scripts (`add-task`, `add-subtask`, `add-dependency`, ...): create `tasks.json.lock` as a *file*
  with `O_EXCL`; a lock file older than 10 s is renamed away and deleted; release is `unlink`.

Either form makes the other's create fail with EEXIST, so we take the lock the proper-lockfile way (a directory)
and treat an existing file or directory as held until it goes stale. We hold it only for the read-modify-write,
never across a model call, because Task Master gives up after about 2.5 s of retries.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path
from types import TracebackType

from tasks.errors import TasksFileError

STALE_SECONDS = 10.0
_POLL_SECONDS = 0.05


class TasksLock:
    """Exclusive lock on `<path>.lock`, compatible with proper-lockfile and Task Master's legacy lock file."""

    def __init__(self, path: Path | str, timeout: float = 30.0, stale: float = STALE_SECONDS) -> None:
        self.target = Path(path)
        self.path = Path(f"{self.target}.lock")
        self.timeout = timeout
        self.stale = stale
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lock, waiting up to `timeout` seconds; removes a stale lock left by a crashed process."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                os.mkdir(self.path)
            except FileExistsError:
                if self._remove_if_stale():
                    continue
                if time.monotonic() >= deadline:
                    raise TasksFileError(
                        f"tasks file {self.target} is locked by another process (taskmaster or task-master); "
                        f"retry, or remove {self.path} if no such command is running"
                    ) from None
                time.sleep(_POLL_SECONDS)
                continue
            break
        self._stop.clear()
        self._refresher = threading.Thread(target=self._refresh, name="tasks-lock-refresh", daemon=True)
        self._refresher.start()

    def release(self) -> None:
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join()
            self._refresher = None
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            os.rmdir(self.path)

    def _refresh(self) -> None:
        """Keep the mtime fresh, as proper-lockfile's holder does, so nobody declares a live lock stale."""
        while not self._stop.wait(self.stale / 2):
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def _remove_if_stale(self) -> bool:
        """Remove a lock (directory or legacy file) whose mtime is older than `stale`; True if one was removed."""
        try:
            age = time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return True  # released between our mkdir and stat: try again at once
        if age <= self.stale:
            return False
        # Rename first so that two contenders never both delete: only one rename of the same path succeeds.
        grave = self.path.with_name(f"{self.path.name}.stale.{os.getpid()}.{time.time_ns()}")
        try:
            os.rename(self.path, grave)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        if grave.is_dir():
            shutil.rmtree(grave, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                grave.unlink()
        return True

    def __enter__(self) -> TasksLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
