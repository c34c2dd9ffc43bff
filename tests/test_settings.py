"""Settings precedence and profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.llm.config import Backend
from taskmaster.errors import AppError
from taskmaster.settings import load_settings, user_config_path
from taskmaster.workspace.profiles import model_config


def test_project_toml_beats_user_toml_and_env_beats_both(isolated_project: Path, monkeypatch) -> None:
    user = user_config_path()
    user.parent.mkdir(parents=True)
    user.write_text('tag = "from-user"\n[breakdown]\nthreshold = 3\nmax_depth = 1\n')
    (isolated_project / "taskmaster.toml").write_text("[breakdown]\nthreshold = 7\n")
    settings = load_settings(isolated_project)
    assert settings.tag == "from-user"
    assert settings.breakdown.threshold == 7
    assert settings.breakdown.max_depth == 1
    monkeypatch.setenv("TASKMASTER_BREAKDOWN__THRESHOLD", "9")
    assert load_settings(isolated_project).breakdown.threshold == 9
    assert settings.tasks_file == isolated_project / ".taskmaster" / "tasks" / "tasks.json"


def test_seed_profile_has_three_vllm_endpoints_and_no_key_needed(isolated_project: Path) -> None:
    config = model_config(load_settings(isolated_project, profile="vllm-2x4090"))
    assert {n: t.model for n, t in config.tiers.items()} == {
        "planner": "llama-3.1-70b-instruct-awq",
        "fast": "mistral-7b-instruct",
        "coder": "codellama-13b-instruct",
    }
    assert {t.endpoints[0].base_url for t in config.tiers.values()} == {
        "http://127.0.0.1:8000/v1",
        "http://127.0.0.1:8001/v1",
        "http://127.0.0.1:8002/v1",
    }
    assert all(t.endpoints[0].backend == Backend.VLLM and t.endpoints[0].api_key is None for t in config.tiers.values())
    assert config.roles["researcher"] == "planner" and config.roles["checker"] == "fast"


@pytest.mark.parametrize(
    ("profile", "port", "backend"),
    [("ollama", 11434, Backend.OLLAMA), ("lmstudio", 1234, Backend.LMSTUDIO), ("localai", 8080, Backend.LOCALAI)],
)
def test_local_server_profiles(isolated_project: Path, profile: str, port: int, backend: Backend) -> None:
    config = model_config(load_settings(isolated_project, profile=profile))
    endpoint = config.tiers["planner"].endpoints[0]
    assert endpoint.base_url == f"http://127.0.0.1:{port}/v1" and endpoint.backend == backend


def test_tier_overrides_and_role_bindings_from_toml(isolated_project: Path) -> None:
    (isolated_project / "taskmaster.toml").write_text(
        'profile = "openai-compatible"\nbase_url = "http://127.0.0.1:9999/v1"\nmodel = "qwen"\n'
        "[tiers.planner]\ncontext_length = 32768\ncost_per_1m_output = 15.0\n"
        '[roles]\nresearcher = "fast"\n'
    )
    config = model_config(load_settings(isolated_project))
    assert config.tiers["planner"].context_length == 32768 and config.tiers["planner"].model == "qwen"
    assert config.tiers["planner"].cost_per_1m_output == 15.0
    assert config.roles["researcher"] == "fast"


def test_openai_compatible_needs_a_url_and_bad_values_are_one_line(isolated_project: Path) -> None:
    with pytest.raises(AppError, match="base URL"):
        model_config(load_settings(isolated_project, profile="openai-compatible"))
    with pytest.raises(AppError, match="invalid setting profile"):
        load_settings(isolated_project, profile="cloud-magic")
    (isolated_project / "taskmaster.toml").write_text('[roles]\nplanner = "nope"\n')
    with pytest.raises(AppError, match="not defined"):
        model_config(load_settings(isolated_project, profile="ollama"))


def test_embedded_model_can_be_switched_to_gemma(isolated_project: Path, monkeypatch) -> None:
    monkeypatch.setenv("TASKMASTER_EMBEDDED__MODEL", "gemma3")
    settings = load_settings(isolated_project)
    assert settings.embedded.model == "gemma3"
    config = model_config(settings, "http://127.0.0.1:5000/v1")
    assert config.tiers["planner"].model == "gemma3"
    assert config.tiers["planner"].endpoints[0].backend == Backend.LLAMACPP
