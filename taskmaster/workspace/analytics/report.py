"""One self-contained HTML report of the ledger: tables plus the charts inlined as base64 data URIs, so the file
can be mailed or archived and still shows everything with no network and no sibling files."""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path

from graphs.codegen.records import AttemptRecord
from taskmaster.workspace.stats import Group, LedgerStats, by_type_and_tier, summarize
from tasks.atomic import write_text_atomic

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 1em 0; }
"""


def overview_rows(stats: LedgerStats) -> list[tuple[str, str]]:
    solved = f"{stats.solved_runs} ({stats.solved_runs / stats.runs:.0%})" if stats.runs else "0"
    return [
        ("runs (tasks)", str(stats.runs)),
        ("solved", solved),
        ("attempts", str(stats.attempts)),
        ("mean attempts per run", f"{stats.mean_attempts:.2f}"),
        ("escalation rate", f"{stats.escalation_rate:.0%}"),
        ("tokens in / out", f"{stats.input_tokens} / {stats.output_tokens}"),
        ("time in attempts", f"{stats.latency_s:.1f} s"),
        ("cost", f"${stats.cost_usd:.4f}"),
        ("same tokens at cloud reference price", f"${stats.reference_cost_usd:.4f}"),
        ("cost saved", f"${stats.cost_saved_usd:.4f}"),
    ]


GROUP_COLUMNS = ("attempts", "passed", "success rate", "tokens", "mean latency")


def group_row(name: str, group: Group) -> list[str]:
    mean_latency = group.latency_s / group.attempts if group.attempts else 0.0
    return [
        name,
        str(group.attempts),
        str(group.passed),
        f"{group.success_rate:.0%}",
        str(group.input_tokens + group.output_tokens),
        f"{mean_latency:.2f} s",
    ]


def _table(title: str, header: list[str] | None, rows: list[list[str]]) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<h2>{html.escape(title)}</h2>\n<table>{head}{body}</table>"


def build_html(records: list[AttemptRecord], pngs: dict[str, bytes], *, since: datetime | None = None) -> str:
    stats = summarize(records)
    sections = [_table("Overview", None, [list(row) for row in overview_rows(stats)])]
    for title, groups in (("By worker tier", stats.by_tier), ("By task type", stats.by_type)):
        rows = [group_row(name, g) for name, g in sorted(groups.items())]
        sections.append(_table(title, ["", *GROUP_COLUMNS], rows))
    cells = sorted(by_type_and_tier(records).items())
    rows = [group_row(f"{task_type} / {tier}", g) for (task_type, tier), g in cells]
    sections.append(_table("By task type and tier", ["type / tier", *GROUP_COLUMNS], rows))
    for name, data in pngs.items():
        title = name.replace("_", " ")
        encoded = base64.b64encode(data).decode("ascii")
        sections.append(
            f'<h2>{html.escape(title)}</h2>\n<img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
        )
    window = f" since {since.isoformat()}" if since else ""
    made = datetime.now(UTC).isoformat(timespec="seconds")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Task Master Local: code generation report</title><style>{STYLE}</style></head><body>\n"
        f"<h1>Code generation report</h1>\n<p>{len(records)} attempts{html.escape(window)}; generated {made}.</p>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def write_html(
    path: Path, records: list[AttemptRecord], pngs: dict[str, bytes], *, since: datetime | None = None
) -> Path:
    write_text_atomic(path, build_html(records, pngs, since=since))
    return path
