"""Turn YAML text and pydantic errors into precise, translatable FieldErrors."""

from __future__ import annotations

import errno
import os
import stat
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from suanli.domain.errors import FieldError, InputTooLarge, InvalidInput
from suanli.domain.i18n import MESSAGES
from suanli.domain.near import near
from suanli.schemas.bounded import load_yaml

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "list": "a list",
    "dict": "a mapping",
    "model": "a mapping",
    "decimal": "a decimal number",
    "datetime": "a date-time with time zone (e.g. 2026-12-31T18:00:00+08:00)",
}
_PATTERN_HELP = {
    r"^[a-z0-9][a-z0-9._-]{0,62}$": "lower-case letters, digits, '.', '_' or '-', "
    "starting with a letter or digit, at most 63 characters",
    r"^[A-Za-z_][A-Za-z0-9_]{0,127}$": "an environment variable name (letters, digits, '_')",
    r"^[a-z][a-z0-9+.-]*://\S+$": "a URI such as s3://bucket/path or oss://bucket/path",
}


def read_bounded(path: Path, limit: int, what: str, code: str) -> bytes:  # noqa: ARG001
    """Read a user's file of at most ``limit`` bytes, or raise InvalidInput naming it.

    ``code`` is the caller's code for what is wrong inside such a file; a file not read at
    all is said by why (``file_missing``, ``file_denied``, ...) in the reader's language.

    Only a regular file is read (a device such as /dev/zero, a FIFO or a directory is
    refused from its ``stat``, before it is opened), opened without blocking, and never
    more than ``limit`` + 1 bytes of it, whatever its size says."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise _not_a_file(path, what)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the stat
                raise _not_a_file(path, what)
            chunks: list[bytes] = []
            got = 0
            while got <= limit:
                chunk = os.read(fd, min(1 << 20, limit + 1 - got))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _unreadable(path, what, exc) from None
    if got > limit:
        raise _too_large(str(path), what, max(got, path.stat().st_size), limit)
    return b"".join(chunks)


def _not_a_file(path: Path, what: str) -> InvalidInput:
    return _file_error(path, what, "file_not_regular")


# Why a file could not be read, said in the reader's language (not the system's English).
_ERRNO_CODES = {
    errno.ENOENT: "file_missing",
    errno.ENOTDIR: "file_missing",  # a part of the path is not a directory
    errno.EACCES: "file_denied",
    errno.EPERM: "file_denied",
    errno.EISDIR: "file_not_regular",
    errno.ELOOP: "file_loop",
    errno.ENAMETOOLONG: "file_name_too_long",
}


def _unreadable(path: Path, what: str, exc: OSError) -> InvalidInput:
    code = _ERRNO_CODES.get(exc.errno or 0, "file_unreadable")
    name = errno.errorcode.get(exc.errno or 0, "EIO")  # a symbol, the same in every language
    return _file_error(path, what, code, errno=name)


def _file_error(path: Path, what: str, code: str, **params: Any) -> InvalidInput:
    """The file named (``source``) and why it was not read: one line, the head's own."""
    said = "what." + what.replace(" ", "_")
    params = {"what": said if said in MESSAGES else what, **params}
    return InvalidInput(
        code,
        errors=[FieldError("", code, str(path), params=params)],
        source=str(path),
        **params,
    )


def _too_large(source: str, what: str, size: int, limit: int) -> InputTooLarge:
    # A known kind of file is named by its message code, so zh readers read it in zh.
    code = "what." + what.replace(" ", "_")
    params = {"what": code if code in MESSAGES else what, "size": size, "limit": limit}
    return InputTooLarge(
        "too_large", errors=[FieldError("", "too_large", params=params)], source=source, **params
    )


def load_yaml_mapping(text: str | bytes, source: str, limit: int, what: str) -> dict[str, Any]:
    """Parse ``text`` as a YAML mapping no larger than ``limit`` bytes, or raise InvalidInput."""
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > limit:
        raise _too_large(source, what, len(raw), limit)
    try:
        data = load_yaml(raw, source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInput(
            "yaml_syntax",
            errors=[FieldError("", "yaml_syntax", params={"detail": where + str(problem)})],
            source=source,
            detail=where + str(problem),
        ) from None
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise InvalidInput(
            "not_a_mapping",
            errors=[FieldError("", "not_a_mapping", params={"kind": kind})],
            source=source,
            kind=kind,
        )
    return data


def validate_model(model: type[M], data: Any, source: str, code: str) -> M:
    """Validate ``data`` against ``model``; on failure raise InvalidInput naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [field_error(model, e) for e in exc.errors(include_url=False)]
        raise InvalidInput(code, errors=errors, source=source) from None


def field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def field_error(model: type[BaseModel], err: Any) -> FieldError:
    """Map one pydantic error dict onto a FieldError with the allowed values spelled out."""
    loc = tuple(err["loc"])
    kind: str = err["type"]
    path = field_path(loc)
    value = err.get("input")
    ctx = err.get("ctx") or {}
    info = _field_info(model, loc)
    if kind == "missing":
        return FieldError(path, "missing")
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        fields = list(parent.model_fields) if parent else []
        hint = {"near": near(loc[-1], fields)} if near(loc[-1], fields) else {}
        return FieldError(path, "extra_forbidden", allowed=", ".join(fields), params=hint)
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return FieldError(path, "out_of_range", value, _bounds(info, ctx))
    if kind in {"too_long", "too_short", "string_too_long", "string_too_short"}:
        unit = "characters" if kind.startswith("string") else "items"
        lo, hi = ctx.get("min_length"), ctx.get("max_length")
        allowed = f"at most {hi} {unit}" if hi is not None else f"at least {lo} {unit}"
        shown = f"{len(value)} {unit}" if hasattr(value, "__len__") else value
        return FieldError(path, "out_of_range", shown, allowed)
    if kind == "not_allowed":  # a validator's own refusal, saying what is allowed
        return FieldError(path, "not_allowed", value, str(ctx.get("allowed", "")))
    if kind in {"literal_error", "enum"}:
        return FieldError(path, "not_allowed", value, str(ctx.get("expected", "")))
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return FieldError(path, "not_allowed", value, _PATTERN_HELP.get(pattern, pattern))
    if kind == "timezone_aware":
        return FieldError(path, "not_allowed", value, _TYPE_NAMES["datetime"])
    base = kind.split("_")[0]
    if kind.endswith(("_type", "_parsing")) and base in _TYPE_NAMES:
        return FieldError(path, "wrong_type", value, _TYPE_NAMES[base])
    return FieldError(path, "invalid_value", value, params={"detail": err.get("msg", kind)})


def _bounds(info: FieldInfo | None, ctx: dict[str, Any]) -> str:
    lo = hi = None
    for meta in info.metadata if info else ():
        lo = getattr(meta, "ge", None) or lo
        lo = getattr(meta, "gt", None) or lo
        hi = getattr(meta, "le", None) or hi
        hi = getattr(meta, "lt", None) or hi
    lo = lo if lo is not None else ctx.get("ge", ctx.get("gt"))
    hi = hi if hi is not None else ctx.get("le", ctx.get("lt"))
    if lo is not None and hi is not None:
        return f"from {lo} to {hi}"
    if lo is not None:
        return f">= {lo}" if "ge" in ctx or "gt" not in ctx else f"> {lo}"
    return f"<= {hi}"


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or part == "[key]":
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        current = _inner_model(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field_info(model: type[BaseModel], loc: Sequence[int | str]) -> FieldInfo | None:
    names = [p for p in loc if isinstance(p, str) and p != "[key]"]
    if not names:
        return None
    parent = _model_at(model, loc[: max(i for i, p in enumerate(loc) if p == names[-1])])
    return parent.model_fields.get(names[-1]) if parent else None


def _inner_model(annotation: Any) -> Any:
    """Dig a BaseModel out of Optional[...] / list[...] annotations."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple, dict):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None
