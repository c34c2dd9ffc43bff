"""`taskmaster doctor` (is everything a run needs working?) and `taskmaster models` (what is configured).

`doctor` exits 1 when any check fails, so scripts can gate on it; warnings (low disk) are printed but pass.
`doctor` starts (or joins) every embedded model's server so each is checked; `models` never starts one: for the
embedded profile it reports, per model, whether its shared server is running.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from agents.errors import AgentError
from agents.llm.config import Backend, Endpoint, Tier
from agents.llm.endpoints import probe
from serving.errors import ServingError
from taskmaster.cli.common import err_console, one_line_errors
from taskmaster.cli.options import JsonOpt, ProfileOpt, ProjectOpt, settings_for
from taskmaster.errors import AppError
from taskmaster.settings import Settings
from taskmaster.workspace import Workspace, diagnostics

NOT_RUNNING = "not running; the CLI starts it on demand"
MARK = {"ok": "ok  ", "info": "info", "warn": "WARN", "fail": "FAIL"}


def _model_checks(settings: Settings) -> list[diagnostics.Check]:
    try:
        with Workspace(settings) as ws:  # check_router starts (or joins) each embedded model's server
            return diagnostics.check_router(ws.router(), settings.health_timeout_s)
    except (AppError, AgentError, ServingError) as exc:
        return [diagnostics.Check("models", settings.profile, "fail", str(exc))]


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    @one_line_errors
    def doctor(
        endpoint: Annotated[
            str | None, typer.Option("--endpoint", help="Probe this OpenAI-compatible base URL instead of the config.")
        ] = None,
        model: Annotated[str | None, typer.Option(help="Model to expect at --endpoint (default: its first).")] = None,
        backend: Annotated[Backend | None, typer.Option(help="Server family at --endpoint (default: guessed).")] = None,
        project: ProjectOpt = None,
        profile: ProfileOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Check model endpoints (reachable, model, latency, JSON schema, context), GPUs, Qdrant and disk."""
        settings = settings_for(project, profile=profile)
        if endpoint:
            checks = diagnostics.check_single_endpoint(
                endpoint, model, backend, settings.egress(), settings.health_timeout_s
            )
        else:
            checks = _model_checks(settings)
        checks += diagnostics.system_checks(settings)
        problems = [c for c in checks if c.problem]
        if as_json:
            typer.echo(diagnostics.report_json(checks))
        else:
            for check in checks:
                typer.echo(f"{MARK[check.level]} {check.line()}")
            for check in problems:
                err_console.print(f"problem: {check.line()}", markup=False, highlight=False, soft_wrap=True)
            typer.echo(f"doctor: {len(problems)} problem(s)" if problems else "doctor: all checks passed")
        if problems:
            raise typer.Exit(1)

    @app.command("models")
    @one_line_errors
    def models(project: ProjectOpt = None, profile: ProfileOpt = None, as_json: JsonOpt = False) -> None:
        """The profile's tiers (model, endpoints, backend, context, output tokens, costs), roles and live health."""
        settings = settings_for(project, profile=profile)
        embedded = diagnostics.embedded_statuses(settings) if settings.profile == "embedded" else {}
        config = Workspace(settings).model_config()  # embedded tiers name their model's server; none is started
        egress = settings.egress()
        health: dict[str, dict[str, object]] = {}
        for tier in config.tiers.values():
            for ep in tier.endpoints:
                key = _key(ep)
                if key in health:
                    continue
                status = embedded.get(ep.server)
                if status and not status.running:
                    health[key] = {"ok": False, "detail": NOT_RUNNING, "models": []}
                    continue
                url = status.base_url if status else ep.base_url
                try:  # the egress rule first: a refused host never sees a request, let alone the API key
                    egress.check(url)
                except AgentError as exc:
                    health[key] = {"ok": False, "detail": f"refused ({exc})", "models": []}
                    continue
                result = probe(Endpoint(base_url=url, api_key=ep.api_key), settings.health_timeout_s, egress)
                detail = f"ok in {result.latency_ms:.0f} ms" if result.ok else f"down ({result.error})"
                health[key] = {"ok": result.ok, "detail": detail, "models": list(result.models), "url": url}
        if as_json:
            tiers = {name: _tier_json(tier, health) for name, tier in config.tiers.items()}
            payload: dict[str, object] = {"profile": settings.profile, "tiers": tiers, "roles": config.roles}
            if embedded:
                payload["embedded"] = {
                    model: {"tiers": list(s.tiers), "running": s.running, "base_url": s.base_url, "pid": s.pid}
                    for model, s in embedded.items()
                }
            typer.echo(json.dumps(payload, indent=2))
            return
        typer.echo(f"profile: {settings.profile}")
        for model, status in embedded.items():
            typer.echo(f"embedded server {model} ({', '.join(status.tiers)}): {status.detail}")
        for name, tier in config.tiers.items():
            costs = f"${tier.cost_per_1m_input:g}/${tier.cost_per_1m_output:g} per 1M tokens in/out"
            cloud = ", cloud" if tier.cloud else ""
            typer.echo(
                f"tier {name}: model {tier.model}, context {tier.context_length}, "
                f"max output {tier.max_output_tokens}, {costs}{cloud}"
            )
            for ep in tier.endpoints:
                url = health[_key(ep)].get("url")
                shown = url or (f"(embedded {ep.server}, not running)" if ep.server else ep.base_url)
                typer.echo(f"  endpoint {shown} [{ep.backend.value}]: {health[_key(ep)]['detail']}")
        typer.echo("roles: " + ", ".join(f"{role} -> {tier}" for role, tier in config.roles.items()))


def _key(endpoint: Endpoint) -> str:
    """One health row per server: an embedded model's by name (its URL is known only while it runs)."""
    return endpoint.base_url or f"server:{endpoint.server}"


def _tier_json(tier: Tier, health: dict[str, dict[str, object]]) -> dict[str, object]:
    return {**tier.model_dump(mode="json", exclude={"endpoints"}), "endpoints": _endpoints_json(tier, health)}


def _endpoints_json(tier: Tier, health: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    rows = []
    for ep in tier.endpoints:
        found = dict(health[_key(ep)])
        url = found.pop("url", None) or ep.base_url or None
        server = {"server": ep.server} if ep.server else {}
        rows.append({"base_url": url, **server, "backend": ep.backend.value, "has_api_key": bool(ep.api_key), **found})
    return rows
