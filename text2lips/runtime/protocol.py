"""The interface between the decoding loop and an engine, in numpy only (no torch).

`StepResult` and `Backend` live here so that engines which never touch torch (onnxruntime,
the viseme baseline) can implement the protocol where torch is not installed;
text2lips.runtime.backend re-exports both beside the torch backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class Rows(Protocol):
    """Opaque per-backend batch state; `len(rows)` is the number of live utterances."""

    def __len__(self) -> int: ...


@dataclass
class StepResult:
    """What one step produced for every row, as numpy (the loop above is engine-agnostic)."""

    frames: np.ndarray
    """(B, 60) float32 displacements."""
    stop_prob: np.ndarray
    """(B,) gate probability."""
    at_end: np.ndarray
    """(B,) bool: attention's argmax is on the row's last symbol."""
    closure: np.ndarray | None = None
    """(B,) attention mass on the row's p, b and m letters (the closure rule's input); None
    from engines without attention."""


def attention_readout(weights: Any, last: Any, closers: Any) -> tuple[Any, Any]:
    """What the loop needs from one step's (B, L) attention weights, written once for every
    engine (numpy arrays and torch tensors alike): `at_end` (B,), whether each row's argmax is
    on its last symbol (`last`, (B,)), for the stop rule; and `closure` (B,), the float32
    attention mass on its p, b and m letters (`closers`, (B, L) float32), for the closure
    rule. fp16 weights are promoted to float32 by the product."""
    at_end = weights.argmax(1) >= last
    closure = (weights * closers).sum(1)
    return at_end, closure


class Backend(Protocol):
    """An engine: start rows for new texts, join and keep rows, step every row by one frame."""

    name: str

    def start(self, texts: list[list[int]]) -> Any: ...
    def join(self, rows: Any, new: Any) -> Any: ...
    def keep(self, rows: Any, index: list[int]) -> Any: ...
    def step(self, rows: Any) -> tuple[Any, StepResult]: ...

    # Optional, for engines with attention (None or absent otherwise):
    # attention(rows) -> (B, L) float32 numpy, the attention weights of the last step.
