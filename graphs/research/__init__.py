"""The research graph: question → sub-queries → parallel retrieval → grading → cited answer → citation check."""

from graphs.research.graph import ResearchContext, ResearchLimits, answer_question, build_research_graph
from graphs.research.state import ResearchInput, ResearchOutput

__all__ = [
    "ResearchContext",
    "ResearchInput",
    "ResearchLimits",
    "ResearchOutput",
    "answer_question",
    "build_research_graph",
]
