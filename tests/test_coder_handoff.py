"""The escalation hand-off note: short, names the failed checks, never carries code."""

from __future__ import annotations

from agents.coder.handoff import MAX_HANDOFF_CHARS, failure_summary, handoff_note

PYTEST_FEEDBACK = """[tests] F                                                                [100%]
=================================== FAILURES ===================================
___________________________ test_docstring_examples ____________________________
test_solution.py:13: in test_docstring_examples
    assert runner.failures == 0, f"{runner.failures} of {runner.tries} docstring examples failed"
E   AssertionError: 1 of 2 docstring examples failed
E   assert 1 == 0
----------------------------- Captured stdout call -----------------------------
Failed example:
    has_close_elements([1.0, 2.0, 3.0], 0.5)
=========================== short test summary info ============================
FAILED test_solution.py::test_docstring_examples - AssertionError: 1 of 2 doc...
1 failed in 0.02s"""


def test_one_line_per_failed_verifier() -> None:
    feedback = "[syntax] 1:7: invalid syntax\n\n" + PYTEST_FEEDBACK
    assert failure_summary(feedback) == [
        "[syntax] 1:7: invalid syntax",
        "[tests] AssertionError: 1 of 2 docstring examples failed",
    ]


def test_note_has_no_code_and_is_capped() -> None:
    feedback = "[tests] " + "def secret_weak_code(): pass\n" * 500
    note = handoff_note(3, feedback)
    assert note.startswith("A smaller model made 3 attempt(s)") and len(note) <= MAX_HANDOFF_CHARS
    assert note.count("secret_weak_code") <= 1  # at most the headline line, cut to its cap


def test_no_attempts_means_no_note() -> None:
    assert handoff_note(0, "") == ""
    assert handoff_note(2, "") == "A smaller model made 2 attempt(s); its code (not shown) failed verification."
