"""Research to markdown: index a folder of documents, answer a list of questions from it, write one report.

    python examples/scripts/research_to_markdown.py PROJECT_DIR --docs DOCS_DIR --out report.md "Question one?" ...

Each answer cites the passages it used (file and lines), checked against what was retrieved; questions the
documents cannot answer say so instead of guessing. Re-running skips documents that did not change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from taskmaster import TaskmasterError, Workspace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("questions", nargs="+")
    parser.add_argument("--docs", type=Path, required=True, help="a folder (or file) of documents to index first")
    parser.add_argument("--out", type=Path, default=Path("research-report.md"))
    args = parser.parse_args(argv)

    sections = []
    try:
        with Workspace.open(args.project) as ws:
            ingest = ws.kb.add([args.docs])
            new = len(ingest.added) + len(ingest.updated)
            print(f"indexed {new} new or changed files, {len(ingest.unchanged)} unchanged", file=sys.stderr)
            for question in args.questions:
                answer = ws.research(question)
                print(f"{question} → {len(answer.sources)} sources", file=sys.stderr)
                sections.append(answer.markdown())
    except TaskmasterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.write_text("# Research report\n\n" + "\n\n".join(sections) + "\n", encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
