"""The cores' gate: at most its tokens held at once, freed tokens to the earliest deadline."""

from __future__ import annotations

import threading

import pytest

from sidecar.deadline import DeadlineGate


def _queue(gate: DeadlineGate, deadlines: list[float],
           order: list[float]) -> list[threading.Thread]:
    """One thread per deadline, each queued on the gate before the next starts."""
    threads = []
    for d in deadlines:
        def run(d: float = d) -> None:
            with gate.held(d):
                order.append(d)
        t = threading.Thread(target=run)
        before = gate.waiting
        t.start()
        while gate.waiting == before:  # queued (no timing assumed: it waits until it is)
            threading.Event().wait(0.001)
        threads.append(t)
    return threads


def test_waiters_enter_earliest_deadline_first() -> None:
    gate = DeadlineGate(1)
    order: list[float] = []
    gate.acquire(0.0)
    threads = _queue(gate, [3.0, 1.0, 2.0, 1.0], order)
    gate.release()
    for t in threads:
        t.join(10)
    assert order == [1.0, 1.0, 2.0, 3.0]
    assert gate.waiting == 0


def test_no_more_holders_than_tokens() -> None:
    gate = DeadlineGate(2)
    gate.acquire(5.0)
    gate.acquire(6.0)  # both tokens out: a third waits, however early it is due
    order: list[float] = []
    (t,) = _queue(gate, [0.0], order)
    assert order == []
    gate.release()
    t.join(10)
    assert order == [0.0]
    gate.release()
    gate.acquire(1.0)  # tokens back: free entry again
    gate.acquire(1.0)
    assert gate.waiting == 0


def test_a_failing_holder_gives_its_token_back() -> None:
    gate = DeadlineGate(1)
    with pytest.raises(RuntimeError), gate.held(0.0):
        raise RuntimeError("voice failed")
    gate.acquire(0.0)  # would block forever if the token were lost
    gate.release()


def test_needs_a_token() -> None:
    with pytest.raises(ValueError, match="at least one token"):
        DeadlineGate(0)
