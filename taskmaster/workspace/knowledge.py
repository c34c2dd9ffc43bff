"""The public API for the knowledge base: kb add / search / stats / remove."""

from __future__ import annotations
