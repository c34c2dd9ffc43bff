"""Endpoint policy and health: privacy first (loopback or allowlisted only), then liveness."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from agents.llm.config import Endpoint
from agents.llm.egress import LOOPBACK_ONLY, Egress, host_of, is_loopback

__all__ = ["EndpointHealth", "check_allowed", "host_of", "is_loopback", "probe"]


def check_allowed(endpoint: Endpoint, allow_hosts: list[str] | tuple[str, ...]) -> None:
    """Raise EndpointRefused unless the endpoint is loopback or allowlisted (the egress rule)."""
    Egress.of(allow_hosts).check(endpoint.base_url)


@dataclass(frozen=True)
class EndpointHealth:
    base_url: str
    ok: bool
    models: tuple[str, ...]
    latency_ms: float
    error: str = ""
    busy: bool = False  # it accepted the connection but did not answer in time (e.g. a one-slot server mid-reply)


def probe(endpoint: Endpoint, timeout_s: float, egress: Egress = LOOPBACK_ONLY) -> EndpointHealth:
    """GET /v1/models: cheap, supported by every OpenAI-compatible server, and lists what is served.

    The egress rule applies first (EndpointRefused for a host that is neither loopback nor allowed), so the
    API key is never sent to a host the user did not allow; proxy environment variables are ignored.
    """
    url = endpoint.base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    egress.check(url)
    start = time.perf_counter()
    try:
        response = egress.get(url, headers=headers, timeout=timeout_s)
        response.raise_for_status()
        data = response.json().get("data", [])
        models = tuple(str(item.get("id", "")) for item in data if isinstance(item, dict))
        return EndpointHealth(endpoint.base_url, True, models, (time.perf_counter() - start) * 1000)
    except httpx.ReadTimeout:
        elapsed = (time.perf_counter() - start) * 1000
        return EndpointHealth(endpoint.base_url, False, (), elapsed, f"no answer within {timeout_s:g} s", busy=True)
    except (httpx.HTTPError, ValueError) as exc:
        reason = type(exc).__name__ if not str(exc) else str(exc).splitlines()[0]
        return EndpointHealth(endpoint.base_url, False, (), (time.perf_counter() - start) * 1000, reason)
