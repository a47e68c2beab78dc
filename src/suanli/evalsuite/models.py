"""Model steps: training throughput of three standard shapes and inference tokens/s.

Each model is built here with random weights (nothing downloaded) at one fixed size on
every backend, so a class's rate compares across accelerators: that is what placement
reads (``job_class`` below). The sizes are cut down from the originals so that the CPU
backend finishes in minutes; what was cut is in each ``detail``:

- ``cnn``: ResNet-18 (basic blocks 2-2-2-2, widths 64-512), 64x64 images, batch 8, SGD;
- ``encoder``: 2 BERT-base layers (hidden 768, 12 heads, FFN 3072), sequence 64, batch 2, AdamW;
- ``llama``: 4 Llama blocks (dim 512, 8 heads, SwiGLU 1376, RMSNorm, RoPE), vocabulary
  8,000, sequence 128, batch 2, AdamW; ``llama_infer`` decodes 32 tokens greedily after a
  64-token prompt with a KV cache, batch 1 (in-process: the platform has no serving engine).

On the repo's 2-core CI host, sizes twice to four times these took 307 s for the four
(under a load average of 12): these keep the whole suite within its 10-minute target.

The CPU runs FP32; accelerators run BF16 autocast (what training on them uses).
"""

from __future__ import annotations

import math
import time
from typing import Any

from suanli.evalsuite.device import Backend
from suanli.evalsuite.timing import failed, item, skipped

KIND = "models"
CLASS_PREFIX = "suanli-eval/"
TRAIN_STEPS = 2  # timed steps after one warm-up step
DECODE_TOKENS = 32

MODELS = {
    "cnn_train": ("resnet18-64px-b8-train", "samples/s"),
    "encoder_train": ("bert-base-2l-s64-b2-train", "samples/s"),
    "llama_train": ("llama-4l-d512-s128-b2-train", "samples/s"),
    "llama_infer": ("llama-4l-d512-decode32-b1", "tokens/s"),
}


def job_class(name: str) -> str:
    """The job class a model item measures (what a spec's ``job_class`` names)."""
    return CLASS_PREFIX + MODELS[name][0]


def run(backend: Backend) -> list[dict[str, Any]]:
    torch = backend.torch
    if torch is None:
        why = "PyTorch is not installed: the model steps need it"
        return [
            skipped(name, KIND, "numpy", why, job_class=job_class(name), unit=unit)
            for name, (_, unit) in MODELS.items()
        ]
    from suanli.evalsuite import nets  # noqa: PLC0415 - only with PyTorch

    found = []
    for name, (_, unit) in MODELS.items():
        try:
            rate, detail = _RUNNERS[name](backend, nets)
            found.append(
                item(
                    name,
                    KIND,
                    "pytorch",
                    "passed",
                    value=round(rate, 4),
                    unit=unit,
                    detail=detail,
                    job_class=job_class(name),
                    dtype=_dtype(backend),
                )
            )
        except Exception as exc:  # noqa: BLE001 - out of memory or an unsupported op: a finding
            found.append(failed(name, KIND, "pytorch", exc, job_class=job_class(name)))
    return found


def _dtype(backend: Backend) -> str:
    return "fp32" if backend.kind == "cpu" else "bf16"


def _train_rate(
    backend: Backend, model: Any, batch: Any, loss_of: Any, samples: int, optimizer: Any
) -> float:
    torch = backend.torch
    assert torch is not None  # noqa: S101 - run() checked
    autocast = torch.autocast(
        backend.torch_device, dtype=torch.bfloat16, enabled=backend.kind != "cpu"
    )

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = loss_of(model, batch)
        loss.backward()
        optimizer.step()

    step()
    backend.synchronize()
    start = time.perf_counter()
    for _ in range(TRAIN_STEPS):
        step()
    backend.synchronize()
    return samples * TRAIN_STEPS / (time.perf_counter() - start)


def _cnn(backend: Backend, nets: Any) -> tuple[float, str]:
    torch: Any = backend.torch
    dev = backend.torch_device
    model = nets.resnet18(classes=100).to(dev)
    x = torch.randn(8, 3, 64, 64, device=dev)
    y = torch.randint(0, 100, (8,), device=dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rate = _train_rate(
        backend,
        model,
        (x, y),
        lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1]),
        8,
        opt,
    )
    return rate, "ResNet-18, 64x64, batch 8, SGD"


def _encoder(backend: Backend, nets: Any) -> tuple[float, str]:
    torch: Any = backend.torch
    dev = backend.torch_device
    model = nets.encoder(layers=2, hidden=768, heads=12, ffn=3072, vocab=30522).to(dev)
    tokens = torch.randint(0, 30522, (2, 64), device=dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rate = _train_rate(backend, model, tokens, lambda m, b: m(b).float().pow(2).mean(), 2, opt)
    return rate, "BERT-base layers x2 (of 12), seq 64, batch 2, AdamW"


def _llama(backend: Backend, nets: Any) -> tuple[float, str]:
    torch: Any = backend.torch
    dev = backend.torch_device
    model = nets.llama(layers=4, dim=512, heads=8, ffn=1376, vocab=8000).to(dev)
    tokens = torch.randint(0, 8000, (2, 129), device=dev)

    def loss_of(m: Any, b: Any) -> Any:
        logits, _ = m(b[:, :-1])
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), b[:, 1:].flatten())

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    rate = _train_rate(backend, model, tokens, loss_of, 2, opt)
    return rate, "Llama blocks x4, dim 512, seq 128, batch 2, AdamW"


def _llama_infer(backend: Backend, nets: Any) -> tuple[float, str]:
    torch: Any = backend.torch
    dev = backend.torch_device
    model = nets.llama(layers=4, dim=512, heads=8, ffn=1376, vocab=8000).to(dev).eval()
    if backend.kind != "cpu":
        model = model.to(torch.bfloat16)
    prompt = torch.randint(0, 8000, (1, 64), device=dev)

    def decode() -> None:
        with torch.inference_mode():
            logits, cache = model(prompt)
            token = logits[:, -1:].argmax(-1)
            for _ in range(DECODE_TOKENS - 1):
                logits, cache = model(token, cache)
                token = logits[:, -1:].argmax(-1)

    decode()
    backend.synchronize()
    start = time.perf_counter()
    decode()
    backend.synchronize()
    seconds = time.perf_counter() - start
    if not math.isfinite(seconds) or seconds <= 0:
        raise RuntimeError("decode took no measurable time")
    return (
        DECODE_TOKENS / seconds,
        "Llama blocks x4, prompt 64, 32 tokens greedy, KV cache, batch 1",
    )


_RUNNERS = {
    "cnn_train": _cnn,
    "encoder_train": _encoder,
    "llama_train": _llama,
    "llama_infer": _llama_infer,
}
