"""The extractive answer: when the model's answer cannot be trusted, quote the best passages instead.

A small model sometimes returns nothing, a fragment of its own prompt (`"} <passage id="`) or prose with no
citation. Showing that would be worse than showing nothing; showing nothing would waste a retrieval that usually
found the right place. So the fallback quotes, from the top passages, the lines that share most words with the
question, each with its file and exact line range, and the result is flagged ``extractive`` so no caller presents it
as a generated answer.

The same content-word test filters the planner's sub-queries: a sub-query that shares no content word with the
question (or the task context) is a hallucination (``"10.5% of the time."``) and would only pull in noise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*[A-Za-z0-9]|[A-Za-z0-9]")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "could",
        "do",
        "does",
        "did",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "should",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "to",
        "use",
        "used",
        "using",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "after",
        "all",
        "also",
        "any",
        "before",
        "between",
        "both",
        "each",
        "few",
        "more",
        "most",
        "much",
        "other",
        "over",
        "same",
        "some",
        "such",
        "than",
        "too",
        "very",
        "just",
        "not",
        "no",
        "yes",
        "has",
        "have",
        "had",
        "been",
        "being",
        "get",
        "gets",
        "got",
        "set",
        "one",
        "two",
        "way",
        "ways",
    ]
)
MIN_ANSWER_WORDS = 3
MALFORMED = re.compile(r"</?passage\b|^[\W_]*\}|^\W*\"\s*\}")
FLAG_EXTRACTIVE = "extractive"

EXTRACTIVE_INTRO = (
    "No generated answer could be checked against the sources, so these are the passages that best match the question:"
)


def content_words(text: str) -> set[str]:
    """Lower-cased words that carry meaning: stop words and 1-character tokens are dropped, plurals folded."""
    words = set()
    for raw in WORD.findall(text.lower()):
        word = raw.strip(".-_")
        if len(word) < 2 or word in STOPWORDS:
            continue
        words.add(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return words


def relevant_queries(queries: Iterable[str], *contexts: str | None) -> tuple[list[str], list[str]]:
    """(kept, dropped): a sub-query is kept when it shares at least one content word with the question/context."""
    vocabulary: set[str] = set()
    for text in contexts:
        vocabulary |= content_words(text or "")
    kept, dropped = [], []
    for query in queries:
        (kept if content_words(query) & vocabulary else dropped).append(query)
    return kept, dropped


def looks_malformed(answer: str) -> bool:
    """An answer a reader should not be shown: empty, a few characters, or pieces of the prompt's markup."""
    text = answer.strip()
    if len(re.findall(r"[A-Za-z]{2,}", text)) < MIN_ANSWER_WORDS:
        return True
    return bool(MALFORMED.search(text))


@dataclass(frozen=True)
class Quote:
    n: int
    source: str
    heading: str
    line_start: int
    line_end: int
    text: str


def best_lines(passage: dict[str, Any], question: str, max_lines: int = 4, max_chars: int = 500) -> Quote | None:
    """The window of consecutive lines of one passage that shares most content words with the question."""
    lines = passage["text"].split("\n")
    wanted = content_words(question)
    if not lines:
        return None
    scores = [len(content_words(line) & wanted) for line in lines]
    best_start, best_score = 0, -1
    for start in range(len(lines)):
        if not lines[start].strip():
            continue
        window = range(start, min(len(lines), start + max_lines))
        score = sum(scores[i] for i in window)
        if score > best_score:
            best_start, best_score = start, score
    end = best_start
    chars = 0
    while end < len(lines) and end < best_start + max_lines and chars + len(lines[end]) <= max_chars:
        chars += len(lines[end]) + 1
        end += 1
    end = max(end, best_start + 1)
    text = "\n".join(lines[best_start:end]).strip()[:max_chars]
    if not text:
        return None
    first = int(passage["line_start"]) + best_start
    return Quote(
        n=0,
        source=passage["source"],
        heading=passage.get("heading", ""),
        line_start=first,
        line_end=first + (end - best_start) - 1,
        text=text,
    )


def extractive_answer(question: str, passages: list[dict[str, Any]], max_quotes: int = 3) -> tuple[str, list[Quote]]:
    """Quotes from the first passages (already ranked), numbered [1]..[k], as markdown block quotes."""
    quotes: list[Quote] = []
    for passage in passages:
        quote = best_lines(passage, question)
        if quote is None:
            continue
        quotes.append(Quote(len(quotes) + 1, quote.source, quote.heading, quote.line_start, quote.line_end, quote.text))
        if len(quotes) == max_quotes:
            break
    parts = [EXTRACTIVE_INTRO]
    for quote in quotes:
        where = f"{quote.source}:{quote.line_start}-{quote.line_end}"
        heading = f" ({quote.heading})" if quote.heading else ""
        body = "\n".join(f"> {line}" for line in quote.text.split("\n"))
        parts.append(f"[{quote.n}] {where}{heading}\n{body}")
    return "\n\n".join(parts), quotes


FLAG_ATTRIBUTED = "citations_attributed"
MIN_SUPPORT = 0.6  # share of a sentence's content words that must appear in the passage it is attributed to
MIN_SHARED = 2


def attribute_citations(answer: str, passages: list[dict[str, Any]]) -> tuple[str, int]:
    """Cite an answer the model left uncited, sentence by sentence, by lexical support.

    Small models often answer correctly but drop the [n] markers. A sentence is attributed to the passage that
    contains the largest share of its content words, and only when that share is at least MIN_SUPPORT (and at least
    MIN_SHARED words): a sentence no passage supports is removed rather than cited. Returns the attributed answer
    (empty when nothing is supported) and the number of sentences removed. Callers flag the result
    ``citations_attributed`` so nobody mistakes it for the model's own citations.
    """
    from graphs.research.citations import split_sentences

    vocab = [(p["n"], content_words(p["text"])) for p in passages]
    kept: list[str] = []
    removed = 0
    for sentence in split_sentences(answer):
        words = content_words(sentence)
        best_n, best_share, best_shared = None, 0.0, 0
        for number, passage_words in vocab:
            shared = len(words & passage_words)
            share = shared / len(words) if words else 0.0
            if share > best_share:
                best_n, best_share, best_shared = number, share, shared
        if best_n is not None and best_share >= MIN_SUPPORT and best_shared >= MIN_SHARED:
            text = sentence.rstrip()
            end = text[-1] if text[-1] in ".!?" else ""
            kept.append(f"{text[: len(text) - len(end)].rstrip()} [{best_n}]{end}")
        else:
            removed += 1
    return " ".join(kept), removed
