"""The public API for parse-prd, expand, analyze-complexity: PRDs and tasks broken down by the breakdown graph."""

from __future__ import annotations
