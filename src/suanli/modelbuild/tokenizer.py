"""A byte-level BPE tokenizer (GPT-2's scheme, which llama.cpp implements as "gpt2"),
trained with ``tokenizers`` on the recipe's corpus: every byte is a token, so any text,
Chinese included, encodes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from suanli.modelbuild.recipe import SPECIAL_TOKENS, Recipe

TOKEN_NORMAL = 1  # llama.cpp's token types
TOKEN_CONTROL = 3


@dataclass(frozen=True, slots=True)
class Vocabulary:
    tokens: list[str]  # by id
    types: list[int]
    merges: list[str]  # "left right", by rank
    specials: dict[str, int]


def _lines(files: list[Path]) -> Iterator[str]:
    for path in files:
        yield from path.read_text(encoding="utf-8").splitlines()


def train(recipe: Recipe, root: Path) -> Vocabulary:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=recipe.vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_lines(recipe.corpus_files(root)), trainer=trainer)
    vocab = tokenizer.get_vocab()
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError("the trained vocabulary's ids are not 0..n-1")
    tokens = [t for t, _ in by_id]
    specials = {t: vocab[t] for t in SPECIAL_TOKENS}
    types = [TOKEN_CONTROL if t in specials else TOKEN_NORMAL for t in tokens]
    raw = json.loads(tokenizer.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else f"{m[0]} {m[1]}" for m in raw]
    return Vocabulary(tokens=tokens, types=types, merges=merges, specials=specials)
