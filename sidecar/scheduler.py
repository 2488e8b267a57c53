"""One decode loop per device: a thread steps a BatchDecoder while any utterance is live and
hands each frame, with its blend-shape weights, to the asyncio side of its call (continuous
batching, bounded admission)."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.blendshapes import (
    BlendshapeCalibration,
    BlendshapeSmoother,
    default_calibration,
    solve,
)
from text2lips.runtime import Frame, SynthesisOptions, Synthesizer

LONG_SYMBOLS = 256
"""An utterance whose (normalised) text is longer than this is long: long ones may hold only
`max_long` batch slots, so the other slots stay free for short lines (an NPC's sentence never
waits behind someone's 2,000-character monologue)."""


class CapacityError(Text2LipsError):
    """Every batch slot and every queue place is taken (RESOURCE_EXHAUSTED)."""


class SchedulerClosed(Text2LipsError):
    """The server is shutting down (UNAVAILABLE)."""


class DecodeFailure(Exception):
    """The decoder itself failed (a bug or a broken backend, not the caller's input): INTERNAL."""


@dataclass
class UtteranceStats:
    """Timings of one utterance, for logs and metrics."""

    submitted: float
    """time.monotonic() when the call asked for it."""
    first_frame: float | None = None
    """time.monotonic() when its first frame was decoded."""
    frames: int = 0
    """Native frames decoded so far."""
    decode_s: float = 0.0
    """Wall time of the batch steps it took part in (shared steps count fully: it waited them)."""

    @property
    def time_to_first_frame_s(self) -> float | None:
        return None if self.first_frame is None else self.first_frame - self.submitted

    @property
    def rtf(self) -> float | None:
        """Decode time / audio time: below 1 is faster than real time."""
        return self.decode_s / (self.frames / FRAME_RATE) if self.frames else None


@dataclass(frozen=True)
class Decoded:
    """A native frame and its (unsmoothed) blend-shape weights."""

    frame: Frame
    blendshapes: np.ndarray
    """(len(BLENDSHAPE_NAMES),) float32 in [0, 1], solved on this frame's landmarks (and
    smoothed, when its handle has a smoother)."""


_DONE = object()  # end of stream marker in a handle's queue


class Reservation:
    """One place of the scheduler's capacity, held from admission until the call stops sending
    (not merely until its last frame is decoded): `release()` gives it back, once."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._scheduler._release()


class UtteranceHandle:
    """The asyncio side of one utterance: iterate it for its native frames, cancel() to leave."""

    def __init__(self, key: int, loop: asyncio.AbstractEventLoop, scheduler: Scheduler,
                 calibration: BlendshapeCalibration, reservation: Reservation) -> None:
        self.key = key
        self.reservation = reservation
        self.loop = loop
        self.calibration = calibration
        self.stats = UtteranceStats(submitted=time.monotonic())
        self.cancelled = False
        self.long = False
        """Its text is longer than LONG_SYMBOLS (set by submit)."""
        self.smoother: BlendshapeSmoother | None = None
        """Set before the first step when the call is sent at the native rate: its weights are
        then smoothed on the decode thread, all such calls of a step at once."""
        self._scheduler = scheduler
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    def __aiter__(self) -> UtteranceHandle:
        return self

    async def __anext__(self) -> Decoded:
        item = await self._queue.get()
        if item is _DONE:
            # Keep answering "done" to later reads instead of blocking forever.
            self._queue.put_nowait(_DONE)
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._queue.put_nowait(_DONE)
            raise item
        assert isinstance(item, Decoded)
        return item

    def cancel(self) -> None:
        """Leave the batch at the next step and give the capacity back now; iteration ends now.
        Call from the event loop."""
        self.reservation.release()
        if self.cancelled:
            return
        self.cancelled = True
        self._scheduler.cancel(self.key)
        self._queue.put_nowait(_DONE)

    def release(self) -> None:
        """The call has stopped sending (finished or not): its capacity is free."""
        self.reservation.release()

    # Called on the event loop thread (via call_soon_threadsafe) by the decode thread.
    def _put(self, item: object) -> None:
        if not self.cancelled:
            self._queue.put_nowait(item)


class StepGate:
    """Holds the decode loop before each step until allowed: lets a test observe the order of
    decoding and delivery deterministically. Production servers run without one."""

    def __init__(self) -> None:
        self._permits = threading.Semaphore(0)
        self._open = threading.Event()

    def allow(self, steps: int = 1) -> None:
        """Let `steps` more steps run."""
        self._permits.release(steps)

    def open(self) -> None:
        """Stop gating: every later step runs at once."""
        self._open.set()
        self._permits.release()

    def _wait(self, stopping: threading.Event) -> bool:
        """Block until a step may run; False when the scheduler is closing instead."""
        while not self._open.is_set():
            if self._permits.acquire(timeout=0.05):
                return True
            if stopping.is_set():
                return False
        return True


class Scheduler:
    """Continuous batching over one Synthesizer: join and leave between steps.

    At most `max_batch` utterances decode together, and at most `max_long` of them long ones
    (texts over LONG_SYMBOLS; default half the batch); up to `max_queue` more wait for a slot
    in arrival order (a short one passes long ones that wait only for a long slot). Capacity
    (`max_batch + max_queue`) counts every call from admission until it stops sending,
    including calls still preparing their text and calls whose frames are all decoded but not
    yet sent; beyond it `reserve`/`submit` raise CapacityError. All
    BatchDecoder calls happen on the decode thread (it is single-threaded); other threads only
    touch the lock-guarded inbox, cancel set and capacity count.
    """

    def __init__(
        self, synth: Synthesizer, *, max_batch: int = 32, max_queue: int = 64,
        max_long: int | None = None, gate: StepGate | None = None,
    ) -> None:
        self.synth = synth
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.max_long = max(1, max_batch // 2) if max_long is None else max_long
        self.decoder = synth.batch_decoder(max_batch=max_batch)
        self._gate = gate
        self._cv = threading.Condition()
        self._inbox: deque[tuple[UtteranceHandle, str, SynthesisOptions | None]] = deque()
        self._cancel: set[int] = set()
        self._live: dict[int, UtteranceHandle] = {}  # in the batch decoder (decode thread only)
        self._n_live = 0  # len(_live), readable under the lock by other threads
        self._open = 0  # reservations held (admitted calls that have not stopped sending)
        self._keys = itertools.count()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="text2lips-decode", daemon=True)
        self._thread.start()

    # --- any thread ----------------------------------------------------------------------

    def reserve(self) -> Reservation:
        """Take one place of capacity (CapacityError when none is left)."""
        with self._cv:
            if self._stopping.is_set():
                raise SchedulerClosed("the server is shutting down")
            if self._open >= self.max_batch + self.max_queue:
                raise CapacityError(
                    f"server at capacity: {self._open} calls open, {self._n_live} utterances "
                    f"decoding and {len(self._inbox)} waiting (max {self.max_batch} + "
                    f"{self.max_queue})"
                )
            self._open += 1
        return Reservation(self)

    def _release(self) -> None:
        with self._cv:
            self._open -= 1

    @property
    def open_calls(self) -> int:
        """Reservations held: calls admitted that have not stopped sending."""
        with self._cv:
            return self._open

    def submit(self, text: str, options: SynthesisOptions | None = None,
               calibration: BlendshapeCalibration | None = None,
               loop: asyncio.AbstractEventLoop | None = None,
               reservation: Reservation | None = None,
               smoother: BlendshapeSmoother | None = None) -> UtteranceHandle:
        """Queue an utterance; frames arrive on the returned handle (iterate it on `loop`).

        `calibration` maps its lips to blend shapes (default: the average speaker's).
        `reservation` is the capacity taken by `reserve()` (default: taken here); the handle
        gives it back on `cancel()`/`release()`. `smoother`: smooth its weights on the decode
        thread (calls sent at the native rate).
        """
        loop = loop or asyncio.get_running_loop()
        calibration = calibration or default_calibration()
        reservation = reservation or self.reserve()
        with self._cv:
            if self._stopping.is_set():
                reservation.release()
                raise SchedulerClosed("the server is shutting down")
            handle = UtteranceHandle(next(self._keys), loop, self, calibration, reservation)
            handle.smoother = smoother
            handle.long = len(text) > LONG_SYMBOLS
            self._inbox.append((handle, text, options))
            self._cv.notify()
        return handle

    def cancel(self, key: int) -> None:
        """Remove an utterance (queued or decoding) before the next step."""
        with self._cv:
            self._cancel.add(key)
            self._cv.notify()

    @property
    def pending_cancels(self) -> int:
        """Cancellations not yet applied (they are applied before the next step)."""
        with self._cv:
            return len(self._cancel)

    @property
    def load(self) -> tuple[int, int]:
        """(utterances decoding, utterances waiting)."""
        with self._cv:
            return self._n_live, len(self._inbox)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the decode thread; utterances still live end with SchedulerClosed."""
        with self._cv:
            self._stopping.set()
            self._cv.notify()
        self._thread.join(timeout)

    # --- decode thread -------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cv:
                while not (self._stopping.is_set() or self._inbox or self._cancel or self._live):
                    self._cv.wait()
            # A gate holds everything that changes the batch, so a test sees one step at a time.
            if self._gate is not None and not self._gate._wait(self._stopping):
                break
            with self._cv:
                if self._stopping.is_set():
                    break
                cancels, self._cancel = self._cancel, set()
                if cancels:
                    self._inbox = deque(x for x in self._inbox if x[0].key not in cancels)
            # Cancelled ones leave first: their slots are free for this step's admissions.
            for key in cancels:
                if self._live.pop(key, None) is not None:
                    self.decoder.remove(key)
            with self._cv:
                admit = self._admissions()
            for handle, text, options in admit:
                try:
                    self.decoder.add(handle.key, text, options)
                except Text2LipsError as exc:  # unusable text or speaker: the caller's fault
                    self._send(handle, exc)
                    continue
                except Exception as exc:  # noqa: BLE001 -- never let one request kill the loop
                    self._send(handle, DecodeFailure(f"could not start utterance: {exc!r}"))
                    continue
                self._live[handle.key] = handle
            with self._cv:
                self._n_live = len(self._live)
            if self._live:
                self._step()
                # Let the event loop have the interpreter lock between steps. A decode running
                # ahead (a phoneme-timed line is ~0.7 ms of Python a frame) otherwise keeps it,
                # and paced frames went out in bursts 30-45 ms apart for a call's first 250 ms.
                time.sleep(0)
        self._shutdown()

    def _admissions(self) -> list[tuple[UtteranceHandle, str, SynthesisOptions | None]]:
        """Take what may join the batch from the inbox (under the lock): arrival order, except
        that a long utterance waits while `max_long` long ones decode and short ones behind
        it go first."""
        free = self.max_batch - len(self._live)
        if not self._inbox or free <= 0:
            return []
        long_slots = self.max_long - sum(h.long for h in self._live.values())
        admit, passed = [], []
        while self._inbox and len(admit) < free:
            item = self._inbox.popleft()
            if item[0].long:
                if long_slots <= 0:
                    passed.append(item)
                    continue
                long_slots -= 1
            admit.append(item)
        self._inbox.extendleft(reversed(passed))
        return admit

    def _step(self) -> None:
        t0 = time.monotonic()
        try:
            results = self.decoder.step()
            live = [(self._live[key], frame) for key, frame in results if key in self._live]
            weights = self._blendshapes(live)
        except Exception as exc:  # noqa: BLE001 -- fail the batch, keep serving
            failure = DecodeFailure(f"decoder step failed: {exc!r}")
            for handle in self._live.values():
                self._send(handle, failure)
            self._live.clear()
            self.decoder = self.synth.batch_decoder(max_batch=self.max_batch)
            with self._cv:
                self._n_live = 0
            return
        now = time.monotonic()
        step_s = now - t0
        # One wake-up of each event loop per step, not one per frame.
        batches: dict[asyncio.AbstractEventLoop, list[tuple[UtteranceHandle, object]]] = {}
        for (handle, frame), w in zip(live, weights, strict=True):
            st = handle.stats
            if st.first_frame is None:
                st.first_frame = now
            st.frames += 1
            st.decode_s += step_s
            batch = batches.setdefault(handle.loop, [])
            # The displacement is not sent: dropping it halves what an unread call holds.
            batch.append((handle, Decoded(replace(frame, displacement=None), w)))
            if frame.last:
                del self._live[handle.key]
                batch.append((handle, _DONE))
        with self._cv:
            self._n_live = len(self._live)
        for loop, items in batches.items():
            self._deliver(loop, items)

    @staticmethod
    def _blendshapes(live: list[tuple[UtteranceHandle, Frame]]) -> list[np.ndarray]:
        """Solve the whole step at once per calibration: one solve() of 64 frames costs about
        as much as one of a single frame (numpy overhead), so this is what scales."""
        out: list[np.ndarray] = [np.empty(0, np.float32)] * len(live)
        groups: dict[int, list[int]] = {}
        for i, (handle, _) in enumerate(live):
            groups.setdefault(id(handle.calibration), []).append(i)
        for rows in groups.values():
            lips = np.stack([live[i][1].landmarks for i in rows])  # (n, 60)
            weights = solve(lips, live[rows[0]][0].calibration)  # (n, K)
            for i, w in zip(rows, weights, strict=True):
                out[i] = w
        smoothed = [i for i, (handle, _) in enumerate(live) if handle.smoother is not None]
        if smoothed:
            # One One-Euro update for every native-rate call of the step (not one per frame on
            # the event loop: that was most of the loop's work per frame).
            rows = np.stack([out[i] for i in smoothed])  # (m, K)
            new = BlendshapeSmoother.step_many(
                [live[i][0].smoother for i in smoothed], rows)  # type: ignore[misc]
            for i, w in zip(smoothed, new, strict=True):
                out[i] = w
        return out

    def _send(self, handle: UtteranceHandle, item: object) -> None:
        self._deliver(handle.loop, [(handle, item)])

    @staticmethod
    def _deliver(loop: asyncio.AbstractEventLoop,
                 items: list[tuple[UtteranceHandle, object]]) -> None:
        def put_all() -> None:
            for handle, item in items:
                handle._put(item)

        try:
            loop.call_soon_threadsafe(put_all)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            pass

    def _shutdown(self) -> None:
        closed = SchedulerClosed("the server is shutting down")
        with self._cv:
            waiting = [h for h, _, _ in self._inbox]
            self._inbox.clear()
        for handle in [*self._live.values(), *waiting]:
            self._send(handle, closed)
            self.decoder.remove(handle.key)
        self._live.clear()
        with self._cv:
            self._n_live = 0
