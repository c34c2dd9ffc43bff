"""PNG charts of the attempt ledger, drawn with matplotlib's object API on the Agg canvas.

`Figure` + `FigureCanvasAgg` instead of pyplot: no global figure registry, no display, nothing to close, and
safe to call from a server thread. Each chart answers one routing question (is the cheap tier good enough
for this type? how often do we escalate? what does each tier cost in time and tokens? what did local save?).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from graphs.codegen.records import AttemptRecord
from taskmaster.workspace.stats import by_type_and_tier, escalations_per_run, summarize

DPI = 100
Chart = Callable[[list[AttemptRecord]], Figure]


def _figure(width: float = 7.0, height: float = 4.5) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def success_heatmap(records: list[AttemptRecord]) -> Figure:
    groups = by_type_and_tier(records)
    types = sorted({t for t, _ in groups})
    tiers = sorted({tier for _, tier in groups})
    grid = [[groups[(t, tier)].success_rate if (t, tier) in groups else float("nan") for tier in tiers] for t in types]
    figure = _figure()
    ax = figure.add_subplot()
    image = ax.imshow(grid, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(tiers)), tiers)
    ax.set_yticks(range(len(types)), types)
    for row, task_type in enumerate(types):
        for col, tier in enumerate(tiers):
            group = groups.get((task_type, tier))
            if group is not None:
                label = f"{group.success_rate:.0%}\nn={group.attempts}"
                ax.text(col, row, label, ha="center", va="center", fontsize=9)
    ax.set_xlabel("worker tier")
    ax.set_title("Attempt success rate by task type × tier")
    figure.colorbar(image, ax=ax, label="success rate")
    return figure


def escalations(records: list[AttemptRecord]) -> Figure:
    runs = escalations_per_run(records)
    types = sorted({task_type for task_type, _ in runs.values()})
    counts = Counter(runs.values())
    most = max((n for _, n in runs.values()), default=0)
    figure = _figure()
    ax = figure.add_subplot()
    bottom = [0] * len(types)
    for level in range(most + 1):
        heights = [counts.get((task_type, level), 0) for task_type in types]
        ax.bar(types, heights, bottom=bottom, label=f"{level} escalation{'s' if level != 1 else ''}")
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("runs (tasks)")
    ax.set_title("Escalations per run, by task type")
    ax.legend()
    return figure


def latency(records: list[AttemptRecord]) -> Figure:
    by_tier: dict[str, list[float]] = {}
    for record in records:
        by_tier.setdefault(record.worker_tier, []).append(record.latency_s)
    tiers = sorted(by_tier)
    figure = _figure()
    ax = figure.add_subplot()
    ax.boxplot([by_tier[t] for t in tiers], tick_labels=tiers, showmeans=True)
    ax.set_ylabel("seconds per attempt")
    ax.set_xlabel("worker tier")
    ax.set_title("Attempt latency by tier")
    return figure


def tokens(records: list[AttemptRecord]) -> Figure:
    stats = summarize(records)
    tiers = sorted(stats.by_tier)
    inputs = [stats.by_tier[t].input_tokens for t in tiers]
    outputs = [stats.by_tier[t].output_tokens for t in tiers]
    figure = _figure()
    ax = figure.add_subplot()
    ax.bar(tiers, inputs, label="input tokens")
    ax.bar(tiers, outputs, bottom=inputs, label="output tokens")
    ax.set_ylabel("tokens")
    ax.set_title("Tokens per tier")
    ax.legend()
    return figure


def cost_saved(records: list[AttemptRecord]) -> Figure:
    stats = summarize(records)
    tiers = sorted(stats.by_tier)
    actual = [stats.by_tier[t].cost_usd for t in tiers]
    reference = [stats.by_tier[t].reference_cost_usd for t in tiers]
    positions = range(len(tiers))
    figure = _figure()
    ax = figure.add_subplot()
    ax.bar([p - 0.2 for p in positions], reference, width=0.4, label="cloud list price")
    ax.bar([p + 0.2 for p in positions], actual, width=0.4, label="actual cost")
    ax.set_xticks(list(positions), tiers)
    ax.set_ylabel("US dollars")
    ax.set_title(f"Cost saved vs cloud list prices: ${stats.cost_saved_usd:.4f}")
    ax.legend()
    return figure


CHARTS: dict[str, Chart] = {
    "success_by_tier_and_type": success_heatmap,
    "escalations": escalations,
    "latency_by_tier": latency,
    "tokens_by_tier": tokens,
    "cost_saved": cost_saved,
}


def render_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def render_all(records: list[AttemptRecord]) -> dict[str, bytes]:
    """Chart name -> PNG bytes, in CHARTS order."""
    return {name: render_png(chart(records)) for name, chart in CHARTS.items()}


def write_pngs(pngs: dict[str, bytes], directory: Path) -> list[Path]:
    """Each file replaced atomically (temp file in the same directory, then rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in pngs.items():
        target = directory / f"{name}.png"
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the charts from a web server or a colleague
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written
