"""Run model-written code where it cannot hurt the host: namespaces, a throwaway uid, rlimits, a hard wall clock.

What is enforced (Linux, `unshare`/`setpriv`/`prlimit`/`mount` from util-linux):

* Fresh temp dir per run; it is the only writable place. Inside a private mount namespace every mount is
  remounted read-only and only the temp dir is bind-mounted back read-write; /proc is a new, read-only instance.
* The code runs as a fresh unprivileged uid (not root, no capabilities, no_new_privs), so RLIMIT_NPROC is really
  enforced (the kernel ignores it for root) and it cannot undo the mounts or signal host processes.
  As non-root the same is done inside a user namespace instead, where the real uid is already unprivileged.
* A new PID namespace: when its first process exits or is killed, the kernel kills every process left in it,
  so a fork bomb or a daemonised child cannot outlive the run. The wall-clock timeout kills the whole session.
* No network (unless `network=True`): a new network namespace with only a downed loopback; even 127.0.0.1 is
  unreachable and nothing leaves the machine.
* RLIMIT_CPU, RLIMIT_AS (memory), RLIMIT_NPROC, RLIMIT_FSIZE, no core dumps; a minimal environment (no proxies,
  no keys), HOME and TMPDIR inside the temp dir; stdout/stderr go to bounded files and come back truncated.
* Root's home (which holds the interpreter under pyenv) is hidden behind an empty tmpfs, with only the Python
  installation bind-mounted back read-only, so `rm -rf ~` or reading /root finds nothing of the host's.

* Totals for the whole run: a memory cgroup (v2, or v1's memory hierarchy) caps the memory of all its processes
  together at memory_mb (swap included where the kernel accounts it), and everything the run can write (the work
  dir, HOME, TMPDIR) is one tmpfs of max_disk_mb, so many files under the per-file limit still cannot fill a disk.

Not enforced: where no memory cgroup can be created (no writable cgroupfs), memory is only capped per process,
so a run may use up to max_processes x memory_mb until the wall clock fires (the disk cap still holds: tmpfs
needs only the mount namespace); CPU time is per process (RLIMIT_CPU) bounded overall only by the wall clock;
files the candidate can read (the venv, the project) are readable, only not writable. Where namespaces cannot
be created the run is refused (VerificationError) rather than run unconfined.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agents.verification.cgroup import MemoryCgroup
from agents.verification.errors import VerificationError

_SETUP_FAILED = 125
_SETUP_MARK = "tm-sandbox-setup:"
_UID_RANGE = (200_000, 260_000)
_TOOLS = ("unshare", "setpriv", "prlimit", "mount")


@dataclass(frozen=True)
class SandboxLimits:
    """Resource ceilings for one run; defaults suit a small pytest run of one candidate file."""

    wall_seconds: float = 10
    cpu_seconds: int = 10
    memory_mb: int = 512  # per process (RLIMIT_AS) and, where a memory cgroup can be made, for the whole run
    max_processes: int = 64
    max_file_mb: int = 16
    max_disk_mb: int = 64  # everything the run writes (work dir, HOME, TMPDIR) lives on a tmpfs of this size
    network: bool = False
    max_output_chars: int = 20_000


@dataclass(frozen=True)
class SandboxResult:
    """How the run ended; `killed_reason` says which limit fired, if any."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    killed_reason: str | None
    duration_s: float
    channel_out: bytes = b""  # what the run wrote to the private channel (see run_in_sandbox)


def run_in_sandbox(
    argv: list[str],
    files: dict[str, str],
    limits: SandboxLimits | None = None,
    stdin: str | None = None,
    *,
    extra_env: dict[str, str] | None = None,
    channel: bytes | None = None,
) -> SandboxResult:
    """Write `files` into a fresh temp dir and run `argv` there (no shell) under `limits`.

    `extra_env` adds tool switches (never secrets) on top of the scrubbed environment.
    `channel` opens a private two-pipe channel: the run reads `channel` (at most 4 KiB, e.g. a one-time key) from
    the first fd until EOF and may write up to 4 MiB to the second; TM_SANDBOX_FDS="<in>:<out>" names them. The
    bytes written come back as `channel_out`. Neither is a file, so nothing on disk or in stdout can stand in.
    """
    limits = limits or SandboxLimits()
    if not argv:
        raise VerificationError("sandbox needs a command to run; pass a non-empty argv list")
    _require_tools()
    run_root = Path(tempfile.mkdtemp(prefix="tm-sandbox-"))
    try:
        return _run(argv, files, limits, stdin, run_root, extra_env or {}, channel)
    finally:
        shutil.rmtree(run_root, ignore_errors=True)


def _run(
    argv: list[str],
    files: dict[str, str],
    limits: SandboxLimits,
    stdin: str | None,
    run_root: Path,
    extra_env: dict[str, str],
    channel: bytes | None = None,
) -> SandboxResult:
    rootful = os.geteuid() == 0
    uid = random.randrange(*_UID_RANGE) if rootful else os.getuid()
    work = run_root / "work"
    home, tmp, stage, disk = work / "home", work / "tmp", run_root / "stage", run_root / "disk"
    for directory in (work, home, tmp, stage, disk):
        directory.mkdir(mode=0o700)
    _write_files(work, files)
    run_root.chmod(0o755)  # the sandbox uid must traverse it to reach work/
    if rootful:
        for path in (work, *work.rglob("*")):
            os.lchown(path, uid, uid)

    script = _setup_script(work, stage, disk, uid, limits, rootful)
    cgroup = MemoryCgroup.create(limits.memory_mb * 1024 * 1024)
    command = [*(cgroup.enter_argv() if cgroup else []), *_unshare_argv(limits, rootful), "sh", "-c", script]
    command += ["sh", *argv]
    try:
        return _execute(command, work, home, tmp, run_root, limits, stdin, extra_env, channel, cgroup)
    finally:
        if cgroup:
            cgroup.remove()


def _execute(
    command: list[str],
    work: Path,
    home: Path,
    tmp: Path,
    run_root: Path,
    limits: SandboxLimits,
    stdin: str | None,
    extra_env: dict[str, str],
    channel: bytes | None,
    cgroup: MemoryCgroup | None,
) -> SandboxResult:
    out_path, err_path = run_root / "stdout", run_root / "stderr"
    started = time.monotonic()
    pipes = _Channel(channel) if channel is not None else None
    env = {**extra_env, **_scrubbed_env(home, tmp), **(pipes.env() if pipes else {})}
    with out_path.open("wb") as out, err_path.open("wb") as err, pipes or contextlib.nullcontext():
        proc = subprocess.Popen(
            command,
            cwd=work,
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            pass_fds=pipes.child_fds() if pipes else (),
        )
        if pipes:
            pipes.started()
        timed_out = False
        try:
            proc.communicate(input=stdin.encode() if stdin is not None else None, timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_session(proc)
        finally:
            _kill_session(proc)  # PID-namespace init exit already reaped the rest; this is belt and braces
    duration = time.monotonic() - started
    stdout = _truncate(_read_text(out_path), limits.max_output_chars)
    stderr = _truncate(_read_text(err_path), limits.max_output_chars)
    returncode = proc.returncode
    if returncode == _SETUP_FAILED and _SETUP_MARK in stderr:
        raise VerificationError(f"the sandbox could not be set up ({stderr.strip()[-300:]}); check util-linux mounts")
    reason = f"wall-clock timeout after {limits.wall_seconds:g}s" if timed_out else _signal_reason(returncode)
    if cgroup and cgroup.oom_kills() and not timed_out:
        reason = f"memory limit exceeded: the run's processes together went over {limits.memory_mb} MB"
    received = pipes.received if pipes else b""
    return SandboxResult(returncode, stdout, stderr, timed_out, reason, round(duration, 4), received)


class _Channel:
    """Two pipes shared with the sandboxed run only: one carrying `data` in, one carrying a report out."""

    MAX_IN = 4096
    MAX_OUT = 4 * 1024 * 1024

    def __init__(self, data: bytes) -> None:
        if len(data) > self.MAX_IN:
            raise VerificationError("sandbox channel data must fit in 4 KiB (it is meant for a one-time key)")
        self._in_r, in_w = os.pipe()
        os.write(in_w, data)  # fits in the pipe buffer, so this never blocks
        os.close(in_w)  # the reader sees EOF after the data
        self._out_r, self._out_w = os.pipe()
        self.received = b""
        self._reader = threading.Thread(target=self._drain, daemon=True)

    def env(self) -> dict[str, str]:
        return {"TM_SANDBOX_FDS": f"{self._in_r}:{self._out_w}"}

    def child_fds(self) -> tuple[int, int]:
        return (self._in_r, self._out_w)

    def started(self) -> None:
        """Close the parent's copies of the child's ends, so EOF on the report pipe means the run is gone."""
        os.close(self._in_r)
        os.close(self._out_w)
        self._in_r = self._out_w = -1
        self._reader.start()

    def _drain(self) -> None:
        chunks, size = [], 0
        while chunk := os.read(self._out_r, 65536):
            if size < self.MAX_OUT:
                chunks.append(chunk[: self.MAX_OUT - size])
                size += len(chunks[-1])
        self.received = b"".join(chunks)

    def __enter__(self) -> _Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in (self._in_r, self._out_w):
            if fd >= 0:
                os.close(fd)
        if self._reader.is_alive() or self._reader.ident is not None:
            self._reader.join(timeout=5)
        os.close(self._out_r)


def _write_files(work: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise VerificationError(f"sandbox file name {name!r} must be a relative path inside the temp dir")
        target = work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def _unshare_argv(limits: SandboxLimits, rootful: bool) -> list[str]:
    argv = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--ipc", "--uts"]
    if not rootful:
        argv.insert(1, "--user")
        argv.insert(2, "--map-root-user")
    if not limits.network:
        argv.append("--net")
    return argv


def _setup_script(work: Path, stage: Path, disk: Path, uid: int, limits: SandboxLimits, rootful: bool) -> str:
    """Shell run as the namespace's init: lock the filesystem, then start the candidate as an unprivileged child.

    The init stays alive as PID 1 so the candidate gets ordinary signal semantics (PID 1 ignores SIGXCPU), and
    its exit ends the namespace, taking every leftover process with it.
    """
    q = shlex.quote
    lines = ["set -eu", f"fail() {{ echo '{_SETUP_MARK}' \"$1\" >&2; exit {_SETUP_FAILED}; }}"]
    owner = f",uid={uid},gid={uid}" if rootful else ""
    tmpfs_options = f"size={limits.max_disk_mb}m,mode=0700{owner}"
    if rootful:
        lines += _hide_root_home(stage)
    lines += [
        "awk '{print $5}' /proc/self/mountinfo | while IFS= read -r mp; do",
        '  mount -o remount,bind,ro "$(printf %b "$mp")" 2>/dev/null || fail "cannot make $mp read-only"',
        "done",
        # The only writable place is a tmpfs of max_disk_mb: the seeded files are copied onto it, then it
        # replaces the work dir. A full disk is ENOSPC for the candidate, never for the host.
        f"mount -t tmpfs -o {tmpfs_options} tmpfs {q(str(disk))} || fail 'cannot mount the work tmpfs'",
        f"cp -a {q(str(work))}/. {q(str(disk))}/ || fail 'cannot seed the work tmpfs'",
        f"mount --bind {q(str(disk))} {q(str(work))} || fail 'cannot bind the work tmpfs'",
        f"cd {q(str(work))}",
        "set +e",
    ]
    mib = 1024 * 1024
    rlimits = [
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
        f"--as={limits.memory_mb * mib}",
        f"--nproc={limits.max_processes}",
        f"--fsize={limits.max_file_mb * mib}",
        "--core=0",
    ]
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if rootful else ["setpriv"]
    drop += ["--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
    lines.append(" ".join([*drop, "prlimit", *rlimits, "--", '"$@"']))
    lines.append("exit $?")
    return "\n".join(lines)


def _hide_root_home(stage: Path) -> list[str]:
    """Cover root's home, and any directory the sandbox uid could not traverse on the way to the interpreter
    (a checkout under a 0700 `mktemp -d`, say), with an empty tmpfs; then put the Python installation back.

    `rm -rf ~` or reading /root finds nothing of the host's, and the venv's interpreter stays reachable.
    """
    interpreter = _interpreter_paths()
    covers = {Path(os.path.expanduser("~root")).resolve(), *(_blocking_ancestor(p) for p in interpreter)}
    q = shlex.quote
    lines: list[str] = []
    slot_index = 0
    for cover in sorted(c for c in covers if c is not None and c.is_dir()):
        exposed = _outermost([p for p in interpreter if p.is_relative_to(cover) and p != cover])
        slots = []
        for path in exposed:
            slot = stage / str(slot_index)
            slot_index += 1
            slots.append((slot, path))
            lines += [f"mkdir -p {q(str(slot))}", f"mount --bind {q(str(path))} {q(str(slot))} || fail 'cannot stage'"]
        lines.append(f"mount -t tmpfs -o mode=0755,size=1m tmpfs {q(str(cover))} || fail 'cannot hide {cover}'")
        for slot, path in slots:
            lines += [f"mkdir -p {q(str(path))}", f"mount --move {q(str(slot))} {q(str(path))} || fail 'cannot expose'"]
    return lines


def _interpreter_paths() -> list[Path]:
    return sorted({Path(p).resolve() for p in (sys.base_prefix, sys.prefix, sysconfig.get_paths()["purelib"])})


def _blocking_ancestor(path: Path) -> Path | None:
    """The outermost directory above `path` that others cannot traverse, if any."""
    for ancestor in reversed(path.parents):
        if ancestor != Path("/") and not os.stat(ancestor).st_mode & stat.S_IXOTH:
            return ancestor
    return None


def _outermost(paths: list[Path]) -> list[Path]:
    """Outermost only (a nested one comes along with its parent)."""
    kept: list[Path] = []
    for path in sorted(paths):
        if not any(path.is_relative_to(k) for k in kept):
            kept.append(path)
    return kept


def _scrubbed_env(home: Path, tmp: Path) -> dict[str, str]:
    """Only what a build or test run needs; proxies, tokens and the host's HOME never reach the candidate."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _signal_reason(returncode: int) -> str | None:
    signum = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else 0
    return {
        signal.SIGXCPU: "cpu time limit exceeded",
        signal.SIGXFSZ: "file size limit exceeded",
        signal.SIGKILL: "killed (SIGKILL): cpu hard limit or out of memory",
        signal.SIGSEGV: "crashed (SIGSEGV)",
    }.get(signal.Signals(signum) if signum in signal.valid_signals() else None)


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _truncate(text: str, limit: int) -> str:
    """Keep the head and the tail: errors and summaries sit at the end, the first failure at the start."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    return f"{text[:head]}\n…[{len(text) - limit} chars truncated]…\n{text[-tail:]}"


@functools.cache
def _require_tools() -> None:
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        raise VerificationError(
            f"the code sandbox needs {', '.join(missing)} (util-linux); install it with `apt-get install util-linux`"
        )


def sandbox_overhead_probe() -> tuple[float, float]:
    """Seconds for `python -c pass` sandboxed vs plain, for the escalation benchmark."""
    started = time.monotonic()
    run_in_sandbox([sys.executable, "-c", "pass"], {}, SandboxLimits())
    sandboxed = time.monotonic() - started
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return sandboxed, time.monotonic() - started
