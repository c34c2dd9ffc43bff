"""The planner holds a PRD's own feature list to one task per feature (agents/planner/features.py)."""

from __future__ import annotations

from pathlib import Path

from fakes import make_router

from agents.planner.agent import parse_section
from agents.planner.features import listed_features
from agents.planner.schemas import feature_key

ROOT = Path(__file__).resolve().parents[1]

PROSE = """# Notes app

A small app to keep notes. It should be quick to start and store notes in SQLite.
"""

NESTED = """# Tool

## Requirements
- Runtime
  - Python 3.11 or newer
  - Works offline
- Configuration: a TOML file with sensible defaults
* **Plugins.** Loaded from a folder.

## Out of scope
- Sync
- Accounts
"""


FEATURES = ["Book catalogue", "Reading status", "Web page", "Import", "JSON API"]


def test_the_example_prd_lists_its_five_features_by_name() -> None:
    assert listed_features((ROOT / "examples" / "prd.md").read_text()) == FEATURES


def test_only_top_level_items_under_a_features_heading_count() -> None:
    assert listed_features(PROSE) == []
    assert listed_features(NESTED) == ["Runtime", "Configuration", "Plugins"]  # not nested items, not out of scope


def draft(title: str) -> dict:
    return {
        "title": title,
        "description": "d",
        "details": "d",
        "test_strategy": "t",
        "priority": "medium",
        "depends_on": [],
    }


def test_parse_asks_for_one_task_per_listed_feature_and_no_fewer() -> None:
    def respond(schema: str, messages: list) -> dict:
        assert schema == "FeatureTasks"  # one required slot per feature, so decoding cannot merge or split them
        return {feature_key(i, name): draft(f"Build the {name}") for i, name in enumerate(FEATURES, 1)}

    router, chat = make_router(respond)
    text = (ROOT / "examples" / "prd.md").read_text()
    drafts = parse_section(router, text, min_items=1, max_items=5, position="section 1 of 1")
    assert [d.title for d in drafts] == [f"Build the {name}" for name in FEATURES]
    prompt = chat.calls[0][1][-1].content
    listed = "1. Book catalogue; 2. Reading status; 3. Web page; 4. Import; 5. JSON API"
    assert f"The PRD lists 5 features: {listed}" in prompt
    assert "Write between 5 and 5 development tasks" in prompt


def test_a_prose_prd_gets_no_checklist() -> None:
    router, chat = make_router(lambda schema, messages: {"tasks": [draft("Build notes")]})
    parse_section(router, PROSE, min_items=1, max_items=5, position="section 1 of 1")
    prompt = chat.calls[0][1][-1].content
    assert "The PRD lists" not in prompt and "Write between 1 and 5" in prompt


def test_a_task_titled_after_a_detail_is_prefixed_with_its_feature() -> None:
    def respond(schema: str, messages: list) -> dict:
        titles = ["Create a database table for books", *(f"Build the {name}" for name in FEATURES[1:])]
        return {
            feature_key(i, name): draft(title) for i, (name, title) in enumerate(zip(FEATURES, titles, strict=True), 1)
        }

    router, _ = make_router(respond)
    text = (ROOT / "examples" / "prd.md").read_text()
    drafts = parse_section(router, text, min_items=1, max_items=5, position="section 1 of 1")
    assert drafts[0].title == "Book catalogue: Create a database table for books"
    assert [d.title for d in drafts[1:]] == [f"Build the {name}" for name in FEATURES[1:]]
