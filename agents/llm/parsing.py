"""Turn a model's reply into a validated pydantic object, or a short error to feed back to it."""

from __future__ import annotations

import json
import re
from typing import TypeVar

from langchain_core.messages import AIMessage
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class InvalidOutput(ValueError):
    """Carries a message short enough to show the model on the retry."""


def message_text(message: AIMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


def parse_reply(message: AIMessage, schema: type[T]) -> T:
    text = message_text(message)
    truncated = (message.response_metadata or {}).get("finish_reason") == "length"
    match = _FENCE.match(text)
    if match:
        text = match.group(1)
    try:
        data = json.loads(text, strict=False)  # small models put raw newlines inside strings; harmless
    except json.JSONDecodeError as exc:
        hint = " (the reply was cut off at the token limit; answer more briefly)" if truncated else ""
        raise InvalidOutput(f"not valid JSON: {exc.msg} at char {exc.pos}{hint}") from exc
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'root'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InvalidOutput(f"does not match the schema: {problems}") from exc
