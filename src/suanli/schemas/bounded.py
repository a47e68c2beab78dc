"""YAML and JSON read with bounds, before any model sees the data.

Every document a user or tenant sends (a job spec, an API body, an operator's file) is
parsed here, and whatever it holds is refused with the field it is in when it is:

- nested deeper than ``MAX_DEPTH`` (a 50,000-deep list costs no more than the first 33);
- a YAML alias (``*name``): "billion laughs" documents expand 9x per level, so none are
  taken, and with them no merge keys; a YAML key twice in one mapping (named by line);
- a tag other than YAML's plain types (no ``!!python/...``, ``!!binary``, ``!!set``);
- a string holding NUL or a lone surrogate (the runner, the database and the JSON encoder
  choke on them), an integer of more than ``MAX_INT_DIGITS`` digits, a date that is no date
  (2026-02-30, year 0000).

YAML is read event by event from libyaml (PyYAML's C parser where it is built), building
maps, lists and scalars at once: one pass, no node graph, and a refusal stops reading. The
work is bounded by the document's size, so a refused request costs about what an accepted
one does, and the event loop is never held for long.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

import yaml

from suanli.domain.errors import FieldError, InvalidInput

MAX_DEPTH = 32  # maps and lists inside one another (a job spec needs 4, a fleet file 6)
MAX_INT_DIGITS = 64  # no count, price or limit of the platform comes near it

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CORE = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(
    _CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)


class _Builder(_Parser):  # type: ignore[misc]
    """libyaml's events, PyYAML's implicit types (SafeLoader's resolver and constructors)."""


_INT = _CORE + "int"
_STR = _CORE + "str"


def _refuse(
    source: str, path: str, code: str, value: Any, allowed: str, **params: Any
) -> NoReturn:
    raise InvalidInput(
        "invalid_input",
        errors=[FieldError(path or "(document)", code, value, allowed, params)],
        source=source,
    )


def _join(path: str, key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _line(event: Any) -> int:
    mark = getattr(event, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else 0


def check_text(value: str, source: str, path: str) -> None:
    """Refuse a string the platform cannot store or run: NUL, a lone surrogate."""
    if "\x00" in value:
        _refuse(source, path, "bad_character", value.replace("\x00", "\\0"), "no NUL character")
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", "backslashreplace").decode("ascii", "replace")
        _refuse(source, path, "bad_character", shown, "valid Unicode text (no lone surrogate)")


def load_yaml(raw: bytes, source: str) -> Any:
    """The document in ``raw``, bounded as the module says; InvalidInput on any refusal."""
    parser = _Builder(raw)
    try:
        return _build(parser, source)
    finally:
        parser.dispose()


_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_OPEN = {yaml.MappingStartEvent: True, yaml.SequenceStartEvent: False}
_CLOSE = frozenset({yaml.MappingEndEvent, yaml.SequenceEndEvent})
_SKIP = frozenset({yaml.StreamStartEvent, yaml.DocumentStartEvent, yaml.DocumentEndEvent})
_TAG_OF: dict[tuple[str, bool], str] = {}  # plain scalars' resolved tags, bounded below


def _build(parser: Any, source: str) -> Any:
    # Open containers, innermost last: [container, its path, the key awaiting its value].
    stack: list[list[Any]] = []
    documents = 0
    result: Any = None
    while True:
        event = parser.get_event()
        kind = type(event)
        if kind is _SCALAR:
            value = _scalar(parser, event, source, stack)
        elif kind in _OPEN:
            if len(stack) >= MAX_DEPTH:
                at = _path_of(stack)
                _refuse(source, at, "too_deep", len(stack) + 1, f"at most {MAX_DEPTH} levels")
            if event.tag not in (None, "!") and event.tag not in _PLAIN_TAGS:
                _refuse(source, _path_of(stack), "yaml_tag", event.tag, _PLAIN)
            stack.append([{} if _OPEN[kind] else [], _path_of(stack), _NO_KEY])
            continue
        elif kind in _CLOSE:
            value = stack.pop()[0]
        elif kind is _ALIAS:
            at, line = _path_of(stack), _line(event)
            _refuse(source, at, "yaml_alias", f"*{event.anchor}", "no aliases", line=line)
        elif kind in _SKIP:
            documents += kind is yaml.DocumentStartEvent
            if documents > 1:
                _refuse(source, "", "yaml_syntax", None, "", detail="more than one document")
            continue
        else:  # the stream's end
            return result
        if not stack:
            result = value
            continue
        top = stack[-1]
        container = top[0]
        if type(container) is list:
            container.append(value)
        elif top[2] is _NO_KEY:
            if isinstance(value, dict | list):
                _refuse(source, top[1], "yaml_key", None, "a plain key", line=_line(event))
            if value in container:
                at, line = _join(top[1], value), _line(event)
                _refuse(source, at, "yaml_duplicate", value, "each key once", line=line)
            top[2] = value
        else:
            container[top[2]] = value
            top[2] = _NO_KEY


_NO_KEY: Any = object()
_PLAIN = "plain maps, lists and scalars"


def _path_of(stack: list[list[Any]]) -> str:
    if not stack:
        return ""
    container, path, key = stack[-1]
    if isinstance(container, list):
        return _join(path, len(container))
    return path if key is _NO_KEY else _join(path, key)


def _scalar(parser: Any, event: Any, source: str, stack: list[list[Any]]) -> Any:
    text: str = event.value
    tag = event.tag if event.tag not in (None, "!") else None
    if tag is None:
        plain = event.implicit[0]
        tag = _TAG_OF.get((text, plain))
        if tag is None:
            tag = parser.resolve(yaml.ScalarNode, text, event.implicit)
            if len(_TAG_OF) > 4096:
                _TAG_OF.clear()
            _TAG_OF[text, plain] = tag
    if tag == _STR:
        check_text(text, source, _path_of(stack)) if not text.isascii() or "\x00" in text else None
        return text
    if tag not in _PLAIN_TAGS:
        _refuse(source, _path_of(stack), "yaml_tag", tag, _PLAIN)
    if tag == _INT and sum(c.isdigit() for c in text) > MAX_INT_DIGITS:
        shown = f"{len(text)} digits"
        _refuse(source, _path_of(stack), "out_of_range", shown, f"at most {MAX_INT_DIGITS} digits")
    node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark)
    try:
        return parser.construct_object(node, deep=True)
    except (ValueError, OverflowError, yaml.YAMLError) as exc:
        detail = str(exc).split("\n")[0][:200]
        _refuse(source, _path_of(stack), "invalid_value", text, "", detail=detail)


class _HugeInt:
    """A JSON integer too long to convert, kept as text until its field is known."""

    def __init__(self, text: str) -> None:
        self.text = text


def _json_int(text: str) -> int | _HugeInt:
    return _HugeInt(text) if len(text) > MAX_INT_DIGITS + 1 else int(text)


def load_json(raw: bytes | str, source: str) -> Any:
    """The JSON document in ``raw``, bounded as the module says; InvalidInput on refusal."""
    try:
        data = json.loads(raw, parse_int=_json_int)
    except RecursionError:  # deeper than the decoder's own guard (~1,000 levels)
        _refuse(
            source, _too_deep_at(raw), "too_deep", MAX_DEPTH + 1, f"at most {MAX_DEPTH} levels"
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "invalid_json",
            errors=[FieldError("", "invalid_json", params={"detail": str(exc)[:200]})],
            source=source,
            detail=str(exc)[:200],
        ) from None
    check_tree(data, source)
    return data


# A JSON document's structure: its strings (keys among them), brackets, commas and colons.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')


def _too_deep_at(raw: bytes | str) -> str:
    """Where the first container nested deeper than ``MAX_DEPTH`` opens in the JSON ``raw``
    (a path as ``check_tree`` names it): read token by token, without building anything or
    recursing, and only until that container (or the end: "" for the document)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    # Open containers, outermost first: [is a map, its current key, its current index].
    stack: list[list[Any]] = []
    string = ""
    for token in _JSON_TOKEN.finditer(text):
        mark = token.group()
        if mark == "[" or mark == "{":
            if len(stack) >= MAX_DEPTH:
                return _stack_path(stack)
            stack.append([mark == "{", None, 0])
        elif mark == "]" or mark == "}":
            if stack:
                stack.pop()
        elif mark == "," and stack:
            stack[-1][1] = None
            stack[-1][2] += 1
        elif mark == ":" and stack:
            stack[-1][1] = string
        elif mark[0] == '"':
            string = mark
    return ""


def _stack_path(stack: list[list[Any]]) -> str:
    path = ""
    for is_map, key, index in stack:
        if not is_map:
            path = _join(path, index)
            continue
        try:
            name = json.loads(key) if key is not None else "?"
        except ValueError:
            name = key
        path = _join(path, name)
    return path


def check_tree(data: Any, source: str, path: str = "") -> None:
    """Refuse decoded data deeper than ``MAX_DEPTH``, or holding a string or integer the
    module refuses (walks without recursion, stopping at the first refusal)."""
    todo: list[tuple[Any, str, int]] = [(data, path, 0)]
    while todo:
        value, at, depth = todo.pop()
        if isinstance(value, str):
            check_text(value, source, at)
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                _refuse(source, at, "too_deep", depth + 1, f"at most {MAX_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    check_text(key, source, at)
                todo.append((item, _join(at, key), depth + 1))
        elif isinstance(value, _HugeInt):
            shown = f"{len(value.text)} digits"
            _refuse(source, at, "out_of_range", shown, f"at most {MAX_INT_DIGITS} digits")
        elif isinstance(value, int) and value.bit_length() > MAX_INT_DIGITS * 4:
            shown = f"about {value.bit_length() * 3 // 10} digits"
            _refuse(source, at, "out_of_range", shown, f"at most {MAX_INT_DIGITS} digits")
