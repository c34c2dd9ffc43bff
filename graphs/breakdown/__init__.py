"""Breakdown graph: PRD or goal → tasks → complexity → recursive expansion → validated, persisted tree."""

from graphs.breakdown.graph import BreakdownContext, BreakdownLimits, build_breakdown_graph
from graphs.breakdown.state import BreakdownInput, BreakdownOutput

__all__ = ["BreakdownContext", "BreakdownInput", "BreakdownLimits", "BreakdownOutput", "build_breakdown_graph"]
