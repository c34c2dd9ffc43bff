"""Turn documentation formats into markdown the chunker understands.

MDX and AsciiDoc are rewritten *line for line* (a line is blanked or rewritten, never added or removed), so a chunk's
line numbers still point at the right lines of the original file and a citation can be opened in an editor.
Notebooks and Word files have no useful line numbers of their own; they are rendered to markdown and cited by the
lines of that rendering (cells and headings keep their order).

Parsing is left to well-kept libraries: markdown-it-py finds code fences (so nothing inside a fence is touched),
PyYAML reads front matter, nbformat reads notebooks, python-docx reads Word files.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

FRONT_MATTER_FENCE = "---"
JSX_TAG = re.compile(r"</?[A-Z][\w.]*(?:\s[^<>]*?)?/?>|<>|</>")
JSX_OPEN_START = re.compile(r"^\s*<[A-Z][\w.]*(\s|$)")
JSX_ATTR_TEXT = re.compile(r"""\b(?:title|description|label)=(?:"([^"]*)"|'([^']*)'|\{["']([^"']*)["']\})""")
JSX_COMMENT = re.compile(r"^\s*\{/\*.*\*/\}\s*$")
ESM_LINE = re.compile(r"^(import|export)\s")
ADOC_HEADING = re.compile(r"^(={1,6})\s+(\S.*)$")
ADOC_BLOCK = re.compile(r"^(-{4,}|\.{4,}|={4,}|`{3,}.*)\s*$")

_markdown = MarkdownIt("commonmark")


def fenced_lines(text: str) -> set[int]:
    """0-based line numbers inside fenced or indented code blocks, as markdown-it-py parses them."""
    inside: set[int] = set()
    for token in _markdown.parse(text):
        if token.type in ("fence", "code_block") and token.map:
            inside.update(range(token.map[0], token.map[1]))
    return inside


def front_matter(lines: list[str]) -> tuple[int, dict[str, object]]:
    """(number of front-matter lines, parsed mapping); (0, {}) when the file has none or it is not YAML."""
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        return 0, {}
    for index in range(1, min(len(lines), 200)):
        if lines[index].strip() == FRONT_MATTER_FENCE:
            try:
                data = yaml.safe_load("".join(lines[1:index])) or {}
            except yaml.YAMLError:
                data = {}
            return index + 1, data if isinstance(data, dict) else {}
    return 0, {}


def _replace_front_matter(lines: list[str]) -> list[str]:
    """Front matter becomes `# title` and the description as prose, the other lines blank (count unchanged)."""
    count, data = front_matter(lines)
    if not count:
        return lines
    out = ["\n"] * count
    title = str(data.get("title") or "").strip()
    description = str(data.get("description") or "").strip()
    if title:
        out[0] = f"# {' '.join(title.split())}\n"
    if description and count > 2:
        out[1] = " ".join(description.split()) + "\n"
    return out + lines[count:]


def markdown_with_front_matter(text: str) -> str:
    """Plain markdown (Jekyll, Hugo, Docusaurus .md): only the front matter is rewritten."""
    return "".join(_replace_front_matter(text.splitlines(keepends=True)))


def mdx_to_markdown(text: str) -> str:
    """MDX without its JavaScript: import/export statements and JSX tag lines are blanked, prose between component
    tags is kept, a component's title/description/label attribute is kept as text, and fenced code is untouched."""
    lines = _replace_front_matter(text.splitlines(keepends=True))
    code = fenced_lines("".join(lines))
    out: list[str] = []
    in_tag = False  # inside a JSX opening tag that spans several lines
    in_esm = 0  # open braces of a multi-line import/export statement
    for number, line in enumerate(lines):
        if number in code:
            out.append(line)
            continue
        stripped = line.strip()
        if in_esm > 0:
            in_esm += line.count("{") + line.count("(") + line.count("[")
            in_esm -= line.count("}") + line.count(")") + line.count("]")
            out.append("\n")
            continue
        if ESM_LINE.match(line):
            in_esm = line.count("{") + line.count("(") + line.count("[")
            in_esm -= line.count("}") + line.count(")") + line.count("]")
            out.append("\n")
            continue
        if in_tag or (JSX_OPEN_START.match(line) and ">" not in line):
            in_tag = ">" not in line
            out.append(_attribute_text(line))
            continue
        if JSX_COMMENT.match(line):
            out.append("\n")
            continue
        if "<" in stripped and JSX_TAG.search(stripped):
            attrs = _attribute_text(line).strip()
            rest = JSX_TAG.sub(" ", stripped).strip()
            joined = " ".join(part for part in (attrs, rest) if part)
            indent = line[: len(line) - len(line.lstrip())] if rest else ""
            out.append(f"{indent}{joined}\n" if joined else "\n")
            continue
        out.append(line)
    return "".join(out)


def _attribute_text(line: str) -> str:
    values = [next(v for v in match.groups() if v is not None) for match in JSX_ATTR_TEXT.finditer(line)]
    return (" — ".join(v for v in values if v.strip()) + "\n") if values else "\n"


def asciidoc_to_markdown(text: str) -> str:
    """AsciiDoc section titles (`= Title`, `== Section`) become markdown headings and listing/literal delimiters
    become code fences, line for line; everything else is already readable prose."""
    out: list[str] = []
    in_block = False
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\n")
        if ADOC_BLOCK.match(bare) and not bare.startswith("```"):
            in_block = not in_block
            out.append("```\n")
            continue
        if bare.startswith("```"):
            in_block = not in_block
            out.append(line)
            continue
        heading = None if in_block else ADOC_HEADING.match(bare)
        out.append(f"{'#' * len(heading.group(1))} {heading.group(2)}\n" if heading else line)
    return "".join(out)


def notebook_to_markdown(text: str, include_outputs: bool = False) -> str:
    """Markdown cells as they are, code cells as fenced code in the kernel's language, text outputs optionally."""
    import nbformat

    notebook = nbformat.reads(text, as_version=4)
    language = str((notebook.metadata.get("kernelspec") or {}).get("language") or "python")
    parts: list[str] = []
    for cell in notebook.cells:
        source = cell.source.strip("\n")
        if not source.strip():
            continue
        if cell.cell_type == "markdown":
            parts.append(source)
        elif cell.cell_type == "code":
            parts.append(f"```{language}\n{source}\n```")
            if include_outputs:
                shown = _text_outputs(cell.get("outputs", []))
                if shown:
                    parts.append(f"Output:\n```\n{shown}\n```")
        else:
            parts.append(source)
    return "\n\n".join(parts) + "\n"


def _text_outputs(outputs: list[dict[str, object]]) -> str:
    texts: list[str] = []
    for output in outputs:
        if output.get("output_type") == "stream":
            texts.append(str(output.get("text", "")))
        elif output.get("output_type") in ("execute_result", "display_data"):
            data = output.get("data") or {}
            if isinstance(data, dict) and "text/plain" in data:
                texts.append(str(data["text/plain"]))
    return "\n".join(t.rstrip("\n") for t in texts if t.strip())


def docx_to_markdown(path: Path) -> str:
    """Paragraphs and tables in document order; Heading N styles become markdown headings, list items bullets."""
    import docx

    document = docx.Document(str(path))
    parts: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            rows = [" | ".join(" ".join(cell.text.split()) for cell in row.cells) for row in block.rows]
            parts.append("\n".join(r for r in rows if r.strip(" |")))
            continue
        text = block.text.strip()
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        level = _heading_level(style)
        if level:
            parts.append(f"{'#' * level} {' '.join(text.split())}")
        elif style.startswith("List"):
            parts.append(f"- {text}")
        else:
            parts.append(text)
    return "\n\n".join(p for p in parts if p) + "\n"


def _heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = re.match(r"Heading (\d)", style)
    return min(6, int(match.group(1))) if match else 0


def looks_like_text(path: Path, sniff_bytes: int = 8192) -> bool:
    """A file of unknown type is treated as text when its start has no NUL byte and decodes as UTF-8."""
    try:
        with path.open("rb") as handle:
            head = handle.read(sniff_bytes)
    except OSError:
        return False
    if b"\x00" in head:
        return False
    try:
        io.TextIOWrapper(io.BytesIO(head), encoding="utf-8", errors="strict").read()
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a multi-byte character cut at the sniff boundary is fine
    return True
