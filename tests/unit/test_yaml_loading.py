"""The direct YAML path builds exactly what PyYAML's safe loader builds, and fails alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from suanli.domain.errors import InvalidInput
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
    "base: &b {cpus: 4, memory_gb: 16}\nresources:\n  <<: *b\n  nodes: 2\n",
    "x: &a [1, 2]\ny: *a\n",
    "1: int key\n2.5: float key\ntrue: bool key\n~: null key\n",
    "dup: 1\ndup: 2\n",
    "bin: !!binary aGVsbG8=\nset: !!set {a, b}\nomap: !!omap [{a: 1}, {b: 2}]\n",
    "text: |\n  line one\n  line two\nfolded: >\n  one\n  two\n",
]
BROKEN = [
    "[a, b]: unhashable key\n",
    "a: !!python/object:os.system x\n",
    "a: !custom x\n",
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


def test_an_alias_bomb_is_shared_not_expanded() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    data = load_yaml_mapping("\n".join(levels) + "\n", "t", 10_000, "job spec")
    assert data["a8"][0] is data["a7"]  # 10^9 strings if copied: built as PyYAML shares them
