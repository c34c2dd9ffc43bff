"""Research state. Hits are plain dicts keyed by chunk id so parallel retrieval branches merge cleanly and every
checkpoint is JSON-able."""

from __future__ import annotations

from typing import Annotated, Any

from typing_extensions import TypedDict  # pydantic (Studio's input forms) needs it on Python 3.11


def merge_hits(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: the same chunk found by several sub-queries is kept once, with its best score."""
    merged = dict(left or {})
    for chunk_id, hit in (right or {}).items():
        if chunk_id not in merged or hit["score"] > merged[chunk_id]["score"]:
            merged[chunk_id] = hit
    return merged


def append(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    return [*(left or []), *(right or [])]


class SourceRef(TypedDict):
    n: int
    source: str
    line_start: int
    line_end: int
    heading: str


class ResearchInput(TypedDict, total=False):
    question: str
    task_context: str | None


class ResearchOutput(TypedDict, total=False):
    """What a run returns: the checked answer, the passages it cites, and how it was reached."""

    answer: str
    sources: list[SourceRef]  # the passages cited (or quoted) by the answer
    flags: list[str]  # e.g. empty_knowledge_base, extractive, grading_fallback
    removed_sentences: int  # sentences dropped by the citation check
    queries: list[str]  # what was searched
    passages: list[dict[str, Any]]  # numbered passages given to the model: {"n", **hit} ([n] in the answer)
    problems: Annotated[list[str], append]


class ResearchState(ResearchInput, ResearchOutput, total=False):
    empty: bool
    hits: Annotated[dict[str, Any], merge_hits]  # chunk id → Hit as a dict
    relevant: list[str]  # chunk ids kept by grading
    draft: str  # the model's answer before the citation check
