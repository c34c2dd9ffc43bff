"""How a graph gets its live context when its caller can pass only plain data (LangGraph Studio's server).

A graph's nodes need live objects in their context: a model router, a knowledge base, a task board. Python callers
build them and pass them as the run's context. A server such as `langgraph dev` can pass only a run's JSON values,
coerced into the graph's context schema. A shell that serves a graph there builds it with a `ContextResolver`: the
graph then declares the resolver's plain schema as its context schema, and each node that reads the context gets
`resolve(plain values)` instead. The resolver is the shell's: it decides how plain values become live objects (and
caches them; it is called once per node run), so graphs import nothing above them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from inspect import signature
from typing import Any, Generic, TypeVar

from langgraph.runtime import Runtime

Plain = TypeVar("Plain")
Live = TypeVar("Live")
Node = TypeVar("Node", bound=Callable[..., Any])


@dataclass(frozen=True)
class ContextResolver(Generic[Plain, Live]):
    """A graph's plain context schema (a dataclass of JSON-able fields) and how its values become the live context."""

    schema: type[Plain]
    resolve: Callable[[Plain], Live]

    def wrap(self, fn: Node) -> Node:
        """`fn` (a node or a routing function) seeing the live context; functions that take no runtime as is."""
        if "runtime" not in signature(fn).parameters:
            return fn
        resolve = self.resolve

        def resolved(state: Any, runtime: Runtime[Any]) -> Any:
            return fn(state, runtime.override(context=resolve(runtime.context)))

        resolved.__name__ = resolved.__qualname__ = getattr(fn, "__name__", "node")
        resolved.__doc__ = fn.__doc__
        return resolved  # type: ignore[return-value]


def context_seam(default_schema: type, resolver: ContextResolver[Any, Any] | None) -> tuple[type, Callable[[Any], Any]]:
    """A graph builder's context schema and node wrapper: its own live schema unchanged, or the resolver's."""
    if resolver is None:
        return default_schema, lambda fn: fn
    return resolver.schema, resolver.wrap
