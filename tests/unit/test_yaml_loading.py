"""The bounded YAML reader builds what PyYAML's safe loader builds for plain documents, and
refuses the rest (aliases, duplicate keys, odd tags, bombs) naming the field and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from suanli.domain.errors import InvalidInput
from suanli.schemas.bounded import MAX_DEPTH, load_json
from suanli.schemas.validation import load_yaml_mapping

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p
    for folder in ("examples", "src/suanli/data", "tests")
    for p in (ROOT / folder).rglob("*.yaml")
    if p.stat().st_size < 1_000_000
)
DOCUMENTS = [
    "name: a\nrun: echo hi\n",
    "a: yes\nb: no\nc: on\nd: ~\ne: null\nf: 0x1f\ng: 0o17\nh: 1_000\ni: 1:30\nj: .inf\n"
    "k: -.nan\nl: 2024-01-02\nm: 2024-01-02T03:04:05Z\nn: '007'\no: !!str 12\np: 1e3\n",
    "nested: {a: [1, 2, {b: [x, y]}], c: {d: {e: f}}}\nempty: {}\nnone: []\n",
    "3: int key\n2.5: float key\ntrue: bool key\n~: null key\n",
    "anchored: &only [1, 2]\n",
    "text: |\n  line one\n  line two\nfolded: >\n  one\n  two\n",
]
BROKEN = [
    "a: [unclosed\n",
    "a: 1\n  b: 2\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_documents_load_as_with_the_safe_loader(text: str) -> None:
    assert load_yaml_mapping(text, "t", 10_000, "job spec") == yaml.safe_load(text)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_files_load_as_with_the_safe_loader(path: Path) -> None:
    text = path.read_bytes()
    expected = yaml.safe_load(text)
    if isinstance(expected, dict):
        assert load_yaml_mapping(text, "t", 1_000_000, "job spec") == expected


@pytest.mark.parametrize("text", BROKEN)
def test_broken_documents_are_refused_with_a_yaml_error(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)
    with pytest.raises(InvalidInput) as caught:
        load_yaml_mapping(text, "t", 10_000, "job spec")
    assert caught.value.code == "yaml_syntax"


REFUSED = [  # (document, code, field)
    ("x: &a [1, 2]\ny: *a\n", "yaml_alias", "y"),
    ("base: &b {cpus: 4}\nresources:\n  <<: *b\n", "yaml_tag", "resources"),
    ("dup: 1\nother: 0\ndup: 2\n", "yaml_duplicate", "dup"),
    ("[a, b]: unhashable key\n", "yaml_key", "(document)"),
    ("a: !!python/object:os.system x\n", "yaml_tag", "a"),
    ("a: !custom x\n", "yaml_tag", "a"),
    ("bin: !!binary aGVsbG8=\n", "yaml_tag", "bin"),
    ("s: !!set {a, b}\n", "yaml_tag", "s"),
    ('env: {A: "x\\0y"}\n', "bad_character", "env.A"),
    ('run: "\\ud800"\n', "yaml_syntax", ""),  # libyaml's own refusal
    ("priority: " + "9" * 5000 + "\n", "out_of_range", "priority"),
    ("deadline: 2026-02-30T00:00:00Z\n", "invalid_value", "deadline"),
    ("deadline: 9999-99-99\n", "invalid_value", "deadline"),
    ("deadline: 0000-01-01\n", "invalid_value", "deadline"),
    ("deep: " + "[" * 100 + "]" * 100 + "\n", "too_deep", "deep" + "[0]" * 31),
    ("deep: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", "too_deep", "deep" + ".a" * 31),
    (
        "deep:\n" + "".join("  " * i + "- \n" for i in range(1, 60)),
        "too_deep",
        "deep" + "[0]" * 31,
    ),
    # Deeper than libyaml's own limit (1,000), which it refuses first (PyYAML's C composer
    # crashed the process on this one: a segmentation fault, not an exception).
    ("deep: " + "[" * 50_000 + "]" * 50_000 + "\n", "yaml_syntax", ""),
]


@pytest.mark.parametrize(("text", "code", "field"), REFUSED, ids=lambda v: str(v)[:30])
def test_hostile_documents_are_refused_naming_the_field(text: str, code: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_yaml_mapping(text, "t", 1_000_000, "job spec")
    errors = caught.value.errors
    assert [(e.code, e.field) for e in errors] == [(code, field)]


def test_the_line_of_a_duplicate_key_or_alias_is_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_yaml_mapping("name: a\nrun: x\nname: b\n", "t", 10_000, "job spec")
    assert caught.value.errors[0].params["line"] == 3
    assert "line 3" in caught.value.errors[0].message("en")
    assert "第 3 行" in caught.value.errors[0].message("zh")


def test_an_alias_bomb_is_refused_at_its_first_alias() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(InvalidInput) as caught:
        load_yaml_mapping("\n".join(levels) + "\n", "t", 10_000, "job spec")
    assert (caught.value.errors[0].code, caught.value.errors[0].field) == ("yaml_alias", "a1[0]")
    assert caught.value.errors[0].params["line"] == 2


def _deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


JSON_TOO_DEEP = [  # (document, the field named): deeper than json's own guard, and not
    ('{"spec": ' + _deep(5000) + "}", "spec" + ".a" * 31),
    ('{"spec": ' + "[" * 50_000 + "]" * 50_000 + "}", "spec" + "[0]" * 31),
    ('{"env": {"A": ' + _deep(1000) + "}}", "env.A" + ".a" * 30),
    # strings holding brackets, commas, colons and escaped quotes do not mislead the walk
    ('{"x": [1, "a,b:[{", {"k\\"q": ' + "[" * 5000 + "]" * 5000 + "}]}", 'x[2].k"q' + "[0]" * 29),
    ('[{"a": 1}, {"b": 2, "c": ' + "[" * 3000 + "]" * 3000 + "}]", "[1].c" + "[0]" * 30),
]


@pytest.mark.parametrize(("text", "field"), JSON_TOO_DEEP, ids=lambda v: str(v)[:24])
def test_json_deeper_than_the_decoders_guard_is_refused_naming_the_field(
    text: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_json(text.encode(), "body")
    assert [(e.code, e.field, e.value) for e in caught.value.errors] == [
        ("too_deep", field, MAX_DEPTH + 1)
    ]
    # the same document within the decoder's guard is named the same way by the tree walk
    shallow = text.replace("[" * 5000, "[" * 40).replace("]" * 5000, "]" * 40)
    if shallow != text:
        with pytest.raises(InvalidInput) as walked:
            load_json(shallow.encode(), "body")
        assert walked.value.errors[0].field == field
