"""Write a tiny Llama-architecture model as GGUF: seeded random weights, the locally trained
tokenizer embedded, a chat template; cached by the recipe's hash.

The tensors follow llama.cpp's names and shapes for ``llama`` (NumPy shape (out, in); GGUF
stores the reverse): token embeddings, per block RMS norms, Q/K/V/O attention with grouped KV
heads, a SwiGLU feed-forward, the final norm and the output head. All float32: the model is a
few hundred kilobytes and needs no quantisation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

from suanli.modelbuild.recipe import CHAT_TEMPLATE, Recipe
from suanli.modelbuild.tokenizer import Vocabulary, train


@dataclass(frozen=True, slots=True)
class Built:
    path: Path  # the content-named file
    link: Path  # <name>.gguf, pointing at it
    digest: str
    fresh: bool  # built now (False: found in the cache)


def _tensors(recipe: Recipe, vocab_size: int) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(recipe.seed)
    head_dim = recipe.embedding // recipe.heads
    kv = recipe.kv_heads * head_dim

    def w(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * recipe.weight_std).astype(np.float32)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    e, f = recipe.embedding, recipe.feed_forward
    out: list[tuple[str, np.ndarray]] = [("token_embd.weight", w(vocab_size, e))]
    for i in range(recipe.layers):
        b = f"blk.{i}"
        out += [
            (f"{b}.attn_norm.weight", ones(e)),
            (f"{b}.attn_q.weight", w(e, e)),
            (f"{b}.attn_k.weight", w(kv, e)),
            (f"{b}.attn_v.weight", w(kv, e)),
            (f"{b}.attn_output.weight", w(e, e)),
            (f"{b}.ffn_norm.weight", ones(e)),
            (f"{b}.ffn_gate.weight", w(f, e)),
            (f"{b}.ffn_up.weight", w(f, e)),
            (f"{b}.ffn_down.weight", w(e, f)),
        ]
    out += [("output_norm.weight", ones(e)), ("output.weight", w(vocab_size, e))]
    return out


def write(recipe: Recipe, vocab: Vocabulary, path: Path) -> None:
    if recipe.embedding % recipe.heads or recipe.heads % recipe.kv_heads:
        raise ValueError("embedding must divide into heads, and heads into KV heads")
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(recipe.name)
    writer.add_context_length(recipe.context)
    writer.add_embedding_length(recipe.embedding)
    writer.add_block_count(recipe.layers)
    writer.add_feed_forward_length(recipe.feed_forward)
    writer.add_head_count(recipe.heads)
    writer.add_head_count_kv(recipe.kv_heads)
    writer.add_rope_dimension_count(recipe.embedding // recipe.heads)
    writer.add_layer_norm_rms_eps(recipe.rms_eps)
    writer.add_vocab_size(len(vocab.tokens))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    writer.add_token_merges(vocab.merges)
    writer.add_bos_token_id(vocab.specials["<|endoftext|>"])
    writer.add_eos_token_id(vocab.specials["<|im_end|>"])
    writer.add_pad_token_id(vocab.specials["<|endoftext|>"])
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)
    for name, tensor in _tensors(recipe, len(vocab.tokens)):
        writer.add_tensor(name, tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def build(recipe: Recipe, root: Path, out_dir: Path) -> Built:
    """The model for ``recipe`` under ``out_dir``, built only if no file has its hash."""
    digest = recipe.digest(root)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o755)  # noqa: S103 - tenant users read models from here
    path = out_dir / f"{recipe.name}-{digest[:16]}.gguf"
    link = out_dir / f"{recipe.name}.gguf"
    fresh = not path.is_file()
    if fresh:
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        try:
            write(recipe, train(recipe, root), tmp)
            os.chmod(tmp, 0o644)
            tmp.replace(path)  # whole or absent, whatever stops the build
        finally:
            tmp.unlink(missing_ok=True)
    if not link.is_symlink() or os.readlink(link) != path.name:
        tmp_link = out_dir / f".{recipe.name}.link{os.getpid()}"
        tmp_link.unlink(missing_ok=True)
        tmp_link.symlink_to(path.name)
        tmp_link.replace(link)
    return Built(path=path, link=link, digest=digest, fresh=fresh)
