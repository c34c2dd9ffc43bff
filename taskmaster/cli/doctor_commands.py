"""`taskmaster doctor` (is everything a run needs working?) and `taskmaster models` (what is configured).

`doctor` exits 1 when any check fails, so scripts can gate on it; warnings (low disk) are printed but pass.
`models` never starts a server: for the embedded profile it only reports whether the shared one is running.
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
from taskmaster.workspace import diagnostics
from taskmaster.workspace.profiles import model_config

NOT_RUNNING = "not running; the CLI starts it on demand"
MARK = {"ok": "ok  ", "info": "info", "warn": "WARN", "fail": "FAIL"}
# model_config needs a URL for the embedded profile even when its server is down; nothing listens on port 0.
EMBEDDED_PLACEHOLDER_URL = "http://127.0.0.1:0/v1"


def _model_checks(settings: Settings) -> list[diagnostics.Check]:
    from taskmaster.workspace.models import model_router

    try:
        with model_router(settings) as router:  # starts (or shares) the embedded server for that profile
            return diagnostics.check_model_config(router.config, settings.health_timeout_s)
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
        embedded = diagnostics.embedded_status(settings) if settings.profile == "embedded" else None
        url = (embedded.base_url if embedded and embedded.running else None) or EMBEDDED_PLACEHOLDER_URL
        config = model_config(settings, url if embedded else None)
        egress = settings.egress()
        health: dict[str, dict[str, object]] = {}
        for tier in config.tiers.values():
            for ep in tier.endpoints:
                if ep.base_url in health:
                    continue
                if embedded and ep.base_url == url and not embedded.running:
                    health[ep.base_url] = {"ok": False, "detail": NOT_RUNNING, "models": []}
                    continue
                try:  # the egress rule first: a refused host never sees a request, let alone the API key
                    egress.check(ep.base_url)
                except AgentError as exc:
                    health[ep.base_url] = {"ok": False, "detail": f"refused ({exc})", "models": []}
                    continue
                result = probe(Endpoint(base_url=ep.base_url, api_key=ep.api_key), settings.health_timeout_s, egress)
                detail = f"ok in {result.latency_ms:.0f} ms" if result.ok else f"down ({result.error})"
                health[ep.base_url] = {"ok": result.ok, "detail": detail, "models": list(result.models)}
        if as_json:
            tiers = {
                name: {
                    **tier.model_dump(mode="json", exclude={"endpoints"}),
                    "endpoints": _endpoints_json(tier, health),
                }
                for name, tier in config.tiers.items()
            }
            payload: dict[str, object] = {"profile": settings.profile, "tiers": tiers, "roles": config.roles}
            if embedded:
                payload["embedded"] = {"running": embedded.running, "base_url": embedded.base_url, "pid": embedded.pid}
            typer.echo(json.dumps(payload, indent=2))
            return
        typer.echo(f"profile: {settings.profile}")
        if embedded:
            typer.echo(f"embedded server ({settings.embedded.model}): {embedded.detail}")
        for name, tier in config.tiers.items():
            costs = f"${tier.cost_per_1m_input:g}/${tier.cost_per_1m_output:g} per 1M tokens in/out"
            cloud = ", cloud" if tier.cloud else ""
            typer.echo(
                f"tier {name}: model {tier.model}, context {tier.context_length}, "
                f"max output {tier.max_output_tokens}, {costs}{cloud}"
            )
            for ep in tier.endpoints:
                shown = "(embedded, not running)" if embedded and not embedded.running else ep.base_url
                typer.echo(f"  endpoint {shown} [{ep.backend.value}]: {health[ep.base_url]['detail']}")
        typer.echo("roles: " + ", ".join(f"{role} -> {tier}" for role, tier in config.roles.items()))


def _tier_json(tier: Tier, health: dict[str, dict[str, object]]) -> dict[str, object]:
    return {**tier.model_dump(mode="json", exclude={"endpoints"}), "endpoints": _endpoints_json(tier, health)}


def _endpoints_json(tier: Tier, health: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    return [
        {"base_url": ep.base_url, "backend": ep.backend.value, "has_api_key": bool(ep.api_key), **health[ep.base_url]}
        for ep in tier.endpoints
    ]
