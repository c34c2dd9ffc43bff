"""Find ingestible files and turn them into plain text.

Files are hashed and read in fixed-size blocks so a multi-gigabyte log dropped into a docs folder costs at most
``max_file_bytes`` of memory; anything past that limit is cut off and reported rather than silently dropped.
Files the user named explicitly fail loudly; files merely found while walking a directory are skipped with a reason,
so one stray binary does not block ingesting a whole tree.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from knowledge.errors import KnowledgeError, NoDocumentsFound, UnreadableFile, UnsupportedFile
from knowledge.formats import (
    asciidoc_to_markdown,
    docx_to_markdown,
    looks_like_text,
    markdown_with_front_matter,
    mdx_to_markdown,
    notebook_to_markdown,
)

DocKind = Literal["markdown", "rst", "text", "html", "pdf", "code"]

BLOCK_BYTES = 1 << 20
BINARY_SNIFF_BYTES = 8192

# Extension -> the kind the chunker sees. MDX, notebooks, AsciiDoc and Word files are converted to markdown on
# reading (knowledge.formats); structured text (JSON, YAML, TOML, CSV) is indexed as plain text.
TEXT_KINDS: dict[str, DocKind] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".ipynb": "markdown",
    ".adoc": "markdown",
    ".asciidoc": "markdown",
    ".docx": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".text": "text",
    ".toml": "text",
    ".yaml": "text",
    ".yml": "text",
    ".json": "text",
    ".jsonl": "text",
    ".xml": "text",
    ".csv": "text",
    ".tsv": "text",
    ".cfg": "text",
    ".ini": "text",
    ".conf": "text",
    ".sql": "text",
    ".sh": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}

# Extension -> langchain_text_splitters.Language value, so code is split on function/class boundaries.
CODE_LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".js": "js",
    ".jsx": "js",
    ".mjs": "js",
    ".ts": "ts",
    ".tsx": "ts",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "kotlin",
    ".scala": "scala",
    ".swift": "swift",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".cc": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".lua": "lua",
    ".pl": "perl",
    ".hs": "haskell",
    ".ex": "elixir",
    ".exs": "elixir",
    ".r": "r",
    ".proto": "proto",
    ".sol": "sol",
    ".ps1": "powershell",
}

SKIPPED_DIR_NAMES = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".tox"}


# Short reason categories: `kb add` ends with a count per category.
SKIP_UNKNOWN = "unknown type"
SKIP_BINARY = "binary"
SKIP_ENCODING = "not UTF-8"
SKIP_OUTSIDE = "symlink outside the directory"
SKIP_UNREADABLE = "unreadable"
SKIP_EMPTY = "no text"
SKIP_PARSE = "cannot parse"


@dataclass(frozen=True)
class Skipped:
    """A file left out of an ingest, with the reason shown to the user and its category for the summary."""

    path: str
    reason: str
    category: str = SKIP_UNREADABLE


@dataclass(frozen=True)
class Document:
    """The text of one file plus what the chunker needs to split it sensibly."""

    path: Path
    text: str
    kind: DocKind
    language: str | None = None
    truncated: bool = False


@dataclass(frozen=True)
class Discovery:
    """Candidate files (with whether the user named them) and files skipped before reading."""

    files: list[tuple[Path, bool]]
    skipped: list[Skipped]
    as_text: frozenset[Path] = frozenset()  # files of unknown type admitted as text by --include-unknown


def is_supported(path: Path) -> bool:
    suffix = path.suffix.lower()
    return suffix in TEXT_KINDS or suffix in CODE_LANGUAGES


def unknown_reason(path: Path) -> str:
    return f"unknown type '{path.suffix or path.name}' (add --include-unknown to index it if it is text)"


def discover(paths: Iterable[Path], include_unknown: bool = False, follow_symlinks: bool = False) -> Discovery:
    """Expand files and directories into candidate files; a directory yielding nothing is an error.

    Walking a directory stays inside it: a symlink (file or directory) that resolves outside the directory given
    is skipped with a reason unless ``follow_symlinks`` is set, because a link to ``/etc`` or a home directory in
    a docs tree would otherwise put system or private files into the index without a word. A path the user names
    that is itself a symlink to somewhere else is refused on the same terms.
    """
    files: list[tuple[Path, bool]] = []
    skipped: list[Skipped] = []
    as_text: set[Path] = set()
    seen: set[Path] = set()
    for raw in paths:
        given = Path(raw).expanduser()
        if given.is_symlink() and not follow_symlinks:
            raise KnowledgeError(
                f"{given} is a symlink to {given.resolve()}; pass --follow-symlinks to ingest what it points to, "
                "or name the target itself"
            )
        path = given.resolve()
        if path.is_dir():
            found = _walk(path, skipped, include_unknown, follow_symlinks, as_text)
            if not found:
                raise NoDocumentsFound(path)
            for file in found:
                if file not in seen:
                    seen.add(file)
                    files.append((file, False))
        elif path.exists() or path.is_symlink():
            if not is_supported(path):
                if not (include_unknown and looks_like_text(path)):
                    raise UnsupportedFile(path, unknown_reason(path), category=SKIP_UNKNOWN)
                as_text.add(path)
            if path not in seen:
                seen.add(path)
                files.append((path, True))
        else:
            raise UnreadableFile(path, "no such file or directory")
    return Discovery(files=files, skipped=skipped, as_text=frozenset(as_text))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _walk(
    root: Path, skipped: list[Skipped], include_unknown: bool, follow_symlinks: bool, as_text: set[Path]
) -> list[Path]:
    found: list[Path] = []
    visited: set[Path] = set()  # real directories already walked: a symlink loop is walked once
    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_symlinks):
        real_dir = Path(dirpath).resolve()
        if real_dir in visited:
            dirnames[:] = []
            continue
        visited.add(real_dir)
        kept_dirs = []
        for name in sorted(dirnames):
            if name in SKIPPED_DIR_NAMES or name.startswith("."):
                continue
            sub = Path(dirpath) / name
            if sub.is_symlink() and not follow_symlinks and not _inside(sub.resolve(), root):
                skipped.append(
                    Skipped(
                        str(sub),
                        f"symlink to {sub.resolve()}, outside {root} (add --follow-symlinks to include it)",
                        SKIP_OUTSIDE,
                    )
                )
                continue
            kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            file = Path(dirpath) / name
            if file.is_symlink() and not follow_symlinks and not _inside(file.resolve(), root):
                skipped.append(
                    Skipped(
                        str(file),
                        f"symlink to {file.resolve()}, outside {root} (add --follow-symlinks to include it)",
                        SKIP_OUTSIDE,
                    )
                )
                continue
            if is_supported(file):
                found.append(file)
            elif include_unknown and looks_like_text(file):
                found.append(file)
                as_text.add(file)
            else:
                reason = unknown_reason(file) if not include_unknown else "unknown type and not UTF-8 text"
                skipped.append(Skipped(str(file), reason, SKIP_UNKNOWN))
    return found


def file_sha256(path: Path) -> str:
    """Hash the whole file in blocks: the manifest must notice edits even past the read limit."""
    _require_regular_file(path)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(BLOCK_BYTES):
                digest.update(block)
    except OSError as exc:
        raise UnreadableFile(path, exc.strerror or str(exc)) from exc
    return digest.hexdigest()


def read_document(path: Path, max_file_bytes: int, as_text: bool = False, notebook_outputs: bool = False) -> Document:
    """Read one file as text; raises UnsupportedFile / UnreadableFile with the reason.

    ``as_text`` reads a file of unknown type as plain text (``--include-unknown``).
    """
    _require_regular_file(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _read_pdf(path, max_file_bytes)
    if suffix == ".docx":
        return _read_docx(path, max_file_bytes)
    text, truncated = _read_utf8(path, max_file_bytes)
    if suffix in CODE_LANGUAGES:
        return Document(path, text, "code", CODE_LANGUAGES[suffix], truncated)
    kind = TEXT_KINDS.get(suffix)
    if kind is None:
        if as_text:
            return Document(path, text, "text", None, truncated)
        raise UnsupportedFile(path, unknown_reason(path), category=SKIP_UNKNOWN)
    if kind == "html":
        return Document(path, html_to_text(text), "html", None, truncated)
    if suffix == ".mdx":
        return Document(path, mdx_to_markdown(text), "markdown", None, truncated)
    if suffix in (".adoc", ".asciidoc"):
        return Document(path, asciidoc_to_markdown(text), "markdown", None, truncated)
    if suffix == ".ipynb":
        if truncated:
            raise UnsupportedFile(path, "the notebook is larger than knowledge.max_file_bytes", category=SKIP_PARSE)
        try:
            rendered = notebook_to_markdown(text, include_outputs=notebook_outputs)
        except Exception as exc:  # nbformat raises several types (NotJSONError, ValidationError, KeyError)
            raise UnsupportedFile(path, f"nbformat cannot read it ({_first_line(exc)})", category=SKIP_PARSE) from exc
        return Document(path, rendered, "markdown", None, truncated)
    if kind == "markdown":
        return Document(path, markdown_with_front_matter(text), "markdown", None, truncated)
    return Document(path, text, kind, None, truncated)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def _read_docx(path: Path, max_file_bytes: int) -> Document:
    from docx.opc.exceptions import PackageNotFoundError

    try:
        text = docx_to_markdown(path)
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise UnsupportedFile(path, f"python-docx cannot read it ({_first_line(exc)})", category=SKIP_PARSE) from exc
    except OSError as exc:
        raise UnreadableFile(path, exc.strerror or str(exc)) from exc
    truncated = len(text) > max_file_bytes
    return Document(path, text[:max_file_bytes], "markdown", None, truncated)


def _require_regular_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise UnreadableFile(path, exc.strerror or str(exc)) from exc
    if not stat.S_ISREG(mode):
        raise UnreadableFile(path, "not a regular file (directory, FIFO, socket or device)")


def _read_utf8(path: Path, max_file_bytes: int) -> tuple[str, bool]:
    """Decode incrementally so memory stays bounded and a bad byte is reported, not replaced."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    parts: list[str] = []
    consumed = 0
    truncated = False
    try:
        with path.open("rb") as handle:
            first = True
            while consumed < max_file_bytes:
                block = handle.read(min(BLOCK_BYTES, max_file_bytes - consumed))
                if not block:
                    break
                if first and b"\x00" in block[:BINARY_SNIFF_BYTES]:
                    raise UnsupportedFile(
                        path, "it looks like a binary file (contains NUL bytes)", category=SKIP_BINARY
                    )
                first = False
                consumed += len(block)
                parts.append(decoder.decode(block))
            if consumed >= max_file_bytes and handle.read(1):
                truncated = True
    except UnicodeDecodeError as exc:
        raise UnsupportedFile(
            path, f"it is not valid UTF-8 (byte offset {consumed + exc.start})", category=SKIP_ENCODING
        ) from exc
    except OSError as exc:
        raise UnreadableFile(path, exc.strerror or str(exc)) from exc
    if not truncated:
        try:
            parts.append(decoder.decode(b"", final=True))
        except UnicodeDecodeError as exc:
            raise UnsupportedFile(path, "it is not valid UTF-8 (ends mid-character)", category=SKIP_ENCODING) from exc
    # A cut at the byte limit may split a multi-byte character; the decoder simply holds it back.
    return "".join(parts), truncated


def _read_pdf(path: Path, max_file_bytes: int) -> Document:
    try:
        reader = PdfReader(str(path))
        pages: list[str] = []
        size = 0
        truncated = False
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            if size + len(text) > max_file_bytes:
                truncated = True
                break
            pages.append(f"[page {number}]\n{text.strip()}\n")
            size += len(text)
    except (PdfReadError, ValueError, KeyError) as exc:
        raise UnsupportedFile(path, f"pypdf cannot parse it ({exc})", category=SKIP_PARSE) from exc
    except OSError as exc:
        raise UnreadableFile(path, exc.strerror or str(exc)) from exc
    text = "\n".join(pages)
    if not text.strip():
        raise UnsupportedFile(
            path, "the PDF has no extractable text (scanned images need OCR first)", category=SKIP_EMPTY
        )
    return Document(path, text, "pdf", None, truncated)


class _TextExtractor(HTMLParser):
    """Keeps visible text; drops script/style bodies which would otherwise pollute the keyword index."""

    _INVISIBLE = frozenset({"script", "style", "noscript", "template", "head"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "section", "article"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out = io.StringIO()
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._INVISIBLE:
            self._hidden_depth += 1
        elif tag in self._BLOCK:
            self._out.write("\n")
        if tag in {"h1", "h2", "h3"} and not self._hidden_depth:
            self._out.write("#" * int(tag[1]) + " ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._INVISIBLE and self._hidden_depth:
            self._hidden_depth -= 1
        elif tag in self._BLOCK:
            self._out.write("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self._out.write(data)

    def text(self) -> str:
        lines = (line.strip() for line in self._out.getvalue().splitlines())
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip() + "\n"


def html_to_text(html: str) -> str:
    """Strip tags; h1-h3 become markdown headings so the chunker still knows the section path."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()
