"""`taskmaster doctor` and `taskmaster models` against the real embedded llama.cpp server and a dead port."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from typer.testing import CliRunner

from serving.process import free_port
from taskmaster.cli import doctor_commands
from taskmaster.workspace import diagnostics

app = typer.Typer()
app.callback()(lambda: None)
doctor_commands.register(app)
runner = CliRunner()


def test_doctor_passes_against_the_live_embedded_server(isolated_project: Path, embedded_server: object) -> None:
    started = time.monotonic()
    result = runner.invoke(app, ["doctor", "--json"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads(result.output)
    assert report["ok"] is True and report["problems"] == 0
    endpoint = [c for c in report["checks"] if c["area"] == "endpoint"]
    url = embedded_server.base_url  # type: ignore[attr-defined]
    # the three tiers share one server and one model, so it is probed once, naming all three
    assert {c["subject"] for c in endpoint} == {f"planner/fast/coder @ {url}"}
    summaries = [c["summary"] for c in endpoint]
    assert summaries[0].startswith("reachable in ") and summaries[1] == "serves smollm2"
    assert summaries[2].startswith("completion in ") and summaries[3].startswith("structured output in ")
    assert summaries[4] == "context 8192 tokens (reported by the server)"  # llama-server reports its per-slot n_ctx
    areas = {c["area"]: c for c in report["checks"]}
    assert areas["gpu"]["summary"] == "no NVIDIA GPU: CPU inference" or areas["gpu"]["level"] == "ok"
    assert areas["qdrant"]["level"] == "ok" and areas["disk"]["summary"].endswith("GiB free")
    print(f"doctor against the embedded server: {elapsed:.1f} s")


def test_doctor_endpoint_on_a_dead_port_fails_fast_with_one_clear_line(isolated_project: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    result = runner.invoke(app, ["doctor", "--endpoint", url])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith("problem:")]
    assert problems == [
        f"problem: endpoint --endpoint @ {url}: not reachable ([Errno 111] Connection refused); start the server "
        "(`taskmaster serve --profile …`) or fix the tier's base_url in taskmaster.toml"
    ]
    assert "doctor: 1 problem(s)" in result.output
    assert elapsed < 10, elapsed


def test_doctor_endpoint_probes_a_server_outside_the_config(isolated_project: Path, embedded_server: object) -> None:
    url = embedded_server.base_url  # type: ignore[attr-defined]
    result = runner.invoke(app, ["doctor", "--endpoint", url, "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    endpoint = [c for c in json.loads(result.output)["checks"] if c["area"] == "endpoint"]
    assert "(llamacpp)" in endpoint[0]["summary"]  # guessed from llama-server's /props
    assert endpoint[1]["summary"] == "serves smollm2"
    assert endpoint[-1]["summary"] == "context 8192 tokens (reported by the server)"  # /props n_ctx per slot


def test_doctor_reports_a_wrong_model_name(isolated_project: Path, embedded_server: object) -> None:
    url = embedded_server.base_url  # type: ignore[attr-defined]
    result = runner.invoke(app, ["doctor", "--endpoint", url, "--model", "no-such-model", "--backend", "llamacpp"])
    assert result.exit_code == 1
    assert "does not list model 'no-such-model' (it serves smollm2)" in result.stderr


def test_doctor_profile_with_dead_servers_names_each(isolated_project: Path) -> None:
    result = runner.invoke(app, ["doctor", "--profile", "vllm-2x4090"])
    assert result.exit_code == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith("problem:")]
    assert len(problems) == 3 and all("not reachable" in p for p in problems)
    assert "planner @ http://127.0.0.1:8000/v1" in problems[0]


def test_unreachable_qdrant_url_is_a_problem(isolated_project: Path) -> None:
    (isolated_project / "taskmaster.toml").write_text(f'[knowledge]\nurl = "http://127.0.0.1:{free_port()}"\n')
    result = runner.invoke(app, ["doctor", "--endpoint", f"http://127.0.0.1:{free_port()}/v1", "--json"])
    qdrant = next(c for c in json.loads(result.output)["checks"] if c["area"] == "qdrant")
    assert qdrant["level"] == "fail" and qdrant["summary"].startswith("not reachable")


def test_low_disk_is_a_warning(tmp_path: Path) -> None:
    [check] = diagnostics.check_disk([tmp_path / "not-yet" / "created"], low_bytes=1 << 62)
    assert check.level == "warn" and "below" in check.fix and not check.problem


def test_models_lists_tiers_roles_and_live_health(isolated_project: Path, embedded_server: object) -> None:
    url = embedded_server.base_url  # type: ignore[attr-defined]
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    data = json.loads(result.output)
    assert data["profile"] == "embedded" and data["embedded"]["smollm2"]["running"] is True
    assert data["embedded"]["smollm2"]["base_url"] == url and data["roles"]["researcher"] == "planner"
    planner = data["tiers"]["planner"]
    assert planner["model"] == "smollm2" and planner["context_length"] == 8192 and planner["max_output_tokens"] == 768
    assert planner["cost_per_1m_input"] == 0.0
    [endpoint] = planner["endpoints"]
    assert endpoint["base_url"] == url and endpoint["backend"] == "llamacpp" and endpoint["ok"] is True
    assert endpoint["models"] == ["smollm2"]
    text = runner.invoke(app, ["models"])
    assert "tier coder: model smollm2, context 8192, max output 768" in text.output
    assert f"endpoint {url} [llamacpp]: ok in" in text.output and "classifier -> fast" in text.output


def test_models_does_not_start_the_embedded_server(isolated_project: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "--json"], env={"TASKMASTER_EMBEDDED__RUNTIME_DIR": str(tmp_path / "rt")})
    data = json.loads(result.output)
    tiers = ["planner", "fast", "coder"]
    assert data["embedded"] == {"smollm2": {"tiers": tiers, "running": False, "base_url": None, "pid": None}}
    assert data["tiers"]["fast"]["endpoints"][0]["detail"] == doctor_commands.NOT_RUNNING
    assert not (tmp_path / "rt").exists()


def test_models_shows_the_seed_stack(isolated_project: Path) -> None:
    result = runner.invoke(app, ["models", "--profile", "vllm-2x4090"])
    assert result.exit_code == 0, result.output
    assert "tier planner: model llama-3.1-70b-instruct-awq, context 16384, max output 2048" in result.output
    assert "endpoint http://127.0.0.1:8002/v1 [vllm]: down (" in result.output
