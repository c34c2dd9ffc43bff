"""The research graph: question → sub-queries → parallel retrieval → grading → cited answer → citation check."""

from graphs.research.graph import ResearchContext, ResearchLimits, answer_question, build_research_graph

__all__ = ["ResearchContext", "ResearchLimits", "answer_question", "build_research_graph"]
