"""Error messages tell users which setting to change; every setting they name must exist.

Every string in every `raise` of the project is scanned for settings keys (`breakdown.max_prd_bytes`, `[roles]`,
`TASKMASTER_EMBEDDED__MODEL`) and each one is looked up in the Settings model.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pydantic import BaseModel

from agents.llm.config import Tier
from taskmaster.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("storage", "knowledge", "tasks", "agents", "serving", "graphs", "taskmaster")
DOTTED = re.compile(r"\b(" + "|".join(sorted(Settings.model_fields)) + r")\.([a-z_]+)\b")
BRACKETED = re.compile(r"\[([a-z_]+)(?:\.([a-z_<>]+))?\]")
ENV = re.compile(r"\bTASKMASTER_([A-Z_]+)\b")


def raised_strings() -> list[tuple[str, str]]:
    found = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    for part in ast.walk(node.exc):
                        if isinstance(part, ast.Constant) and isinstance(part.value, str):
                            found.append((f"{path.relative_to(REPO)}:{node.lineno}", part.value))
    return found


def model_of(section: str) -> type[BaseModel] | None:
    annotation = Settings.model_fields[section].annotation
    if section == "tiers":
        return Tier
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def exists(section: str, key: str | None) -> bool:
    if section not in Settings.model_fields:
        return False
    model = model_of(section)
    if key is None or model is None or key.startswith("<"):
        return True
    return key in model.model_fields


def env_exists(name: str) -> bool:
    section, _, key = name.lower().partition("__")
    return exists(section, key or None)


def test_every_setting_named_in_an_error_exists() -> None:
    wrong = []
    for where, text in raised_strings():
        for section, key in DOTTED.findall(text):
            if not exists(section, key):
                wrong.append(f"{where}: {section}.{key}")
        for section, key in BRACKETED.findall(text):
            if section in {"tiers", "roles"} | set(Settings.model_fields) and not exists(section, key or None):
                wrong.append(f"{where}: [{section}{'.' + key if key else ''}]")
        for name in ENV.findall(text):
            if name not in {"PROJECT_DIR"} and not env_exists(name.rstrip("_")):
                wrong.append(f"{where}: TASKMASTER_{name}")
    assert not wrong, "error messages name settings that do not exist:\n" + "\n".join(sorted(set(wrong)))


def test_the_checker_catches_a_wrong_key() -> None:
    assert exists("breakdown", "max_prd_bytes") and not exists("breakdown", "max_prd_size")
    assert exists("roles", None) and not exists("models", "roles")
    assert env_exists("EMBEDDED__MODEL") and not env_exists("EMBEDDED__MODLE")
