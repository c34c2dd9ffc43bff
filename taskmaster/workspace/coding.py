"""The public API for code and verify: the codegen graph and the verifiers."""

from __future__ import annotations
