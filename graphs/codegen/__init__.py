"""Spec → plan → code (+tests) → verify → self-debug → escalate → human review or skip."""

from graphs.codegen.graph import CodegenContext, build_codegen_graph, result_summary
from graphs.codegen.records import AttemptRecord, AttemptRecorder
from graphs.codegen.state import CodegenInput, CodegenOutput, CodegenState

__all__ = [
    "AttemptRecord",
    "AttemptRecorder",
    "CodegenContext",
    "CodegenInput",
    "CodegenOutput",
    "CodegenState",
    "build_codegen_graph",
    "result_summary",
]
