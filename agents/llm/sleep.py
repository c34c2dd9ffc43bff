"""Wake sleeping vLLM servers before a request, and put GPU neighbours to sleep to make room.

vLLM started with `--enable-sleep-mode` and `VLLM_SERVER_DEV_MODE=1` can offload its weights (POST
/sleep?level=1) and reload them (POST /wake_up) without a restart. When models share GPUs that cannot hold
them all (the 2 x 4090 seed stack), only one side may be awake; a request sent to a sleeping server fails.
The coordinator makes the router do what `deploy/sleep-switch.sh` does by hand: before a sleep-mode tier is
called, if its server reports sleeping, the servers of other sleep-mode tiers sharing one of its GPU groups
go to sleep (after their in-flight requests finish), then this one wakes. All decisions happen under one
lock, so concurrent graph branches wake a server once and never sleep a server another thread is using.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from agents.errors import EndpointUnavailable
from agents.llm.config import Endpoint, ModelConfig, Tier
from agents.llm.egress import LOOPBACK_ONLY, Egress


def server_root(endpoint: Endpoint) -> str:
    """The sleep endpoints live at the server root, beside /v1, not under it."""
    url = endpoint.base_url.rstrip("/")
    return url.removesuffix("/v1")


class SleepCoordinator:
    def __init__(
        self, config: ModelConfig, *, transport: httpx.BaseTransport | None = None, egress: Egress = LOOPBACK_ONLY
    ) -> None:
        # vLLM servers started outside the app; app-started ones (Endpoint.server, llama-server) never sleep
        self._tiers = {
            name: tier
            for name, tier in config.tiers.items()
            if tier.sleep_mode and all(e.base_url for e in tier.endpoints)
        }
        self._headers = {
            server_root(e): {"Authorization": f"Bearer {e.api_key}"} if e.api_key else {}
            for tier in self._tiers.values()
            for e in tier.endpoints
        }
        self._transport = transport
        self._egress = egress
        self._http: httpx.Client | None = None  # made on first use: most routers have no sleep-mode tier
        self._cond = threading.Condition()
        self._inflight: Counter[str] = Counter()

    def servers(self, tier_name: str) -> list[str]:
        return list(dict.fromkeys(server_root(e) for e in self._tiers[tier_name].endpoints))

    def neighbours(self, tier_name: str) -> list[str]:
        """Servers of other sleep-mode tiers that share a GPU group with this tier (never its own servers)."""
        own = set(self.servers(tier_name))
        groups = set(self._tiers[tier_name].gpu_groups)
        found = [
            root
            for name, tier in self._tiers.items()
            if name != tier_name and groups & set(tier.gpu_groups)
            for root in self.servers(name)
            if root not in own
        ]
        return list(dict.fromkeys(found))

    @contextmanager
    def awake(self, tier_name: str) -> Iterator[None]:
        """Hold the tier's servers awake for the duration of one request (a no-op for other tiers)."""
        if tier_name not in self._tiers:
            yield
            return
        tier = self._tiers[tier_name]
        own = self.servers(tier_name)
        with self._cond:
            self._make_awake(tier_name, tier, own)
            self._inflight.update(own)
        try:
            yield
        finally:
            with self._cond:
                self._inflight.subtract(own)
                self._cond.notify_all()

    # --- internals (called with the lock held) -----------------------------------------------------
    @property
    def _client(self) -> httpx.Client:
        if self._http is None:
            roots = list(self._headers) or ["http://127.0.0.1"]
            extra = {"transport": self._transport} if self._transport is not None else {}
            self._http = self._egress.client(roots[0], timeout=None, **extra)  # every request re-checked by host
        return self._http

    def _make_awake(self, tier_name: str, tier: Tier, own: list[str]) -> None:
        deadline = time.monotonic() + tier.timeout_s
        while True:
            sleeping = [root for root in own if self._is_sleeping(root, tier.timeout_s)]
            if not sleeping:
                return
            neighbours = self.neighbours(tier_name)
            busy = [root for root in neighbours if self._inflight[root] > 0]
            if not busy:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EndpointUnavailable(
                    f"tier {tier_name!r} is asleep and {', '.join(busy)} kept serving requests for "
                    f"{tier.timeout_s:.0f} s, so it could not be put to sleep to make room; raise the tier's "
                    "timeout_s or run fewer tiers that share its GPUs at once"
                )
            self._cond.wait(remaining)
        for root in neighbours:
            if self._is_sleeping(root, tier.timeout_s) is False:
                what = f"put {root} to sleep to make room for {tier_name!r}"
                self._post(root, "/sleep?level=1", tier.timeout_s, what)
        for root in sleeping:
            self._post(root, "/wake_up", tier.timeout_s, f"wake the sleeping vLLM server {root} for {tier_name!r}")

    def _is_sleeping(self, root: str, timeout_s: float) -> bool | None:
        """True/False as the server says; None when it cannot tell (down, or not in dev mode), so the
        request goes on and the router's own failover and error messages apply."""
        try:
            response = self._client.get(f"{root}/is_sleeping", headers=self._headers.get(root), timeout=timeout_s)
            if response.status_code != 200:
                return None
            return bool(response.json().get("is_sleeping"))
        except (httpx.HTTPError, ValueError, AttributeError):
            return None

    def _post(self, root: str, path: str, timeout_s: float, what: str) -> None:
        try:
            response = self._client.post(f"{root}{path}", headers=self._headers.get(root), timeout=timeout_s)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise EndpointUnavailable(
                f"could not {what} ({reason}); start it with --enable-sleep-mode and VLLM_SERVER_DEV_MODE=1, "
                "or switch by hand with deploy/sleep-switch.sh"
            ) from exc
