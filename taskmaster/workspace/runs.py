"""The public API for autonomous runs: run, runs, run status."""

from __future__ import annotations
