"""What a stronger tier is told when the escalation matrix moves a task up to it.

Measured on HumanEval (docs/models.md): when the 1.5B tier inherited the 135M tier's code and verifier output as
"your previous solution", it patched the weak code instead of writing its own and solved fewer problems than
with a clean prompt, at about four times the tokens. So a change of tier starts again from the spec; the new
tier hears only which checks the earlier code failed, in a few short lines, never the code itself. Within a
tier, self-debug still sees that tier's own code and full feedback (agents.coder.agent.generate_code).
"""

from __future__ import annotations

import re

MAX_LINE_CHARS = 160
MAX_HANDOFF_CHARS = 400

# The line of a verifier's output that names the failure: a pytest `E   SomeError: ...` line, a bare exception
# line from a traceback, or pytest's `FAILED test::name - reason` summary.
_ERROR_LINE = re.compile(r"^(?:E\s+)?[A-Za-z_][\w.]*(?:Error|Exception|Failure)\b.*$")
_BLOCK = re.compile(r"^\[(\w+)\] ", re.MULTILINE)


def _headline(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if _ERROR_LINE.match(line):
            return re.sub(r"^E\s+", "", line)
    failed = next((line for line in lines if line.startswith("FAILED ")), None)
    return failed or (lines[0] if lines else "")


def failure_summary(feedback: str) -> list[str]:
    """One short line per failed verifier in `VerificationReport.feedback()` text: `[tests] AssertionError: ...`."""
    starts = list(_BLOCK.finditer(feedback))
    if not starts:
        headline = _headline(feedback)
        return [headline[:MAX_LINE_CHARS]] if headline else []
    out = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(feedback)
        body = feedback[match.end() : end]
        out.append(f"[{match.group(1)}] {_headline(body)}"[:MAX_LINE_CHARS])
    return out


def handoff_note(attempts: int, feedback: str) -> str:
    """The note the next tier sees: how often a smaller model tried and which checks failed (empty: none tried)."""
    if attempts <= 0:
        return ""
    lines = failure_summary(feedback)
    head = f"A smaller model made {attempts} attempt(s); its code (not shown) failed verification"
    note = head + (":\n" + "\n".join(lines) if lines else ".")
    return note[:MAX_HANDOFF_CHARS]
