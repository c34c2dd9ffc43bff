"""The verification harness's own pytest plugin: the only channel a test verdict is read from.

It is copied into the sandbox under a random module name and loaded with `-p` before any test module (and so
before the candidate) is imported. At load it takes a one-time key from a pipe the parent filled and closes that
pipe, so the key is never in a file, the environment or argv. At session end it writes one record to a second
pipe: every collected test id with its outcome, the collection errors, pytest's exit status, and whether pytest's
machinery was tampered with, signed with HMAC-SHA256 under that key.

What this defeats: printing "5 passed" (stdout is not read for the verdict), exiting early with any code (no
record is written, and a missing record is a failure), writing fake junit XML or result files (nothing is read
from disk), and rebinding or re-coding pytest/pluggy internals or registering hook implementations at import
time (identity snapshots taken before collection are compared at session end; any change marks the run
tampered). Not defeated: code that walks the interpreter's heap to find the signing state and reuses it.
"""

# This file runs inside the sandboxed pytest process and must not import the app: stdlib and pytest only.
from __future__ import annotations

import hmac
import json
import os
import sys
import types

import pytest

_ENV = "TM_SANDBOX_FDS"
_HOOKS = (
    "pytest_runtest_protocol",
    "pytest_runtest_setup",
    "pytest_runtest_call",
    "pytest_runtest_teardown",
    "pytest_runtest_makereport",
    "pytest_runtest_logreport",
    "pytest_report_teststatus",
    "pytest_pyfunc_call",
    "pytest_runtestloop",
    "pytest_collection",
    "pytest_collection_modifyitems",
    "pytest_collection_finish",
    "pytest_collectreport",
    "pytest_make_collect_report",
    "pytest_pycollect_makeitem",
    "pytest_generate_tests",
    "pytest_deselected",
    "pytest_sessionfinish",
)
_LAZY_FLAGS = ("._pytest_diamond_inheritance_warning_shown",)  # set by pytest itself on first use
_MODULES = (
    "_pytest.runner",
    "_pytest.reports",
    "_pytest.python",
    "_pytest.main",
    "_pytest.nodes",
    "_pytest.outcomes",
    "_pytest.skipping",
    "_pytest.fixtures",
    "pluggy._callers",
    "pluggy._hooks",
    "pluggy._manager",
)


def _make_reporter() -> types.FunctionType:
    """Read the key, close its pipe, and return the one function that can sign and send the record.

    The key lives only in that function's closure (not a module global), and os.write/hmac/json are bound now,
    before any candidate code runs, so rebinding them later does not reach the reporter.
    """
    key_fd, out_fd = (int(part) for part in os.environ.pop(_ENV, "").split(":"))
    chunks = []
    while chunk := os.read(key_fd, 4096):
        chunks.append(chunk)
    os.close(key_fd)
    key = b"".join(chunks)
    write, digest, dumps = os.write, hmac.digest, json.dumps

    def report(record: dict[str, object]) -> None:
        payload = dumps(record, sort_keys=True).encode()
        line = digest(key, payload, "sha256").hex().encode() + b" " + payload + b"\n"
        while line:
            line = line[write(out_fd, line) :]

    return report  # type: ignore[return-value]


_report = _make_reporter()
_MODE = os.environ.pop("TM_HARNESS_MODE", "run")
_id = id


def _watched() -> list[tuple[str, object]]:
    """Every function, class attribute and code object in pytest's and pluggy's test-running modules."""
    import _pytest.main  # load every watched module before the snapshot
    import _pytest.python
    import _pytest.runner  # noqa: F401
    import pluggy._callers  # noqa: F401

    found: list[tuple[str, object]] = []
    for module_name in _MODULES:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name, value in list(vars(module).items()):
            found.append((f"{module_name}.{name}", value))
            if isinstance(value, type) and value.__module__ == module_name:
                for attr, member in list(vars(value).items()):
                    found.append((f"{module_name}.{name}.{attr}", member))
    with_code = []
    for where, value in found:
        target = getattr(value, "__func__", value)
        if isinstance(value, property):
            target = value.fget
        if isinstance(target, types.FunctionType):
            with_code.append((f"{where}.__code__", target.__code__))
    return found + with_code


def _hookimpls(config: pytest.Config) -> list[tuple[str, object]]:
    pm = config.pluginmanager
    found: list[tuple[str, object]] = [("pm.hook." + name, getattr(pm.hook, name, None)) for name in _HOOKS]
    found += [("pm._inner_hookexec", getattr(pm, "_inner_hookexec", None))]
    for name in _HOOKS:
        caller = getattr(pm.hook, name, None)
        for impl in caller.get_hookimpls() if caller is not None else []:
            found.append((f"{name}:{impl.plugin_name}", impl.function))
            found.append((f"{name}:{impl.plugin_name}.__code__", getattr(impl.function, "__code__", None)))
    return found


class _Harness:
    def __init__(self) -> None:
        self.before: list[tuple[str, object]] = []
        self.collected: list[str] = []
        self.outcomes: dict[str, str] = {}
        self.errors: list[str] = []
        self.reported = False

    @pytest.hookimpl(trylast=True)  # after the fixture manager has registered itself
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.before = [*_watched(), *_hookimpls(session.config), ("harness.report", _report.__code__)]

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = [item.nodeid for item in session.items]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(report.nodeid or "<collection>")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        previous = self.outcomes.get(report.nodeid)
        if report.failed:
            self.outcomes[report.nodeid] = "failed" if report.when == "call" else "error"
        elif report.skipped and previous is None:
            self.outcomes[report.nodeid] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        elif report.when == "call" and report.passed and previous is None:
            self.outcomes[report.nodeid] = "xpassed" if hasattr(report, "wasxfail") else "passed"

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        after = dict([*_watched(), *_hookimpls(session.config), ("harness.report", _report.__code__)])
        tampered = sorted(w for w, v in self.before if w not in after or _id(after[w]) != _id(v))
        known = {w for w, _ in self.before}
        tampered += sorted(w for w in after if w not in known and not w.endswith(_LAZY_FLAGS))
        record = {
            "mode": _MODE,
            "collected": self.collected,
            "outcomes": self.outcomes,
            "errors": self.errors,
            "exitstatus": int(exitstatus),
            "tampered": tampered[:200],
        }
        _report(record)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Harness(), "tm-verification-harness")
