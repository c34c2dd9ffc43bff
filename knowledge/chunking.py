"""Split documents into retrievable chunks that remember where they came from.

langchain's MarkdownHeaderTextSplitter gives the heading path but rewrites whitespace (it strips every line, which
mangles code blocks), so it is used only to find section boundaries; the text of each chunk is always an exact slice
of the original file. That keeps line numbers honest and lets a user jump straight to the cited lines.

What is embedded (and what BM25 counts) is the chunk's heading path followed by its text: a passage deep in a
section ("Set it to 5") is found by the words of its headings ("Configuration > Subtask count"), which a reader sees
but the passage alone lacks. The chunk's ``sha256`` is of that embedded text, so a stored vector is reused only for
exactly the same input.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

from langchain_text_splitters import (
    Language,
    MarkdownHeaderTextSplitter,
    RecursiveCharacterTextSplitter,
)

from knowledge.documents import Document

HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]
RST_UNDERLINE = re.compile(r"^([=\-~`#\"^+*:.'_])\1{2,}\s*$")
PDF_PAGE = re.compile(r"^\[page (\d+)\]$", re.MULTILINE)


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage; ``sha256`` is of the text, so identical passages are recognised anywhere."""

    source: str
    text: str
    heading: str
    line_start: int
    line_end: int
    sha256: str
    ordinal: int

    @property
    def embed_text(self) -> str:
        return embed_text(self.heading, self.text)


def embed_text(heading: str, text: str) -> str:
    """The text given to the embedder and to BM25: heading path first, then the passage."""
    return f"{heading}\n\n{text}" if heading else text


@dataclass(frozen=True)
class _Section:
    start: int
    end: int
    heading: str


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Chunker:
    """Turns a Document into Chunks; one instance is reused for a whole ingest."""

    def __init__(self, chunk_size: int, chunk_overlap: int) -> None:
        if chunk_overlap >= chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        self._size = chunk_size
        self._overlap = min(chunk_overlap, chunk_size // 2)
        self._prose = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size, chunk_overlap=self._overlap, add_start_index=True, strip_whitespace=False
        )
        self._by_language: dict[str, RecursiveCharacterTextSplitter] = {}
        self._markdown = self._splitter_for(Language.MARKDOWN.value)
        self._headers = MarkdownHeaderTextSplitter(headers_to_split_on=HEADERS, strip_headers=False)

    def split(self, doc: Document) -> list[Chunk]:
        text = doc.text
        if doc.kind == "markdown":
            sections = self._markdown_sections(text)
            splitter = self._markdown  # prefers heading, fence and paragraph boundaries
        elif doc.kind == "html":
            sections = self._markdown_sections(text)
            splitter = self._prose
        elif doc.kind == "rst":
            sections = _rst_sections(text)
            splitter = self._splitter_for(Language.RST.value)
        elif doc.kind == "code" and doc.language:
            sections = [_Section(0, len(text), "")]
            splitter = self._splitter_for(doc.language)
        elif doc.kind == "pdf":
            sections = _pdf_sections(text)
            splitter = self._prose
        else:
            sections = [_Section(0, len(text), "")]
            splitter = self._prose

        line_starts = _line_starts(text)
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for section in sections:
            body = text[section.start : section.end]
            for piece in splitter.create_documents([body]):
                offset = section.start + int(piece.metadata["start_index"])
                raw = piece.page_content
                stripped = raw.strip()
                if not stripped:
                    continue
                lead = len(raw) - len(raw.lstrip())
                begin = offset + lead
                end = begin + len(stripped)
                digest = text_sha256(embed_text(section.heading, stripped))
                if digest in seen:  # identical passage repeated in the same file: index it once
                    continue
                seen.add(digest)
                chunks.append(
                    Chunk(
                        source=str(doc.path),
                        text=stripped,
                        heading=section.heading,
                        line_start=bisect.bisect_right(line_starts, begin),
                        line_end=bisect.bisect_right(line_starts, max(begin, end - 1)),
                        sha256=digest,
                        ordinal=len(chunks),
                    )
                )
        return chunks

    def _splitter_for(self, language: str) -> RecursiveCharacterTextSplitter:
        if language not in self._by_language:
            self._by_language[language] = RecursiveCharacterTextSplitter.from_language(
                Language(language),
                chunk_size=self._size,
                chunk_overlap=self._overlap,
                add_start_index=True,
                strip_whitespace=False,
            )
        return self._by_language[language]

    def _markdown_sections(self, text: str) -> list[_Section]:
        """Map MarkdownHeaderTextSplitter's sections back onto offsets in the original text."""
        lines = text.splitlines(keepends=True)
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line))
        starts: list[tuple[int, str]] = []
        cursor = 0
        for part in self._headers.split_text(text):
            heading = " > ".join(part.metadata[key] for _, key in HEADERS if key in part.metadata)
            first_line = part.page_content.split("\n", 1)[0].strip()
            line_no = cursor
            if first_line.startswith("#"):
                while line_no < len(lines) and lines[line_no].strip() != first_line:
                    line_no += 1
                if line_no == len(lines):
                    line_no = cursor
            starts.append((offsets[line_no] if not starts else max(offsets[line_no], starts[-1][0]), heading))
            cursor = min(line_no + 1, len(lines))
        if not starts:
            return [_Section(0, len(text), "")]
        starts[0] = (0, starts[0][1])
        bounds = [s for s, _ in starts[1:]] + [len(text)]
        return [_Section(start, end, heading) for (start, heading), end in zip(starts, bounds, strict=True)]


def _rst_sections(text: str) -> list[_Section]:
    """reST titles are a line followed by an underline at least as long; langchain has no header splitter for it."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    sections: list[_Section] = []
    trail: list[tuple[str, str]] = []  # (underline char, title), outermost first
    current_start, current_heading = 0, ""
    for index in range(1, len(lines)):
        title, underline = lines[index - 1].strip(), lines[index].strip()
        if not title or not RST_UNDERLINE.match(underline) or len(underline) < len(title):
            continue
        if RST_UNDERLINE.match(title):
            continue
        char = underline[0]
        levels = [c for c, _ in trail]
        trail = [*trail[: levels.index(char)], (char, title)] if char in levels else [*trail, (char, title)]
        start = offsets[index - 1]
        if start > current_start:
            sections.append(_Section(current_start, start, current_heading))
        current_start, current_heading = start, " > ".join(t for _, t in trail)
    sections.append(_Section(current_start, len(text), current_heading))
    return sections


def _pdf_sections(text: str) -> list[_Section]:
    marks = list(PDF_PAGE.finditer(text))
    if not marks:
        return [_Section(0, len(text), "")]
    bounds = [m.start() for m in marks[1:]] + [len(text)]
    return [_Section(m.start(), end, f"page {m.group(1)}") for m, end in zip(marks, bounds, strict=True)]


def _line_starts(text: str) -> list[int]:
    """Offsets where each line begins; bisect on it turns a character offset into a 1-based line number."""
    starts = [0]
    starts.extend(match.end() for match in re.finditer("\n", text))
    return starts
