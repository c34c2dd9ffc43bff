"""The one egress rule: every HTTP client the app makes comes from here.

Why one factory: the privacy promise ("nothing leaves the machine unless you allow the host") is only as strong
as the weakest client. httpx and the openai SDK read HTTP_PROXY/HTTPS_PROXY/ALL_PROXY (and .netrc, SSL_CERT_*)
from the environment by default, so a proxy variable set for some other tool silently routed PRDs, code and API
keys through that proxy, past `allow_hosts`. Clients made here:

* refuse a URL whose host is not loopback and not in `allow_hosts` (before any socket is opened);
* never read the environment (`trust_env=False`): proxy variables are ignored;
* use a proxy only when the `proxy_url` setting names one, and only if the proxy's own host passes the same rule.

Everything that talks HTTP (model calls through ChatOpenAI, health probes, `models`, `doctor`, vLLM sleep/wake)
takes an `Egress` and asks it for a client; the default is the strictest one (loopback only, no proxy).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:  # httpx is imported where a client is made: task commands load Settings but never connect
    import httpx

from agents.errors import EndpointRefused

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def host_of(url: str) -> str:
    host = urlparse(url).hostname
    if not host:
        raise EndpointRefused(f"URL {url!r} has no host; use a URL like http://127.0.0.1:8000/v1")
    return host


def is_loopback(host: str) -> bool:
    """localhost names and 127.0.0.0/8 or ::1: packets to these never leave the machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Egress:
    """Where this process may send bytes: loopback, plus `allow_hosts`, optionally through one allowed proxy."""

    allow_hosts: tuple[str, ...] = ()
    proxy: str | None = None

    @classmethod
    def of(cls, allow_hosts: list[str] | tuple[str, ...] | None, proxy: str | None = None) -> Egress:
        egress = cls(tuple(allow_hosts or ()), proxy or None)
        if egress.proxy:
            egress.check(egress.proxy, what="proxy", setting="proxy_url")
        return egress

    def allows(self, host: str) -> bool:
        return is_loopback(host) or host in self.allow_hosts

    def check(self, url: str, *, what: str = "endpoint", setting: str = "") -> None:
        """Raise EndpointRefused unless the URL's host is loopback or allowlisted."""
        host = host_of(url)
        if self.allows(host):
            return
        where = f" ({setting})" if setting else ""
        raise EndpointRefused(
            f"refusing non-loopback {what} {url}{where}: add {host!r} to allow_hosts in taskmaster.toml "
            "if you mean to send data there"
        )

    def _refuse_request(self, request: httpx.Request) -> None:
        """Every request is checked again, whatever URL the client was made for (a redirect, a second host)."""
        self.check(str(request.url))

    async def _refuse_async_request(self, request: httpx.Request) -> None:
        self.check(str(request.url))

    def _client_args(self, url: str, timeout: float | httpx.Timeout | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.check(url)
        args: dict[str, Any] = {"trust_env": False, "timeout": timeout, "follow_redirects": False, **kwargs}
        if self.proxy and "transport" not in kwargs:
            args["proxy"] = self.proxy
        return args

    def client(self, url: str, *, timeout: float | httpx.Timeout | None = 5.0, **kwargs: Any) -> httpx.Client:
        """A sync client for requests to `url`'s host (checked now); environment proxies are ignored."""
        import httpx

        args = self._client_args(url, timeout, kwargs)
        return httpx.Client(**args, event_hooks={"request": [self._refuse_request]})

    def async_client(
        self, url: str, *, timeout: float | httpx.Timeout | None = 5.0, **kwargs: Any
    ) -> httpx.AsyncClient:
        import httpx

        args = self._client_args(url, timeout, kwargs)
        return httpx.AsyncClient(**args, event_hooks={"request": [self._refuse_async_request]})

    def get(self, url: str, *, timeout: float, headers: dict[str, str] | None = None) -> httpx.Response:
        """One checked GET (for probes): the client lives only for this request."""
        with self.client(url, timeout=timeout) as http:
            return http.get(url, headers=headers)

    def post(self, url: str, *, timeout: float, headers: dict[str, str] | None = None) -> httpx.Response:
        with self.client(url, timeout=timeout) as http:
            return http.post(url, headers=headers)


LOOPBACK_ONLY = Egress()

TRACING_SWITCHES = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING", "LANGCHAIN_TRACING_V2")
LANGSMITH_DEFAULT_ENDPOINT = "https://api.smith.langchain.com"


def langsmith_endpoint() -> str:
    return os.environ.get("LANGSMITH_ENDPOINT") or os.environ.get("LANGCHAIN_ENDPOINT") or LANGSMITH_DEFAULT_ENDPOINT


def apply_tracing_rule(egress: Egress) -> bool:
    """LangChain/LangGraph send every prompt and reply to LangSmith when LANGSMITH_TRACING (or its aliases) is
    set: that is egress too. Unless the LangSmith endpoint's host passes the rule, tracing is switched off for
    this process (langsmith's global switch outranks the environment, which it caches) and for its children.
    Returns whether tracing may stay on."""
    try:
        egress.check(langsmith_endpoint(), what="LangSmith tracing endpoint")
        return True
    except EndpointRefused:
        pass
    switched = [name for name in TRACING_SWITCHES if name in os.environ]
    for name in switched:
        os.environ[name] = "false"
    if not switched and "langsmith" not in sys.modules:
        return False  # nothing asked for tracing, and importing langsmith only to say no costs ~0.5 s per command
    try:
        import langsmith
    except ImportError:
        return False
    langsmith.configure(enabled=False)
    return False
