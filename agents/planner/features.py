"""The features a PRD lists explicitly, so the planner can be held to one task per feature.

Small planners follow an explicit checklist far better than a general instruction: told "one task per feature",
Qwen2.5-Coder-1.5B still split `examples/prd.md`'s "Book catalogue" into create, edit and delete tasks and left
two features out (3 of 5 named, greedy or not). Handing it the PRD's own list of feature names, numbered, and
asking for exactly those tasks in that order is what makes its titles name each feature. Only lists under a
heading that says so (Features, Requirements, Capabilities, Scope) count; prose PRDs get no checklist.
"""

from __future__ import annotations

import re

FEATURE_HEADING = re.compile(
    r"^\s{0,3}#{1,6}\s+(.*\b(features?|requirements|capabilities|scope|user stories)\b.*)$", re.I
)
OUT_OF_SCOPE = re.compile(r"\b(out of scope|non-goals?|not in scope)\b", re.I)
ANY_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
ITEM = re.compile(r"^(?:\d{1,3}[.)]|[-*+])\s+(.+)$")  # top-level items only
BOLD = re.compile(r"^\*\*(.+?)\*\*|^__(.+?)__")
MAX_NAME_CHARS = 60


def feature_name(item: str) -> str:
    """A list item's feature name: its bold lead ("**Book catalogue.** Create, ..."), else its first clause."""
    bold = BOLD.match(item.strip())
    text = (bold.group(1) or bold.group(2)) if bold else re.split(r"[.:;—–]\s|\s[-–—]\s", item.strip(), maxsplit=1)[0]
    text = text.strip().rstrip(".:;").strip("`*_ ")
    return text[:MAX_NAME_CHARS].rstrip()


def listed_features(section: str) -> list[str]:
    """Names of the top-level items listed under a features/requirements heading, in order, without repeats."""
    names: list[str] = []
    under_features = False
    for line in section.splitlines():
        if ANY_HEADING.match(line):
            heading = FEATURE_HEADING.match(line)
            under_features = bool(heading) and not OUT_OF_SCOPE.search(line)
            continue
        item = ITEM.match(line) if under_features else None
        if item:
            name = feature_name(item.group(1))
            if name and name.lower() not in {n.lower() for n in names}:
                names.append(name)
    return names


def checklist(features: list[str]) -> str:
    """The prompt line that holds the planner to the PRD's own feature list."""
    numbered = "; ".join(f"{i}. {name}" for i, name in enumerate(features, 1))
    return (
        f"The PRD lists {len(features)} features: {numbered}. Write exactly one task per listed feature, in this "
        "order, each titled after its feature (for example 'Build the ...' or 'Implement the ...'); put every "
        "part of a feature (create, edit, delete, validation) inside its one task.\n"
    )
