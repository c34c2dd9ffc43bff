"""`taskmaster serve`: start the model servers of a profile, and `serve stop` / `serve status` for them.

`--dry-run` prints the exact command lines instead, so the same flags can go into systemd or compose files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from serving import launcher
from taskmaster.cli.common import console, one_line_errors
from taskmaster.cli.options import JsonOpt, ProjectOpt, settings_for
from taskmaster.settings import Settings

ServeProfileOpt = Annotated[
    str, typer.Option("--profile", help=f"Servers to start: {', '.join(launcher.SERVE_PROFILES)}.")
]


def serve_dir(settings: Settings) -> Path:
    return settings.data_dir / "serve"


def register(app: typer.Typer) -> None:
    serve_app = typer.Typer(help="Start, stop and check the local model servers of a profile.")
    app.add_typer(serve_app, name="serve")

    @serve_app.callback(invoke_without_command=True)
    @one_line_errors
    def serve(
        ctx: typer.Context,
        profile: ServeProfileOpt = "llamacpp",
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the command lines; start nothing.")] = False,
        host: Annotated[str, typer.Option(help="Address to bind; non-loopback needs --api-key-env.")] = "127.0.0.1",
        api_key_env: Annotated[
            str | None, typer.Option(help="Name of the environment variable holding the server API key.")
        ] = None,
        model_dir: Annotated[
            Path | None,
            typer.Option(help="Local weights: vLLM <dir>/<repo name>, a GGUF file or dir for llamacpp, OLLAMA_MODELS"),
        ] = None,
        model: Annotated[
            str | None, typer.Option(help="Served model name (Ollama tag / LM Studio key) for one-model profiles.")
        ] = None,
        port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port for one-server profiles.")] = None,
        timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for each server's /v1/models.")] = 600,
        project: ProjectOpt = None,
    ) -> None:
        """Start the model servers of a profile in the background (logs under .taskmaster/serve/)."""
        if ctx.invoked_subcommand is not None:
            return
        settings = settings_for(project)
        specs = launcher.profile_specs(
            profile,
            host=host,
            api_key_env=api_key_env,
            model_dir=model_dir,
            model=model,
            port=port,
            cache_dir=(settings.embedded.runtime_dir or _embedded_cache()) / "models",
        )
        commands = launcher.build_commands(specs, model_dir)
        if dry_run:
            for command in commands:
                typer.echo(f"# {command.name} -> {command.base_url}")
                typer.echo(command.shell_line())
                for step in command.after_start:
                    typer.echo(f"#   then: {' '.join(step)}")
            return
        records = launcher.start_servers(commands, serve_dir(settings), timeout_s=timeout, api_key_env=api_key_env)
        for record in records:
            typer.echo(f"started {record.name} pid {record.pid} at {record.base_url} (log {record.log})")
        for command, asleep in zip(commands, launcher.sleep_after_start(commands), strict=True):
            if asleep:
                typer.echo(f"{command.name} is asleep (level 1); switch phases with deploy/sleep-switch.sh planner")

    @serve_app.command("stop")
    @one_line_errors
    def stop(
        names: Annotated[list[str] | None, typer.Argument(help="Servers to stop (default: all started).")] = None,
        project: ProjectOpt = None,
    ) -> None:
        """Stop the servers `taskmaster serve` started (only those: pid, start time and cmdline are checked)."""
        results = launcher.stop_servers(serve_dir(settings_for(project)), names or None)
        if not results:
            typer.echo("no servers were started by `taskmaster serve` in this project")
        for record, outcome in results:
            typer.echo(f"{record.name} (pid {record.pid}): {outcome}")

    @serve_app.command("status")
    @one_line_errors
    def status(project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
        """Pid, port and health of each started server; entries of dead servers are reported and removed."""
        rows = launcher.server_status(serve_dir(settings_for(project)))
        if as_json:
            typer.echo(
                json.dumps(
                    [
                        {
                            "name": s.record.name,
                            "pid": s.record.pid,
                            "port": s.record.port,
                            "base_url": s.record.base_url,
                            "state": s.state,
                            "healthy": s.healthy,
                            "detail": s.detail,
                        }
                        for s in rows
                    ],
                    indent=2,
                )
            )
            return
        if not rows:
            typer.echo("no servers were started by `taskmaster serve` in this project")
            return
        table = Table(title="taskmaster serve")
        for column in ("name", "pid", "port", "state", "health", "log"):
            table.add_column(column, no_wrap=column != "log")
        for s in rows:
            health = "ok" if s.healthy else s.detail
            table.add_row(s.record.name, str(s.record.pid), str(s.record.port), s.state, health, s.record.log)
        console.print(table)
        for s in rows:
            if s.state != "running":
                typer.echo(f"{s.record.name}: {s.detail}; removed its stale entry")


def _embedded_cache() -> Path:
    from serving.embedded import default_runtime_dir

    return default_runtime_dir()
