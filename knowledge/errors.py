"""Errors of the knowledge layer.

Each message is one complete, actionable sentence because the CLI prints it verbatim as ``error: …`` and exits 1;
callers should never need a traceback to know what to do next.
"""

from pathlib import Path


class KnowledgeError(Exception):
    """Base class for problems the user can fix (bad input file, unreachable store, missing model)."""


class UnsupportedFile(KnowledgeError):
    """A file the user named explicitly cannot be ingested (binary, wrong encoding, unknown type).

    ``category`` is the short reason (knowledge.documents.SKIP_*) that `kb add` counts when the file is skipped.
    """

    def __init__(self, path: Path, reason: str, category: str = "unsupported") -> None:
        self.path = path
        self.reason = reason
        self.category = category
        super().__init__(f"cannot ingest {path}: {reason}; convert it to UTF-8 text, markdown or PDF, or leave it out")


class UnreadableFile(KnowledgeError):
    """The file exists in the listing but the OS refuses to hand us its bytes."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read {path}: {reason}; check that it is a regular file you have permission to read")


class NoDocumentsFound(KnowledgeError):
    """Raised instead of silently indexing nothing, which would make every later search look broken."""

    def __init__(self, where: Path | str) -> None:
        super().__init__(
            f"no supported documents found under {where}; add .md, .mdx, .rst, .adoc, .ipynb, .docx, .txt, .html, "
            ".pdf or source files (or pass --include-unknown for other text files)"
        )


class StoreUnavailable(KnowledgeError):
    """The configured Qdrant server did not answer."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            f"cannot reach Qdrant at URL: {url} ({detail}); start it or unset knowledge.url to use the embedded store"
        )


class StoreError(KnowledgeError):
    """The vector store answered but refused an operation (corrupt directory, layout mismatch, lock held)."""


class EmbedderUnavailable(KnowledgeError):
    """The embedding model could not be loaded from local files (we never download at run time)."""
