"""The public API for research: cited answers from the knowledge base."""

from __future__ import annotations
