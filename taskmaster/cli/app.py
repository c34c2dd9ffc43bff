"""The `taskmaster` command: one Typer app whose commands are built on first use.

Most commands drive models, graphs or the knowledge base, whose imports cost seconds; task commands only read a
JSON file. So the app's click group imports a command's module only when that command runs (registry.COMMANDS
says which module), and `--help` lists commands from the registry without importing any of them.
Modules can still register eagerly with `module.register(app)` (tests do); eager commands win over lazy ones.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from taskmaster.cli import registry


def _error_line(message: str, code: int) -> NoReturn:
    from taskmaster.cli.common import err_console

    first_line = " ".join(message.split())
    err_console.print(f"[bold red]error:[/] {first_line}", markup=True, highlight=False)
    sys.exit(code)


class LazyGroup(TyperGroup):
    """A click group that builds each command from its registry module on demand."""

    _built: dict[str, Any]
    _help_only = False

    def _module_group(self, module_names: tuple[str, ...]) -> TyperGroup:
        sub_app = typer.Typer()

        @sub_app.callback()
        def _unused() -> None:  # a callback keeps Typer from collapsing a one-command app into that command
            pass

        for module_name in module_names:
            registry.load(module_name).register(sub_app)
        group = typer.main.get_command(sub_app)
        assert isinstance(group, TyperGroup)
        return group

    def _build(self, ctx: Any, name: str) -> Any:
        built = self.__dict__.setdefault("_built", {})
        if name in built:
            return built[name]
        modules = registry.modules_for(name)
        if not modules:
            return None
        command = self._module_group(modules).get_command(ctx, name)
        if command is not None:
            built[name] = command
        return command

    def _unlisted(self, ctx: Any) -> dict[str, Any]:
        if "_unlisted_commands" not in self.__dict__:
            modules = registry.unlisted_modules()
            group = self._module_group(modules) if modules else None
            self.__dict__["_unlisted_commands"] = dict(group.commands) if group is not None else {}
        return self.__dict__["_unlisted_commands"]

    def list_commands(self, ctx: Any) -> list[str]:
        names = dict.fromkeys([*super().list_commands(ctx), *registry.COMMANDS])
        if registry.unlisted_modules():
            names.update(dict.fromkeys(self._unlisted(ctx)))
        return list(names)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        eager = super().get_command(ctx, cmd_name)
        if eager is not None:
            return eager
        if self._help_only and cmd_name in registry.COMMANDS:
            # `--help` only needs the one-line help: don't import the module for it.
            return TyperCommand(cmd_name, help=registry.COMMANDS[cmd_name][1], callback=None)
        command = self._build(ctx, cmd_name)
        if command is None and registry.unlisted_modules():
            command = self._unlisted(ctx).get(cmd_name)
        return command

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Usage errors (unknown option, missing or invalid value) as one `error:` line, like every other error."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # typer's vendored click

        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as exc:  # the help is already printed
            sys.exit(exc.exit_code)
        except UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "taskmaster"
            _error_line(f"{exc.format_message().rstrip('.')}; see `{where} --help`", exc.exit_code)
        except ClickException as exc:
            _error_line(exc.format_message(), exc.exit_code)
        except typer.Abort:
            _error_line("aborted", 1)
        sys.exit(result if isinstance(result, int) else 0)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._help_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._help_only = False


app = typer.Typer(
    name="taskmaster",
    help="Task Master Local: PRD to tasks, recursive breakdown, research and codegen on local models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroup,
)


@app.callback()
def _root() -> None:
    """Task Master Local: PRD to tasks, recursive breakdown, research and codegen on local models."""


def _register_all() -> None:
    """Register every command eagerly (the old start-up path; tests that need a fully built app use it)."""
    for module in registry.command_modules():
        module.register(app)


def main() -> None:
    app(prog_name="taskmaster")  # also under `python -m taskmaster.cli`
