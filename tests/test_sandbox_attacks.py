"""Each attack a model-written program might make, run for real in the sandbox and shown to be contained."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from agents.verification.errors import VerificationError
from agents.verification.sandbox import SandboxLimits, run_in_sandbox

FAST = SandboxLimits(wall_seconds=5, cpu_seconds=2, max_processes=32)


def py(code: str, limits: SandboxLimits = FAST, files: dict[str, str] | None = None):
    return run_in_sandbox([sys.executable, "-c", code], files or {}, limits)


def _uids_of_live_processes() -> set[int]:
    uids: set[int] = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        uids.add(int(line.split()[1]))
    return uids


def test_files_are_written_and_cwd_is_the_temp_dir() -> None:
    result = py(
        "import os; print(open('data/in.txt').read(), os.getcwd(), os.environ['HOME'])", files={"data/in.txt": "hi"}
    )
    assert result.returncode == 0, result.stderr
    text, cwd, home = result.stdout.split()
    assert text == "hi"
    assert cwd.startswith("/tmp/tm-sandbox-") and home.startswith(cwd)
    assert not Path(cwd).exists()  # removed after the run


def test_infinite_loop_is_stopped_by_the_cpu_limit() -> None:
    result = py("while True: pass", SandboxLimits(wall_seconds=10, cpu_seconds=1))
    assert result.killed_reason == "cpu time limit exceeded"
    assert result.duration_s < 5


def test_sleeping_forever_is_stopped_by_the_wall_clock() -> None:
    result = py("import time\nwhile True: time.sleep(0.05)", SandboxLimits(wall_seconds=1, cpu_seconds=5))
    assert result.timed_out
    assert result.killed_reason == "wall-clock timeout after 1s"
    assert result.duration_s < 3


def test_fork_bomb_hits_the_process_limit_and_leaves_nothing_behind() -> None:
    bomb = """
import os, time
forked = 0
while True:
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        forked += 1
    except OSError:
        break
print(os.getuid(), forked, flush=True)
"""
    result = py(bomb)
    uid, forked = map(int, result.stdout.split())
    assert uid != 0
    assert forked < FAST.max_processes
    # The sleepers were killed with the PID namespace when their parent (its first process) exited.
    assert uid not in _uids_of_live_processes()


def test_rm_rf_home_only_touches_the_sandbox(tmp_path: Path) -> None:
    real_home = Path("/root")
    before = sorted(p.name for p in real_home.iterdir())
    result = run_in_sandbox(["sh", "-c", "rm -rf ~ /root/* /root/.[!.]* 2>/dev/null; ls -A /root"], {}, FAST)
    assert sorted(p.name for p in real_home.iterdir()) == before
    assert ".bashrc" not in result.stdout  # the real home is not even visible inside


@pytest.mark.parametrize("target", ["/tmp/tm-sandbox-evil", "/root/tm-sandbox-evil", "/work/tm-sandbox-evil"])
def test_writes_outside_the_temp_dir_are_refused(target: str) -> None:
    result = py(f"open({target!r}, 'w').write('pwned')")
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr or "Permission denied" in result.stderr
    assert not Path(target).exists()


def test_no_route_to_host_loopback_listener() -> None:
    """A server on the host's 127.0.0.1 is unreachable: the sandbox has its own, downed loopback."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        result = py(f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)")
        server.settimeout(0.2)
        with pytest.raises(TimeoutError):
            server.accept()  # a connection that got through would be waiting in the backlog
    assert result.returncode != 0
    assert "Network is unreachable" in result.stderr or "Connection refused" in result.stderr


def test_no_route_to_an_outside_address() -> None:
    """UDP connect() only consults the routing table, so this proves isolation without sending a packet."""
    result = py("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('192.0.2.1', 9))")
    assert result.returncode != 0
    assert "Network is unreachable" in result.stderr


def test_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    result = py("import os, json; print(json.dumps(dict(os.environ)))")
    assert "sk-secret" not in result.stdout and "proxy" not in result.stdout.lower()


def test_memory_and_file_size_limits() -> None:
    memory = py("x = bytearray(1024 ** 3)", SandboxLimits(memory_mb=256))
    assert "MemoryError" in memory.stderr
    big = py("open('big', 'wb').write(b'x' * 8 * 1024 * 1024)", SandboxLimits(max_file_mb=1))
    assert big.returncode != 0 and "File too large" in big.stderr


HOG = """
import subprocess, sys
child = "import time\\nb = bytearray(800 * 1024 * 1024)\\nb[::4096] = b'\\\\x01' * (len(b) // 4096)\\n"
child += "print('held', flush=True)\\ntime.sleep(2)\\n"
procs = [subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True) for _ in range(N)]
held = sum(p.communicate()[0].count("held") for p in procs)
print(f"{held} held", flush=True)
"""
TOTAL = SandboxLimits(wall_seconds=30, cpu_seconds=20, memory_mb=1024, max_processes=32)


def test_total_memory_of_all_processes_is_capped() -> None:
    """Issue 11: RLIMIT_AS is per process, so 3 x 800 MB ran against a 1 GB limit. The run's memory cgroup
    charges all of them together; the kernel kills what goes over. (Fails where no memory cgroup can be made.)"""
    result = py(HOG.replace("range(N)", "range(3)"), TOTAL)
    assert "3 held" not in result.stdout, result.stdout
    assert result.killed_reason == "memory limit exceeded: the run's processes together went over 1024 MB"


def test_one_process_under_the_total_is_not_disturbed() -> None:
    result = py(HOG.replace("range(N)", "range(1)"), TOTAL)
    assert result.stdout.strip() == "1 held", result.stdout + result.stderr
    assert result.killed_reason is None


def test_total_disk_use_is_capped() -> None:
    """Many files each under the per-file limit still cannot fill the host's disk: the work dir is a tmpfs."""
    code = """
import errno
written = 0
try:
    for i in range(12):
        with open(f"f{i}", "wb") as f:
            f.write(b"x" * 10 * 1024 * 1024)
        written += 1
except OSError as exc:
    print("stopped", errno.errorcode[exc.errno])
print("written", written)
"""
    result = py(code, SandboxLimits(wall_seconds=20, cpu_seconds=10, max_file_mb=16, max_disk_mb=64))
    assert "stopped ENOSPC" in result.stdout, result.stdout + result.stderr
    assert int(result.stdout.split("written")[1]) < 7


def test_home_and_tmp_count_against_the_same_disk_cap() -> None:
    code = "import os\nfor d in ('.', os.environ['HOME'], os.environ['TMPDIR']):\n    v = os.statvfs(d)\n"
    code += "    print(v.f_blocks * v.f_frsize)"
    result = py(code, SandboxLimits(max_disk_mb=32))
    sizes = {int(line) for line in result.stdout.split()}
    assert sizes == {32 * 1024 * 1024}, result.stdout + result.stderr


def test_output_is_truncated_and_stdin_is_fed() -> None:
    code = "import sys; print(sys.stdin.read() * 10000)"
    result = run_in_sandbox([sys.executable, "-c", code], {}, SandboxLimits(max_output_chars=200), stdin="ab")
    assert len(result.stdout) < 300 and "truncated" in result.stdout
    echoed = run_in_sandbox(["cat"], {}, FAST, stdin="hello")
    assert echoed.stdout == "hello"


def test_bad_file_names_are_refused() -> None:
    with pytest.raises(VerificationError, match="relative path"):
        run_in_sandbox(["true"], {"../escape.txt": "x"}, FAST)
    with pytest.raises(VerificationError, match="non-empty argv"):
        run_in_sandbox([], {}, FAST)


@pytest.mark.skipif(
    os.geteuid() != 0, reason="the throwaway-uid path is the root path; as non-root a user namespace is used"
)
def test_code_runs_as_an_unprivileged_uid() -> None:
    result = py("import os; print(os.getuid(), os.getgid(), os.getgroups())")
    uid, gid, groups = result.stdout.split(maxsplit=2)
    assert int(uid) >= 200_000 and uid == gid and groups.strip() == "[]"


SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.mark.skipif(
    os.geteuid() != 0 or not SYSTEM_PYTHON.exists(), reason="needs root to become `nobody` and a system python3"
)
def test_non_root_callers_get_the_user_namespace_variant() -> None:
    """Run the sandbox itself as `nobody` (the venv's interpreter sits in root's private home, so system python).

    `nobody` may not be able to read the checkout (a clone under a 0700 `mktemp -d`), so it gets a copy."""
    readable = Path(tempfile.mkdtemp())  # not pytest's tmp_path: pytest-of-root is 0700
    shutil.copytree(Path(__file__).resolve().parents[1] / "agents", readable / "agents")
    for path in [readable, *readable.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    target = Path(tempfile.gettempdir()) / f"tm-sandbox-nobody-evil-{os.getpid()}"
    attack = f"open({str(target)!r}, 'w')"
    driver = (
        f"import sys; sys.path.insert(0, {str(readable)!r})\n"
        "from agents.verification.sandbox import SandboxLimits, run_in_sandbox\n"
        f"r = run_in_sandbox([sys.executable, '-c', {attack!r}], {{}}, SandboxLimits())\n"
        "print(r.returncode, 'Read-only file system' in r.stderr)\n"
    )
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(SYSTEM_PYTHON), "-c", driver],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir()},
    )
    shutil.rmtree(readable)
    assert result.stdout.split() == ["1", "True"], result.stderr
    assert not target.exists()
