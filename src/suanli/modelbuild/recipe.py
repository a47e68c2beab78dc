"""What a tiny model is made of: sizes, seed, tokenizer and corpus; its hash names the output."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Bumped when the builder writes different bytes for the same recipe.
BUILDER_VERSION = 1
# Special tokens of the chat format (ChatML-like); the template below renders with them.
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True, slots=True)
class Recipe:
    """A tiny Llama: small enough to answer in milliseconds per token on one CPU core."""

    name: str = "tiny-llama"
    seed: int = 20231
    vocab_size: int = 2048
    embedding: int = 64
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    feed_forward: int = 192
    context: int = 4096
    rms_eps: float = 1e-5
    weight_std: float = 0.02
    # The tokenizer's training text: files of the repository, in this order.
    corpus: tuple[str, ...] = field(default=("README.md", "docs/*.md", "docs/adr/*.md"))

    def corpus_files(self, root: Path) -> list[Path]:
        files: list[Path] = []
        for pattern in self.corpus:
            found = sorted(p for p in root.glob(pattern) if p.is_file())
            files += [p for p in found if p not in files]
        if not files:
            raise FileNotFoundError(f"no corpus file under {root} matches {list(self.corpus)}")
        return files

    def digest(self, root: Path) -> str:
        """The recipe's hash: its fields, the builder's version and the corpus's bytes."""
        h = hashlib.sha256()
        h.update(json.dumps({**asdict(self), "builder": BUILDER_VERSION}, sort_keys=True).encode())
        for path in self.corpus_files(root):
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
        return h.hexdigest()
