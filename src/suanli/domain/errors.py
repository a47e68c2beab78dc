"""The one error tree of suanli; each error has a stable code and a translatable message.

    SuanliError
     ├── InvalidInput ........ bad spec, fleet file or request (field-level details)
     │    └── InputTooLarge .. a body, file or spec over its size limit
     ├── NotFound ............ no such job, cluster, ...
     ├── Conflict ............ the request contradicts the current state
     │    └── IllegalTransition
     ├── EngineFailure ....... an execution engine refused or failed
     │    └── EngineUnavailable  it did not answer (may work again later)
     ├── Unauthenticated ..... no valid token
     ├── Forbidden ........... a valid token that may not do this
     └── TooManyRequests ..... a rate or concurrency limit

Only ``suanli.api.errors`` maps these to HTTP statuses; the CLI maps them to exit codes.
"""

from __future__ import annotations

import dataclasses
import reprlib
from dataclasses import dataclass
from typing import Any

from suanli.domain.i18n import Lang, render


@dataclass(frozen=True)
class FieldError:
    """One precise complaint about one field: where, what was given, what is allowed."""

    field: str
    code: str
    value: Any = None
    allowed: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def message(self, lang: Lang = "en") -> str:
        shown = _show(self.value)
        params = {k: _localize(v, lang) for k, v in self.params.items()}
        text = render(self.code, lang, value=shown, allowed=self.allowed or "", **params)
        near = self.params.get("near")  # near misses of the value (suanli.domain.near)
        if near:
            text += render("did_you_mean", lang, near=", ".join(f"`{n}`" for n in near))
        return _encodable(text)

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        return {
            "field": self.field,
            "value": _jsonable(self.value),
            "allowed": self.allowed,
            "code": self.code,
            "message": self.message(lang),
        }


def _localize(value: Any, lang: Lang) -> Any:
    # Nested reasons (anything with a render(lang) method) are rendered in the reader's language.
    render_fn: Any = getattr(value, "render", None)
    return render_fn(lang) if callable(render_fn) else value


_SHORT = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxdict, _SHORT.maxlist = (
    3,
    80,
    80,
    8,
    8,
)


def _show(value: Any) -> str:
    # Bounded however hostile the value: deep nesting and huge integers shown in part.
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of about {value.bit_length() * 3 // 10} digits>"
    if isinstance(value, dict | list | tuple | set):
        text = _SHORT.repr(value)
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _jsonable(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return _show(value)
    if isinstance(value, str):
        return _encodable(value if len(value) <= 200 else value[:200])
    if value is None or isinstance(value, bool | int | float):
        return value
    return _encodable(_show(value))


def _encodable(text: str) -> str:
    # A lone surrogate cannot be written as UTF-8: shown escaped, as \ud800.
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class SuanliError(Exception):
    """Base of every error suanli raises on purpose."""

    code = "internal"

    def __init__(self, code: str | None = None, /, **params: Any) -> None:
        self.code = code or type(self).code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: Lang = "en") -> str:
        return render(self.code, lang, **self.params)


class InvalidInput(SuanliError):
    """Input rejected at the edge; ``errors`` names every offending field."""

    code = "invalid_request"

    def __init__(
        self,
        code: str | None = None,
        /,
        errors: list[FieldError] | None = None,
        source: str | None = None,
        **params: Any,
    ) -> None:
        self.errors = errors or []
        self.source = source
        super().__init__(code, **params)

    def message(self, lang: Lang = "en") -> str:
        head = render(self.code, lang, **self.params)
        if self.source:
            head = f"{self.source}: {head}"
        body = render(self.code, lang, **self.params)
        lines = [head] + [
            f"  {e.field or '(file)'}: {e.message(lang)}"
            for e in self.errors
            if e.field or e.message(lang) != body  # a file-level error already said in the head
        ]
        return "\n".join(lines)


class InputTooLarge(InvalidInput):
    code = "too_large"


class NotFound(SuanliError):
    code = "job_not_found"


class Conflict(SuanliError):
    code = "already_finished"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class EngineFailure(SuanliError):
    code = "engine_error"


class EngineUnavailable(EngineFailure):
    """The engine did not answer: nothing was refused, the same call may work later."""

    code = "engine_unavailable"


class Unauthenticated(SuanliError):
    """No token, or one that is unknown, revoked or expired."""

    code = "access.unauthenticated"


class Forbidden(SuanliError):
    """The caller is known but may not do this."""

    code = "access.forbidden"


class TooManyRequests(SuanliError):
    """A rate or concurrency limit; ``retry_after_s`` when waiting helps."""

    code = "quota.rate"

    def __init__(
        self, code: str | None = None, /, retry_after_s: float | None = None, **params: Any
    ) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(code, **params)
