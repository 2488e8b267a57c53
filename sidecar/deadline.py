"""A shared gate on the cores, let through earliest playback deadline first.

Every voiced stream runs its voice and lips in its own thread; left to the OS, a dozen threads
share two cores evenly, so a line just starting slows the lines already playing, and in a burst
of starts every stream falls behind its playback. Through the gate, at most `tokens` threads
work at once (one per core), and a freed token goes to the waiter whose next piece is due
first: a stream well ahead of its playback waits, one about to run dry goes next.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class DeadlineGate:
    """At most `tokens` holders at once; waiters enter in order of their deadline (any clock,
    the same for all callers), ties in order of arrival."""

    def __init__(self, tokens: int) -> None:
        if tokens < 1:
            raise ValueError(f"a gate needs at least one token, not {tokens}")
        self._free = tokens
        self._lock = threading.Lock()
        self._waiting: list[tuple[float, int, threading.Event]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        """Threads waiting for a token now."""
        with self._lock:
            return len(self._waiting)

    def acquire(self, deadline: float) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            heapq.heappush(self._waiting, (deadline, next(self._order), turn))
        turn.wait()  # release hands its token straight to the earliest waiter

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                heapq.heappop(self._waiting)[2].set()
            else:
                self._free += 1

    @contextmanager
    def held(self, deadline: float) -> Iterator[None]:
        self.acquire(deadline)
        try:
            yield
        finally:
            self.release()
