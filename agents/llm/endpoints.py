"""Endpoint policy and health: privacy first (loopback or allowlisted only), then liveness."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx

from agents.errors import EndpointRefused
from agents.llm.config import Endpoint

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def host_of(url: str) -> str:
    host = urlparse(url).hostname
    if not host:
        raise EndpointRefused(f"endpoint URL {url!r} has no host; use a URL like http://127.0.0.1:8000/v1")
    return host


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_allowed(endpoint: Endpoint, allow_hosts: list[str]) -> None:
    host = host_of(endpoint.base_url)
    if is_loopback(host) or host in allow_hosts:
        return
    raise EndpointRefused(
        f"refusing non-loopback endpoint {endpoint.base_url}: add {host!r} to models.allow_hosts in taskmaster.toml "
        "if you mean to send data there"
    )


@dataclass(frozen=True)
class EndpointHealth:
    base_url: str
    ok: bool
    models: tuple[str, ...]
    latency_ms: float
    error: str = ""
    busy: bool = False  # it accepted the connection but did not answer in time (e.g. a one-slot server mid-reply)


def probe(endpoint: Endpoint, timeout_s: float) -> EndpointHealth:
    """GET /v1/models: cheap, supported by every OpenAI-compatible server, and lists what is served."""
    url = endpoint.base_url.rstrip("/") + "/models"
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    start = time.perf_counter()
    try:
        response = httpx.get(url, headers=headers, timeout=timeout_s)
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
