"""Operator and numerics conformance: each operator at each precision against float64 NumPy.

Inputs are drawn once (seeded), rounded to the precision under test, and the float64
reference is computed from the *rounded* inputs, so the error measured is the operator's
own. The error is norm-wise: ``max|y - ref| / max|ref|``. Tolerances (stated, not tuned
on any result): a few units of each format's rounding error times the operator's depth.

An operator the framework refuses at a precision (``not implemented for 'Half'``) fails
with that message: a job using it there would fail the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from suanli.evalsuite.device import Backend
from suanli.evalsuite.timing import item, skipped

KIND = "conformance"
TOLERANCE = {"fp32": 1e-5, "fp16": 5e-3, "bf16": 3e-2}
NUMPY_DTYPES = {"fp32": np.float32, "fp16": np.float16}
Arrays = list[np.ndarray]


def _inputs(op: str) -> Arrays:
    rng = np.random.default_rng(sum(op.encode()))  # fixed per operator, across runs
    shapes: dict[str, list[tuple[int, ...]]] = {
        "matmul": [(128, 512), (512, 128)],
        "softmax": [(64, 1024)],
        "layer_norm": [(64, 1024)],
        "rms_norm": [(64, 1024)],
        "gelu": [(64, 1024)],
        "silu": [(64, 1024)],
        "exp": [(64, 1024)],
        "log": [(64, 1024)],
        "sum": [(1 << 16,)],
        "cumsum": [(4096,)],
        "conv2d": [(2, 8, 16, 16), (16, 8, 3, 3)],
        "attention": [(2, 4, 64, 32), (2, 4, 64, 32), (2, 4, 64, 32)],
    }
    found = [rng.standard_normal(s) for s in shapes[op]]
    if op == "log":
        found = [np.abs(found[0]) + 0.1]
    if op == "exp":
        found = [np.clip(found[0], -4, 4)]
    return found


def _erf(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.vectorize(math.erf, otypes=[np.float64])(x))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return np.asarray(e / e.sum(-1, keepdims=True))


def _conv(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    win = np.lib.stride_tricks.sliding_window_view(
        np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3)
    )
    return np.asarray(np.einsum("bchwij,ocij->bohw", win, w))


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
    return np.asarray(_softmax(scores) @ v)


# The float64 reference of each operator, and the NumPy form tested at lower precision.
REFERENCE: dict[str, Callable[..., np.ndarray]] = {
    "matmul": lambda a, b: a @ b,
    "softmax": _softmax,
    "layer_norm": lambda x: (
        (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    ),
    "rms_norm": lambda x: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "exp": np.exp,
    "log": np.log,
    "sum": lambda x: np.asarray(x.sum()),
    "cumsum": np.cumsum,
    "conv2d": _conv,
    "attention": _attention,
}
NUMPY_OPS = ("matmul", "softmax", "layer_norm", "exp", "log", "sum", "cumsum")


def _torch_ops(torch: Any) -> dict[str, Callable[..., Any]]:
    F = torch.nn.functional  # noqa: N806 - PyTorch's convention
    return {
        "matmul": torch.matmul,
        "softmax": lambda x: torch.softmax(x, -1),
        "layer_norm": lambda x: F.layer_norm(x, x.shape[-1:], eps=1e-5),
        "rms_norm": lambda x: F.rms_norm(x, x.shape[-1:], eps=1e-6),
        "gelu": F.gelu,
        "silu": F.silu,
        "exp": torch.exp,
        "log": torch.log,
        "sum": torch.sum,
        "cumsum": lambda x: torch.cumsum(x, 0),
        "conv2d": lambda x, w: F.conv2d(x, w, padding=1),
        "attention": F.scaled_dot_product_attention,
    }


def run(backend: Backend, missing_torch: str | None) -> list[dict[str, Any]]:
    found = []
    for op in NUMPY_OPS:
        for dtype, kind in NUMPY_DTYPES.items():
            inputs = [a.astype(kind) for a in _inputs(op)]
            found.append(
                _check(
                    f"{op}_{dtype}",
                    op,
                    dtype,
                    "numpy",
                    lambda *a, op=op: REFERENCE[op](*a),
                    inputs,
                    lambda y: y,
                )
            )
    torch = backend.torch
    if torch is None:
        why = missing_torch or "PyTorch is not installed"
        return found + [
            skipped(f"{op}_{dtype}", KIND, "pytorch", why, op=op, dtype=dtype)
            for op in REFERENCE
            for dtype in TOLERANCE
        ]
    kinds = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    for op, call in _torch_ops(torch).items():
        for dtype, kind in kinds.items():
            inputs = [torch.from_numpy(a).to(backend.torch_device, kind) for a in _inputs(op)]
            found.append(
                _check(
                    f"{op}_{dtype}",
                    op,
                    dtype,
                    "pytorch",
                    call,
                    inputs,
                    lambda y: y.detach().double().cpu().numpy(),
                )
            )
    return found


def _check(
    name: str,
    op: str,
    dtype: str,
    framework: str,
    call: Callable[..., Any],
    inputs: list[Any],
    to_numpy: Callable[[Any], np.ndarray],
) -> dict[str, Any]:
    tolerance = TOLERANCE[dtype]
    reference_inputs = [np.asarray(to_numpy(a), dtype=np.float64) for a in inputs]
    try:
        got = np.asarray(to_numpy(call(*inputs)), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - an operator refused at a precision is the finding
        return item(
            name,
            KIND,
            framework,
            "failed",
            detail=f"{type(exc).__name__}: {exc}",
            op=op,
            dtype=dtype,
            tolerance=tolerance,
        )
    ref = REFERENCE[op](*reference_inputs)
    if got.shape != ref.shape:
        return item(
            name,
            KIND,
            framework,
            "failed",
            op=op,
            dtype=dtype,
            tolerance=tolerance,
            detail=f"shape {got.shape} where the reference has {ref.shape}",
        )
    if not np.all(np.isfinite(got)):
        return item(
            name,
            KIND,
            framework,
            "failed",
            op=op,
            dtype=dtype,
            tolerance=tolerance,
            detail="non-finite values (overflow or NaN)",
        )
    scale = float(np.max(np.abs(ref))) or 1.0
    error = float(np.max(np.abs(got - ref))) / scale
    status = "passed" if error <= tolerance else "failed"
    detail = "" if status == "passed" else f"error {error:.3g} > tolerance {tolerance:g}"
    return item(
        name,
        KIND,
        framework,
        status,
        value=error,
        unit="rel. error",
        detail=detail,
        op=op,
        dtype=dtype,
        tolerance=tolerance,
    )
