"""Reading and chunking files (no model, no index)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from knowledge.chunking import Chunker
from knowledge.documents import (
    SKIP_BINARY,
    SKIP_OUTSIDE,
    SKIP_UNKNOWN,
    discover,
    file_sha256,
    html_to_text,
    read_document,
)
from knowledge.errors import KnowledgeError, UnsupportedFile

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "kb"


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a text object, byte offsets computed so pypdf needs no repair."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_markdown_chunks_keep_heading_path_and_exact_lines() -> None:
    doc = read_document(EXAMPLES / "sqlite-wal.md", 1_000_000)
    chunks = Chunker(chunk_size=400, chunk_overlap=40).split(doc)
    lines = doc.text.splitlines()
    assert len(chunks) >= 4
    for chunk in chunks:
        cited = "\n".join(lines[chunk.line_start - 1 : chunk.line_end]).strip()
        assert cited == chunk.text
        assert chunk.heading.startswith("SQLite in WAL mode")
    pragma = next(c for c in chunks if "busy_timeout" in c.text)
    assert pragma.heading == "SQLite in WAL mode > Settings we use"
    assert "    " in doc.text  # indentation inside code blocks survives (the header splitter would strip it)
    assert len({c.sha256 for c in chunks}) == len(chunks)


def test_rst_code_and_text_documents() -> None:
    rst = Chunker(300, 30).split(read_document(EXAMPLES / "password-hashing.rst", 1_000_000))
    assert any(c.heading == "Password hashing with Argon2 > Usage" and "PasswordHasher()" in c.text for c in rst)
    code_doc = read_document(EXAMPLES / "csv_import.py", 1_000_000)
    assert code_doc.kind == "code" and code_doc.language == "python"
    code = Chunker(500, 50).split(code_doc)
    assert any(c.text.startswith("def import_csv") for c in code)
    assert read_document(EXAMPLES / "html-sanitising.txt", 1_000_000).kind == "text"


def test_html_is_stripped_and_headings_kept(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>x</title><style>p{color:red}</style></head><body><h1>Reading list</h1>"
        "<p>Save <b>articles</b> &amp; books.</p><script>alert(1)</script>"
        "<h2>Import</h2><p>CSV files.</p></body></html>"
    )
    doc = read_document(page, 100_000)
    assert doc.kind == "html"
    assert "alert" not in doc.text and "color" not in doc.text and "<b>" not in doc.text
    assert "Save articles & books." in doc.text
    chunks = Chunker(200, 20).split(doc)
    assert [c.heading for c in chunks] == ["Reading list", "Reading list > Import"]
    assert html_to_text("<p>a</p><p>b</p>").split() == ["a", "b"]


def test_pdf_text_is_extracted_per_page(tmp_path: Path) -> None:
    pdf = tmp_path / "spec.pdf"
    pdf.write_bytes(minimal_pdf("Keyset pagination is stable under inserts"))
    doc = read_document(pdf, 100_000)
    assert doc.kind == "pdf"
    (chunk,) = Chunker(500, 50).split(doc)
    assert "Keyset pagination is stable under inserts" in chunk.text and chunk.heading == "page 1"


def test_huge_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "huge.txt"
    block = ("x" * 99 + "\n") * 10_000  # 1 MB
    with big.open("w") as handle:
        for _ in range(16):
            handle.write(block)
    limit = 200_000
    tracemalloc.start()
    try:
        doc = read_document(big, limit)
        digest = file_sha256(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert doc.truncated and len(doc.text) == limit
    assert len(digest) == 64
    assert peak < 3_000_000, f"peak {peak} bytes for a 16 MB file"


def test_discover_walks_directories_and_skips_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "docs" / ".git").mkdir(parents=True)
    (tmp_path / "docs" / ".git" / "config.txt").write_text("ignored")
    (tmp_path / "docs" / "a.md").write_text("# A\n")
    (tmp_path / "docs" / "logo.png").write_bytes(b"\x89PNG")
    found = discover([tmp_path / "docs"])
    assert [p.name for p, explicit in found.files] == ["a.md"]
    assert [Path(s.path).name for s in found.skipped] == ["logo.png"]
    assert "unknown type '.png'" in found.skipped[0].reason and "--include-unknown" in found.skipped[0].reason
    assert found.skipped[0].category == SKIP_UNKNOWN


@pytest.mark.parametrize("overlap", [0, 50])
def test_chunk_size_is_respected(overlap: int) -> None:
    doc = read_document(EXAMPLES / "rate-limiting.md", 1_000_000)
    for chunk in Chunker(chunk_size=200, chunk_overlap=overlap).split(doc):
        assert len(chunk.text) <= 200


# --- documentation formats ---------------------------------------------------------------------------------------
MDX = """---
title: "Loop Command"
sidebarTitle: "Loop"
description: "Run agents in autonomous loops"
---
import { Tabs, Tab } from '@/components/tabs'
export const meta = {
  hidden: true,
}

## Overview

<Tip>
The loop stops when an agent prints the completion marker.
</Tip>

<Card
  title="Progress file"
  href="/progress"
>
  Notes persist between sessions.
</Card>

{/* a comment nobody should search for */}

```jsx
import React from 'react'
<Tip>inside a fence stays</Tip>
```
"""


def chunks_of(path: Path, size: int = 400) -> tuple[str, list]:
    doc = read_document(path, 1_000_000)
    return doc.text, Chunker(chunk_size=size, chunk_overlap=0).split(doc)


def test_mdx_keeps_title_prose_and_code_and_drops_the_javascript(tmp_path: Path) -> None:
    path = tmp_path / "loop.mdx"
    path.write_text(MDX, encoding="utf-8")
    text, chunks = chunks_of(path)
    original = MDX.splitlines()
    assert len(text.splitlines()) == len(original)  # rewritten line for line: citations point at real lines
    assert text.startswith("# Loop Command\nRun agents in autonomous loops\n")
    assert "sidebarTitle" not in text and "@/components" not in text and "hidden: true" not in text
    assert "<Tip>" not in text.split("```")[0] and "<Card" not in text and "a comment nobody" not in text
    assert "The loop stops when an agent prints the completion marker." in text
    assert "Progress file" in text and "Notes persist between sessions." in text
    assert "import React from 'react'\n<Tip>inside a fence stays</Tip>" in text  # fenced code untouched
    overview = [c for c in chunks if "completion marker" in c.text]
    assert overview and overview[0].heading == "Loop Command > Overview"
    assert overview[0].embed_text.startswith("Loop Command > Overview\n\n")
    for chunk in chunks:  # every chunk's line range is the lines of the original file it came from
        assert chunk.text.splitlines()[0].strip() in text.splitlines()[chunk.line_start - 1]
        assert chunk.line_end <= len(original)
    marker = next(i for i, line in enumerate(original, 1) if "completion marker" in line)
    assert overview[0].line_start <= marker <= overview[0].line_end


def test_markdown_front_matter_becomes_the_title(tmp_path: Path) -> None:
    path = tmp_path / "page.md"
    path.write_text("---\ntitle: Install guide\nlayout: post\n---\n\n## Steps\n\nRun the installer.\n")
    text, chunks = chunks_of(path)
    assert "layout" not in text
    assert chunks[-1].heading == "Install guide > Steps"


def test_notebook_markdown_and_code_cells_with_optional_outputs(tmp_path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Churn analysis\n\nWe load the customer table first."),
        nbformat.v4.new_code_cell(
            "import pandas as pd\ndf = pd.read_csv('customers.csv')\nprint(len(df))",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="4242\n")],
        ),
    ]
    path = tmp_path / "churn.ipynb"
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    plain = read_document(path, 1_000_000)
    assert plain.kind == "markdown"
    assert "We load the customer table first." in plain.text
    assert "```python\nimport pandas as pd" in plain.text
    assert "4242" not in plain.text
    with_outputs = read_document(path, 1_000_000, notebook_outputs=True)
    assert "4242" in with_outputs.text
    chunks = Chunker(400, 0).split(plain)
    assert all(c.heading.startswith("Churn analysis") for c in chunks)
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(UnsupportedFile, match="nbformat cannot read it"):
        read_document(broken, 1_000_000)


def test_asciidoc_headings_and_listing_blocks(tmp_path: Path) -> None:
    source = "= Operations Guide\n\n== Backups\n\nBackups run nightly.\n\n----\n== not a heading\n----\n"
    path = tmp_path / "ops.adoc"
    path.write_text(source, encoding="utf-8")
    text, chunks = chunks_of(path)
    assert len(text.splitlines()) == len(source.splitlines())
    assert "# Operations Guide" in text and "## Backups" in text
    assert "```\n== not a heading\n```" in text
    backups = next(c for c in chunks if "nightly" in c.text)
    assert backups.heading == "Operations Guide > Backups"
    assert backups.line_start <= 5 <= backups.line_end  # "Backups run nightly." is line 5 of the file


def test_word_document_headings_paragraphs_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Release process", level=1)
    document.add_paragraph("Tag the release after the changelog is merged.")
    document.add_heading("Checklist", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "step", "owner"
    table.cell(1, 0).text, table.cell(1, 1).text = "publish wheels", "release manager"
    path = tmp_path / "release.docx"
    document.save(str(path))
    doc = read_document(path, 1_000_000)
    assert doc.kind == "markdown"
    assert "# Release process" in doc.text and "## Checklist" in doc.text
    assert "publish wheels | release manager" in doc.text
    chunks = Chunker(400, 0).split(doc)
    assert any(c.heading == "Release process > Checklist" and "publish wheels" in c.text for c in chunks)
    fake = tmp_path / "fake.docx"
    fake.write_bytes(b"PK not really a zip")
    with pytest.raises(UnsupportedFile, match="python-docx cannot read it"):
        read_document(fake, 1_000_000)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("settings.json", '{"retries": 3, "backoff": "exponential"}\n'),
        ("deploy.yaml", "replicas: 3\nimage: app:1.2\n"),
        ("pyproject.toml", "[tool.ruff]\nline-length = 120\n"),
        ("notes.txt", "plain notes\n"),
        ("guide.rst", "Title\n=====\n\nBody.\n"),
        ("page.html", "<h1>Title</h1><p>Body text</p>"),
    ],
)
def test_structured_and_plain_text_formats_are_indexed(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    doc = read_document(path, 1_000_000)
    assert Chunker(400, 0).split(doc)
    assert discover([tmp_path]).files == [(path, False)]


def test_unknown_types_need_include_unknown_and_must_be_text(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n")
    (docs / "Makefile").write_text("test:\n\tpytest\n")
    (docs / "data.bin").write_bytes(b"\x00\x01\x02binary")
    plain = discover([docs])
    assert [p.name for p, _ in plain.files] == ["guide.md"]
    assert {Path(s.path).name: s.category for s in plain.skipped} == {
        "Makefile": SKIP_UNKNOWN,
        "data.bin": SKIP_UNKNOWN,
    }
    widened = discover([docs], include_unknown=True)
    assert sorted(p.name for p, _ in widened.files) == ["Makefile", "guide.md"]
    assert [Path(s.path).name for s in widened.skipped] == ["data.bin"]
    makefile = docs / "Makefile"
    assert makefile in widened.as_text
    assert "pytest" in read_document(makefile, 1_000_000, as_text=True).text
    with pytest.raises(UnsupportedFile, match="--include-unknown"):
        discover([makefile])
    assert discover([makefile], include_unknown=True).files == [(makefile, True)]
    binary = tmp_path / "blob.md"
    binary.write_bytes(b"# x\x00\x00")
    with pytest.raises(UnsupportedFile) as info:
        read_document(binary, 1_000_000)
    assert info.value.category == SKIP_BINARY


def test_symlinks_leaving_the_directory_are_skipped_unless_followed(tmp_path: Path) -> None:
    """Regression (issue 11): a docs tree linking to /etc-like places must not ingest them silently."""
    outside = tmp_path / "outside"
    (outside / "secrets").mkdir(parents=True)
    (outside / "secrets" / "passwd.txt").write_text("root:x:0:0\n")
    (outside / "hosts.txt").write_text("127.0.0.1 localhost\n")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "guide.md").write_text("# Guide\n")
    (docs / "etc").symlink_to(outside / "secrets", target_is_directory=True)
    (docs / "hosts.txt").symlink_to(outside / "hosts.txt")
    (docs / "sub" / "again.md").symlink_to(docs / "guide.md")  # a link that stays inside is fine

    found = discover([docs])
    assert sorted(str(p.relative_to(docs)) for p, _ in found.files) == ["guide.md", "sub/again.md"]
    outside_skips = {Path(s.path).name: s for s in found.skipped if s.category == SKIP_OUTSIDE}
    assert set(outside_skips) == {"etc", "hosts.txt"}
    assert "--follow-symlinks" in outside_skips["etc"].reason and str(outside) in outside_skips["etc"].reason

    followed = discover([docs], follow_symlinks=True)
    assert sorted(str(p.relative_to(docs)) for p, _ in followed.files) == [
        "etc/passwd.txt",
        "guide.md",
        "hosts.txt",
        "sub/again.md",
    ]
    with pytest.raises(KnowledgeError, match=r"is a symlink to .*--follow-symlinks"):
        discover([docs / "etc"])
    assert [p.name for p, _ in discover([docs / "etc"], follow_symlinks=True).files] == ["passwd.txt"]


def test_a_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n")
    (docs / "loop").symlink_to(docs, target_is_directory=True)
    found = discover([docs], follow_symlinks=True)
    assert [p.name for p, _ in found.files] == ["a.md"]
