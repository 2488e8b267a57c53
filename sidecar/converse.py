"""The Converse protocol without gRPC: one avatar's queue of utterances, spoken one after
another, with cancellation by id, of the current one, or of everything.

Every accepted utterance produces `started`, its frames, then `finished` (cancelled or not),
or `error` instead of `finished` if it fails; a rejected request produces only `error`.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

from sidecar.errors import RESOURCE_EXHAUSTED, error_code
from sidecar.utterance import OutFrame, SpeakSpec, Utterance


@dataclass(frozen=True)
class Cancel:
    """Cancel the utterance with this id (queued or speaking); empty: the one speaking."""

    utterance_id: str


@dataclass(frozen=True)
class CancelAll:
    """Cancel everything queued and the utterance speaking."""


@dataclass(frozen=True)
class Started:
    utterance_id: str


@dataclass(frozen=True)
class FrameOut:
    frame: OutFrame


@dataclass(frozen=True)
class Finished:
    utterance_id: str
    frames: int
    cancelled: bool


@dataclass(frozen=True)
class Failed:
    utterance_id: str
    code: int
    """google.rpc.Code."""
    message: str


Event = Started | FrameOut | Finished | Failed

MAX_PENDING_EVENTS = 256
"""Events a stream may have waiting for its client before its speaking stops reading frames:
a client that does not read holds this many, and the scheduler's handle the rest."""


class ConverseSession:
    """Queue, speak, cancel; events come out of `events()` in the order they happen.

    `validate` checks a SpeakSpec (raising InvalidRequest); `start` submits one to the
    scheduler (raising CapacityError when full); `on_end` sees each started utterance end
    (with its error, if any) for logs and metrics. The servicer feeds requests with `request()`
    and calls `input_closed()` when the client half-closes: queued utterances are still
    spoken, then the event stream ends.
    """

    def __init__(self, validate: Callable[[SpeakSpec], SpeakSpec],
                 start: Callable[[SpeakSpec], Utterance | Awaitable[Utterance]], max_queue: int,
                 on_end: Callable[[Utterance, BaseException | None], None] | None = None) -> None:
        self._validate = validate
        self._start = start
        self._on_end = on_end
        self._max_queue = max_queue
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queue: deque[SpeakSpec] = deque()
        self._current: Utterance | None = None
        self._wake = asyncio.Event()
        self._input_done = False
        self._drained = asyncio.Event()
        self._preparing: str | None = None  # id of the utterance being started
        self._cancel_preparing = False

    def request(self, action: SpeakSpec | Cancel | CancelAll | None) -> None:
        """Handle one client request (never raises: problems become error events)."""
        if isinstance(action, SpeakSpec):
            self._speak(action)
        elif isinstance(action, Cancel):
            self._cancel(action.utterance_id)
        elif isinstance(action, CancelAll):
            while self._queue:
                spec = self._queue.popleft()
                self._events.put_nowait(Finished(spec.utterance_id, 0, cancelled=True))
            if self._current is not None:
                self._current.cancel()
            self._cancel_preparing = self._preparing is not None

    def input_closed(self) -> None:
        self._input_done = True
        self._wake.set()

    async def events(self) -> AsyncIterator[Event]:
        while (event := await self._events.get()) is not None:
            if self._events.qsize() <= MAX_PENDING_EVENTS // 2:
                self._drained.set()
            yield event

    async def run(self) -> None:
        """Speak queued utterances in order until the input is closed and the queue empty."""
        try:
            while True:
                if not self._queue:
                    if self._input_done:
                        break
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                await self._speak_one(self._queue.popleft())
        finally:
            self.close()
            self._events.put_nowait(None)

    def close(self) -> None:
        """Cancel the utterance speaking (the stream is going away)."""
        if self._current is not None:
            self._current.cancel()

    def _speak(self, spec: SpeakSpec) -> None:
        # The id is fixed before validation, so even a rejection can be matched by the client.
        spec = replace(spec, utterance_id=spec.utterance_id or str(uuid.uuid4()))
        try:
            self._validate(spec)
        except Exception as exc:  # noqa: BLE001 -- reported to the client, stream goes on
            self._events.put_nowait(Failed(spec.utterance_id, error_code(exc), str(exc)))
            return
        if len(self._queue) >= self._max_queue:
            self._events.put_nowait(Failed(
                spec.utterance_id, RESOURCE_EXHAUSTED,
                f"this stream already has {len(self._queue)} utterances queued "
                f"(max {self._max_queue})",
            ))
            return
        self._queue.append(spec)
        self._wake.set()

    def _cancel(self, utterance_id: str) -> None:
        current = self._current
        if current is not None and utterance_id in ("", current.spec.utterance_id):
            current.cancel()
        if self._preparing is not None and utterance_id in ("", self._preparing):
            self._cancel_preparing = True
        if not utterance_id:
            return
        kept: deque[SpeakSpec] = deque()
        for spec in self._queue:
            if spec.utterance_id == utterance_id:
                self._events.put_nowait(Finished(utterance_id, 0, cancelled=True))
            else:
                kept.append(spec)
        self._queue = kept

    async def _speak_one(self, spec: SpeakSpec) -> None:
        uid = spec.utterance_id
        self._preparing, self._cancel_preparing = uid, False
        try:
            started = self._start(spec)
            utt = await started if inspect.isawaitable(started) else started
        except Exception as exc:  # noqa: BLE001 -- capacity or shutdown: tell the client
            self._events.put_nowait(Failed(uid, error_code(exc), str(exc)))
            return
        finally:
            self._preparing = None
        if self._cancel_preparing:  # cancelled while its text was being prepared
            utt.cancel()
            self._events.put_nowait(Finished(uid, 0, cancelled=True))
            return
        self._current = utt
        self._events.put_nowait(Started(uid))
        error: BaseException | None = None
        try:
            async for frame in utt.frames():
                if self._events.qsize() >= MAX_PENDING_EVENTS:
                    # The client is not reading: stop taking frames (backpressure).
                    self._drained.clear()
                    await self._drained.wait()
                self._events.put_nowait(FrameOut(frame))
        except Exception as exc:  # noqa: BLE001 -- decoder errors end this utterance only
            error = exc
            self._events.put_nowait(Failed(uid, error_code(exc), str(exc)))
        finally:
            self._current = None
            utt.cancel()
            if self._on_end is not None:
                self._on_end(utt, error)
        if error is None:
            self._events.put_nowait(Finished(uid, utt.sent, cancelled=not utt.finished))
