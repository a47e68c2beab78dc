"""How a message's parameters are said: a parameter that is itself a message code in the
message's language; in a programme's rules (``voucher.*``) an eligibility attribute and its
values in words ("registered_zone": "registered zone", "yizhuang-new-town": "Yizhuang New
Town")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Lang = Literal["en", "zh"]
Messages = Mapping[str, Mapping[Lang, str]]
WORDED = {"attribute": "attribute", "value": "value", "allowed": "value"}  # param -> code kind


def worded(name: str, value: object, lang: Lang, messages: Messages) -> str | None:
    """``value`` of parameter ``name`` in words (each of "a | b" alone), or None when it has
    none (the parameter or every value has no message)."""
    kind = WORDED.get(name)
    if kind is None or not isinstance(value, str):
        return None
    parts = value.split(" | ")
    codes = [f"{kind}.{x}" for x in parts]
    if not any(c in messages for c in codes):
        return None
    return " | ".join(
        (messages[c].get(lang) or messages[c]["en"]) if c in messages else x
        for c, x in zip(codes, parts, strict=True)
    )


def said(code: str, name: str, value: object, lang: Lang, messages: Messages) -> object:
    """Parameter ``name`` of message ``code`` as the message shows it."""
    words = worded(name, value, lang, messages) if code.startswith("voucher.") else None
    if words is not None:
        return words
    # A parameter that is itself a message code (e.g. "limit.pool") is said in the same language.
    if isinstance(value, str) and "." in value and value in messages:
        return messages[value].get(lang) or messages[value]["en"]
    return value
