"""The import graph keeps its shape: imports point down the layers (docs/architecture.md), and the shells (CLI, MCP,
Studio, scheduler, evals) are leaves over one Workspace.

Every module of the project is parsed (not imported) and each `import`/`from ... import` it makes, at any depth
(lazy imports inside functions count), is checked against the layer table below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("storage", "knowledge", "tasks", "agents", "serving", "graphs", "taskmaster")

# Most specific prefix first. A module may import its own layer and the layers listed for it.
LAYERS: list[tuple[str, set[str]]] = [
    ("storage", set()),
    ("knowledge", {"storage"}),
    ("tasks", {"storage"}),
    ("agents", {"storage", "knowledge", "tasks"}),
    ("serving", {"storage", "agents"}),
    ("graphs", {"storage", "knowledge", "tasks", "agents"}),
    ("taskmaster.workspace", {"storage", "knowledge", "tasks", "agents", "serving", "graphs", "taskmaster.core"}),
    ("taskmaster.core", {"storage", "knowledge", "tasks", "agents", "serving", "graphs", "taskmaster.workspace"}),
    # the shells: each may use everything below it, and none of the other shells (the CLI launches the MCP server,
    # the scheduler and Studio-less commands, so it may import their entry modules)
    ("taskmaster.cli", {"*below", "taskmaster.mcp", "taskmaster.scheduling", "taskmaster.evals"}),
    ("taskmaster.mcp", {"*below"}),
    ("taskmaster.studio", {"*below"}),
    ("taskmaster.scheduling", {"*below"}),
    ("taskmaster.evals", {"*below"}),
]
BELOW_SHELLS = {
    "storage",
    "knowledge",
    "tasks",
    "agents",
    "serving",
    "graphs",
    "taskmaster.workspace",
    "taskmaster.core",
}
CORE_MODULES = {"taskmaster", "taskmaster.settings", "taskmaster.errors"}  # the public API's own modules


def layer_of(module: str) -> str | None:
    if module in CORE_MODULES:
        return "taskmaster.core"
    for name, _ in LAYERS:
        if module == name or module.startswith(name + "."):
            return name
    return None


def allowed(layer: str) -> set[str]:
    rules = dict(LAYERS)[layer]
    if "*below" in rules:
        rules = (rules - {"*below"}) | BELOW_SHELLS
    return rules | {layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def project_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py") if "__pycache__" not in p.parts)


def violations() -> list[str]:
    problems = []
    for path in project_modules():
        source = module_name(path)
        source_layer = layer_of(source)
        assert source_layer is not None, f"{source} is in no layer; add it to tests/test_layers.py"
        for line, target in imports_of(path):
            if target.split(".")[0] not in PACKAGES:
                continue
            target_layer = layer_of(target)
            if target_layer is None or target_layer in allowed(source_layer):
                continue
            problems.append(f"{path.relative_to(REPO)}:{line} imports {target} ({source_layer} → {target_layer})")
    return sorted(set(problems))


def test_imports_point_down_the_layers() -> None:
    problems = violations()
    assert not problems, "upward or sideways imports:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "target", "ok"),
    [
        ("agents.llm.router", "tasks.model", True),
        ("tasks.model", "agents.llm.router", False),
        ("taskmaster.workspace.runs", "taskmaster.cli.common", False),
        ("taskmaster.mcp.server", "taskmaster.cli.common", False),
        ("taskmaster.cli.mcp_commands", "taskmaster.mcp.server", True),
        ("serving.embedded", "taskmaster.settings", False),
        ("taskmaster.settings", "taskmaster.workspace.paths", True),
    ],
)
def test_the_layer_table(source: str, target: str, ok: bool) -> None:
    source_layer, target_layer = layer_of(source), layer_of(target)
    assert source_layer is not None and target_layer is not None
    assert (target_layer in allowed(source_layer)) is ok
