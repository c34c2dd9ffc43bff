"""The coding worker: plan, write code (and tests when none are given), and fix it from verifier feedback."""

from agents.coder.agent import CodeDraft, generate_code, plan_code, router_judge
from agents.coder.handoff import handoff_note
from agents.coder.verify import verify_with

__all__ = ["CodeDraft", "generate_code", "handoff_note", "plan_code", "router_judge", "verify_with"]
