"""Which module builds each command, so `taskmaster <cmd>` imports only that module.

Adding a command is one line in COMMANDS: `"name": ("module_in_taskmaster_cli", "one-line help for --help")`,
where the module has `register(app)` that adds `name` (a command or a sub-app). The help text is what
`taskmaster --help` prints without importing the module; tests/test_cli_lazy.py checks it matches the command's
own help. A module only listed in COMMAND_MODULES still works, but is imported for `--help` and unknown names.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# name -> (module or modules whose register() builds it, short help). Task commands first: they must stay light.
COMMANDS: dict[str, tuple[str | tuple[str, ...], str]] = {
    "init": ("edit_commands", "Create .taskmaster/ (tasks.json, state.json, config) the way task-master init does."),
    "list": ("task_commands", "List tasks as a tree with status, priority, complexity and dependencies."),
    "show": ("task_commands", "Show one task (ids like 3 or 3.2.1)."),
    "next": ("task_commands", "Show the next task to work on (Task Master's rule)."),
    "set-status": (
        "task_commands",
        "Set the status of one or more tasks (comma-separated ids); a subtask's change rolls up to its parent.",
    ),
    "add-dependency": ("task_commands", "Make a task depend on another; refused if it would create a cycle."),
    "remove-dependency": ("task_commands", "Remove a dependency."),
    "validate-dependencies": (
        "task_commands",
        "Check for duplicate ids, missing references, self-references and cycles; exit 1 if any remain.",
    ),
    "import": (
        "task_commands",
        "Import every tag of a Task Master tasks.json; existing tags are merged unless --replace.",
    ),
    "export": ("task_commands", "Export to a Task Master tasks.json that the npm tool reads."),
    "add-task": (
        "edit_commands",
        "Add a task: manual with --title/--description, or written by the model from --prompt.",
    ),
    "add-subtask": ("edit_commands", "Add a subtask to --parent, or convert task --task-id into one."),
    "update-task": ("edit_commands", "Change one task: fields directly, or rewritten by the model from --prompt."),
    "update-subtask": ("edit_commands", "Append a timestamped note to a subtask (the model writes it unless --no-ai)."),
    "update": ("edit_commands", "Rewrite every pending task from --from on with the model, following --prompt."),
    "remove-subtask": ("edit_commands", "Remove subtasks, or turn them into top-level tasks with --convert."),
    "clear-subtasks": ("edit_commands", "Remove all subtasks of --id tasks (or --all)."),
    "remove-task": ("edit_commands", "Remove tasks or subtasks and every dependency on them."),
    "move": ("edit_commands", "Move tasks within a tag (--from/--to) or to another tag (--from-tag/--to-tag)."),
    "generate": ("edit_commands", "Write one task_NNN.txt file per task next to tasks.json, as Task Master does."),
    "complexity-report": ("edit_commands", "Show the complexity report analyze-complexity wrote for this tag."),
    "tags": ("tag_commands", "List tags with task counts; the active one is marked."),
    "add-tag": ("tag_commands", "Create a tag (empty, or --copy-from-current / --copy-from TAG)."),
    "use-tag": ("tag_commands", "Make a tag the active one (.taskmaster/state.json)."),
    "delete-tag": ("tag_commands", "Delete a tag and its tasks (never master)."),
    "rename-tag": ("tag_commands", "Rename a tag."),
    "copy-tag": ("tag_commands", "Copy a tag and its tasks to a new tag."),
    "parse-prd": ("breakdown_commands", "Turn a PRD into tasks, score them and expand complex ones recursively."),
    "goal": ("breakdown_commands", "Turn a short goal into tasks (like parse-prd, from text)."),
    "expand": (
        "breakdown_commands",
        "Break a task (or all pending tasks) into subtasks, recursively up to --depth levels.",
    ),
    "analyze-complexity": (
        "breakdown_commands",
        "Score every pending top-level task's complexity (1-10) and recommend a subtask count.",
    ),
    "verify": (
        "verify_commands",
        "Verify FILE: syntax, compile and sandboxed tests by task type; exit 1 if verification fails.",
    ),
    "plan-gpus": (
        "gpu_commands",
        "Will these models fit on these GPUs at once? Per-GPU VRAM, a plain verdict and ranked alternatives.",
    ),
    "serve-commands": (
        "gpu_commands",
        "Print (never run) the vLLM command lines of the 2 x RTX 4090 seed stack, API keys redacted.",
    ),
    "serve": ("serve_commands", "Start, stop and check the local model servers of a profile."),
    "doctor": (
        "doctor_commands",
        "Check model endpoints (reachable, model, latency, JSON schema, context), GPUs, Qdrant and disk.",
    ),
    "models": (
        "doctor_commands",
        "The profile's tiers (model, endpoints, backend, context, output tokens, costs), roles and live health.",
    ),
    "research": (
        "knowledge_commands",
        "Answer a question from the knowledge base with numbered citations checked against the retrieved passages.",
    ),
    "kb": ("knowledge_commands", "The knowledge base: add, list, remove, search, stats."),
    "code": (
        "code_commands",
        "Write code for a task (or --spec): verify, self-debug, escalate up the tiers, human review when needed.",
    ),
    "stats": (
        "code_commands",
        "Success rate by tier and type, attempts, escalations, tokens, latency and cost saved by running locally.",
    ),
    "eval": (("code_commands", "knowledge_commands"), "Benchmark the codegen pipeline."),
    "run": (
        "run_commands",
        "Work through the tasks on its own: next ready task → research, code, plan or break down → verify → status.",
    ),
    "runs": ("run_commands", "Recent autonomous runs (thread ids to --resume), or one run's task-by-task events."),
    "routing": ("routing_commands", "Adaptive routing: where each task type starts in its escalation chain."),
    "scheduler": (
        "schedule_commands",
        "Run the scheduler in the foreground: fire schedules until Ctrl-C or SIGTERM (systemd).",
    ),
    "schedule": ("schedule_commands", "Scheduled autonomous runs (cron); `taskmaster scheduler` fires them."),
    "mcp": (
        "mcp_commands",
        "Serve Task Master's MCP tools (get_tasks, next_task, parse_prd, ...) to Claude Code, Cursor or VS Code.",
    ),
}

# Every module that registers commands (all of COMMANDS' modules, plus any listed only here).
COMMAND_MODULES: tuple[str, ...] = (
    "task_commands",
    "edit_commands",
    "tag_commands",
    "breakdown_commands",
    "verify_commands",
    "gpu_commands",
    "serve_commands",
    "doctor_commands",
    "knowledge_commands",
    "code_commands",
    "run_commands",
    "routing_commands",
    "schedule_commands",
    "mcp_commands",
)


def modules_for(name: str) -> tuple[str, ...]:
    """Modules to import to build command `name` (empty if it is not in COMMANDS)."""
    entry = COMMANDS.get(name)
    if entry is None:
        return ()
    modules = entry[0]
    return (modules,) if isinstance(modules, str) else modules


def unlisted_modules() -> tuple[str, ...]:
    """Modules in COMMAND_MODULES that no COMMANDS entry names: their commands are only known after import."""
    named = {module for name in COMMANDS for module in modules_for(name)}
    return tuple(module for module in COMMAND_MODULES if module not in named)


def load(name: str) -> ModuleType:
    return importlib.import_module(f"taskmaster.cli.{name}")


def command_modules() -> list[ModuleType]:
    """Every command module, imported (slow: the whole model stack); for tests and tools that need them all."""
    return [load(name) for name in COMMAND_MODULES]
