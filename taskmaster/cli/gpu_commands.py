"""`taskmaster plan-gpus` and `taskmaster serve-commands`: the VRAM verdict and the server command lines.

`plan-gpus` is a report, so it exits 0 even when the models do not fit; `--strict` turns "does not fit" into
exit code 1 for scripts and CI.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from serving import launch_plan, model_specs, vram
from taskmaster.cli.common import console, fail, one_line_errors

DEFAULT_MODELS = "llama-3.1-70b-awq,mistral-7b-awq,codellama-13b-awq"
_GPU_ITEM = re.compile(r"^(?:(\d+)\s*[xX]\s*)?(\d+(?:\.\d+)?)$")


def parse_gpus(text: str) -> list[float]:
    """`2x24`, `24,24` or `2x24,1x48` → GiB per GPU."""
    sizes: list[float] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = _GPU_ITEM.match(item)
        if not match or float(match.group(2)) <= 0 or (match.group(1) is not None and int(match.group(1)) < 1):
            fail(f"bad --gpus item {item!r}; write GPU sizes in GiB like 2x24, 24,24 or 2x24,1x48")
        sizes += [float(match.group(2))] * int(match.group(1) or 1)
    if not sizes:
        fail("--gpus is empty; write GPU sizes in GiB like 2x24")
    return sizes


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _gpu_table(row: vram.GpuRow) -> Table:
    table = Table(title=f"GPU {row.index}: {row.used_gib:.1f} of {row.capacity_gib:g} GiB, free {row.free_gib:.1f}")
    table.add_column("model", no_wrap=True)
    for column in ("weights GiB", "KV GiB", "reserve GiB", "total GiB"):
        table.add_column(column, justify="right")
    for a in row.allocations:
        table.add_row(a.model, f"{a.weights_gib:.2f}", f"{a.kv_gib:.2f}", f"{a.reserve_gib:.2f}", f"{a.total_gib:.2f}")
    return table


def _model_table(result: vram.GpuPlan) -> Table:
    table = Table(title="models")
    table.add_column("model", no_wrap=True)
    for column in ("TP", "GPUs", "weights GiB", "KV/token", "context", "max context"):
        table.add_column(column, justify="right")
    for m in result.models:
        table.add_row(
            m.model,
            str(m.tensor_parallel),
            ",".join(map(str, m.gpu_ids)),
            f"{m.weights_gib:.2f}",
            f"{m.kv_bytes_per_token / 1024:,.0f} KiB {m.kv_cache_dtype}",
            f"{m.requested_context} x{m.concurrency}",
            str(m.max_context_that_fits),
        )
    return table


def register(app: typer.Typer) -> None:
    @app.command("plan-gpus")
    @one_line_errors
    def plan_gpus(
        gpus: str = typer.Option("2x24", help="GPU sizes in GiB: 2x24, 24,24 or 2x24,1x48"),
        models: str = typer.Option(DEFAULT_MODELS, help="comma-separated catalogue keys, suffix -awq or -fp16"),
        context: int = typer.Option(8192, min=1, help="tokens of context per sequence"),
        concurrency: int = typer.Option(1, min=1, help="sequences served at once per model"),
        kv_cache_dtype: str = typer.Option("fp16", help="KV cache element type: fp16 or fp8"),
        reserve_gib: float = typer.Option(
            vram.RESERVE_GIB_PER_SERVER_PER_GPU, min=0, help="CUDA context + graphs + activations per server per GPU"
        ),
        as_json: bool = typer.Option(False, "--json", help="print the plan as JSON"),
        strict: bool = typer.Option(False, help="exit 1 when the models do not fit"),
    ) -> None:
        """Will these models fit on these GPUs at once? Per-GPU VRAM, a plain verdict and ranked alternatives."""
        if kv_cache_dtype not in vram.KV_BYTES_PER_ELEMENT:
            fail(f"--kv-cache-dtype must be fp16 or fp8, not {kv_cache_dtype!r}")
        sizes = parse_gpus(gpus)
        specs = [model_specs.resolve(name) for name in models.split(",") if name.strip()]
        if not specs:
            fail("--models is empty; name at least one model, e.g. llama-3.1-70b-awq")
        deployments = [
            vram.Deployment(
                spec=spec,
                tensor_parallel=vram.suggest_tensor_parallel(spec, sizes, reserve_gib),
                concurrency=concurrency,
                context=context,
                kv_cache_dtype=kv_cache_dtype,  # type: ignore[arg-type]  # checked above
            )
            for spec in specs
        ]
        result = vram.plan(sizes, deployments, reserve_gib=reserve_gib)
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
        else:
            for row in result.gpus:
                console.print(_gpu_table(row))
            console.print(_model_table(result))
            typer.echo(f"verdict: {result.verdict}")
            for problem in result.problems:
                typer.echo(f"  problem: {problem}")
            if result.alternatives:
                typer.echo("alternatives, best first:")
            for alt in result.alternatives:
                typer.echo(f"  {alt.rank}. {alt.title}: {alt.detail}")
        if strict and not result.fits:
            raise typer.Exit(1)

    @app.command("serve-commands")
    @one_line_errors
    def serve_commands(
        systemd_env_dir: Path | None = typer.Option(
            None, help="also write one <name>.env per server for deploy/systemd/taskmaster-vllm@.service"
        ),
    ) -> None:
        """Print (never run) the vLLM command lines of the 2 x RTX 4090 seed stack, API keys redacted."""
        commands = launch_plan.build_all(launch_plan.seed_stack_2x4090())
        if systemd_env_dir is not None:
            systemd_env_dir.mkdir(parents=True, exist_ok=True)
            for command in commands:
                _write_atomic(systemd_env_dir / f"{command.name}.env", launch_plan.systemd_env_file(command))
        for command in commands:
            typer.echo(f"# {command.name} -> {command.base_url}")
            typer.echo(command.shell_line())
        phases = " then ".join("+".join(p) for p in launch_plan.SLEEP_PHASES_2X4090)
        typer.echo(f"# awake together (the rest sleep): {phases}")
