"""SpeakVoiced: a voice's audio and the lips on its timeline, in one ordered stream.

The voice and the lip model run in a worker thread (Piper and the lip model are blocking
numpy/onnxruntime work) that hands items to the event loop through a bounded queue; a client
that cancels sets a flag the worker checks between items, so the voice stops too. Voiced
streams are capped apart from the scheduler's batch (`max_streams`): RESOURCE_EXHAUSTED
beyond it.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import numpy as np

from sidecar.deadline import DeadlineGate
from sidecar.logging import get_logger
from sidecar.scheduler import CapacityError
from sidecar.utterance import InvalidRequest, OutFrame, Pacer, PacingClock, SpeakSpec
from text2lips import Text2LipsError
from text2lips.blendshapes import default_calibration, solve
from text2lips.runtime import Synthesizer
from text2lips.runtime.output import FrameOutput
from text2lips.runtime.synthesizer import Frame
from text2lips.voice import Voice, VoiceChunk, available_voices, default_voice, load_voice
from text2lips.voice.marks import MARK_FORMATS, MarksVoice, parse_marks

AUDIO_PIECE_S = 0.5
"""Longest audio message (0.5 s is 22 kB at 22,050 Hz)."""
SOLVE_BATCH = 8
"""Native frames whose blend shapes are solved together (0.1 s at 80 fps)."""
QUEUE_ITEMS = 64
"""Items a stream's worker may run ahead of its reader (then it waits: backpressure)."""
MAX_MARKS_CHARS = 1_000_000
"""Longest marks text accepted (a long line's ElevenLabs alignment is ~100 kB)."""
START_BUDGET_S = 1.0
"""A line not yet playing is due this long after it arrived (for the cores' gate). A late
start costs only latency, a late window in a playing line is a gap the listener hears, so a
burst of new lines waits for the windows of lines already playing (due 0.28 s after their
start): with 0.2 s, 12 streams starting together on 2 cores starved each other's second window
(4-6 of 12 real time); with 1.0 s, 12 of 12 (docs/voice.md). Alone, a line starts at once."""


@dataclass(frozen=True)
class AudioOut:
    """One audio chunk as a client receives it."""

    utterance_id: str
    pcm16: bytes
    sample_rate: int
    start_s: float


@dataclass(frozen=True)
class FramesOut:
    """Consecutive frames sent as one message (a request with `frame_batches`): those of the
    audio chunk just sent, or of 0.5 s when there is no audio (marks)."""

    frames: tuple[OutFrame, ...]

    @property
    def time_s(self) -> float:
        """When the batch's first frame shows: a realtime batch goes out then."""
        return self.frames[0].time_s


@dataclass(frozen=True)
class VoicedSpec:
    """A SpeakVoiced request as the core sees it."""

    speak: SpeakSpec
    voice: str = ""
    """Empty: the server's default voice."""
    marks_format: str = ""
    marks: str = ""
    frame_batches: bool = False
    """Frames in FramesOut batches, one per audio chunk; False: one OutFrame at a time."""


class _Cancelled(Exception):
    pass


class VoicedService:
    """The voices this server speaks with (loaded once, shared by every stream)."""

    def __init__(self, synth: Synthesizer, *, max_streams: int = 16, default: str | None = None,
                 threads: int | None = 1, gate: DeadlineGate | None = None,
                 clock=time.monotonic, pacing: PacingClock | None = None) -> None:
        self.synth = synth
        self._pacing = pacing
        """Paces realtime streams (audio by start_s, frames by time_s); None: the wall clock."""
        self.default = default or default_voice()
        names = available_voices()
        self.names = names if self.default in names else (self.default, *names)
        self._voices: dict[str, Voice] = {}
        self._lock = threading.Lock()
        self._threads = threads
        """Intra-op threads of each voice session. One: every stream runs its voice in its own
        worker thread, so streams fill the cores; a shared intra-op pool would make them
        queue behind each other (and spin)."""
        self._slots = max_streams
        self.active = 0
        self._gate = gate or DeadlineGate(len(os.sched_getaffinity(0)))
        """Every stream's voice and lip work goes through it, earliest playback deadline first
        (sidecar/deadline.py)."""
        self._clock = clock

    def check_installed(self) -> None:
        """At startup: the default voice's packages are there (VoiceUnavailable naming the
        extra if not). The voice itself loads in `preload` or on first use."""
        if self.default == "joe":
            from text2lips.voice.piper import require

            require()

    def preload(self) -> threading.Thread:
        """Load the default voice now, in the background (joe: ~3 s, its decoder's shapes
        built), so that a game's first line does not wait for it; a SpeakVoiced arriving
        meanwhile waits on this same load (the lock), not a second one. A failure is logged
        and the first request that needs the voice tries again and reports it."""

        def load() -> None:
            try:
                self.voice(self.default)
            except Exception as exc:  # noqa: BLE001 - a request will report it as a status
                get_logger().warning("voice preload failed", voice=self.default,
                                     error=str(exc))

        # Not a daemon: a process that exits while native code builds the voice aborts
        # (SIGABRT); the interpreter waits for the load instead (seconds, bounded).
        thread = threading.Thread(target=load, name="voice-preload")
        thread.start()
        return thread

    @property
    def loaded(self) -> tuple[str, ...]:
        """The voices loaded so far."""
        with self._lock:
            return tuple(self._voices)

    def voice(self, name: str) -> Voice:
        """The voice `name`, loaded on first use; InvalidRequest for a name not served."""
        if name not in self.names:
            raise InvalidRequest(f"unknown voice {name!r}; this server has "
                                 f"{', '.join(self.names)}")
        with self._lock:
            if name not in self._voices:
                t0 = time.perf_counter()
                self._voices[name] = load_voice(name, threads=self._threads)
                get_logger().info("voice loaded", voice=name,
                                  engine=getattr(self._voices[name], "engine", ""),
                                  seconds=round(time.perf_counter() - t0, 2))
            return self._voices[name]

    def check(self, spec: VoicedSpec) -> Voice:
        """The voice (or marks) of a request; InvalidRequest naming the problem."""
        if spec.speak.target_duration_s:
            raise InvalidRequest("target_duration_s must be 0 for SpeakVoiced: the voice (or "
                                 "the marks) give the timing")
        if spec.marks_format or spec.marks:
            if spec.voice not in ("", "none"):
                raise InvalidRequest(f"marks and voice {spec.voice!r} both time the lips; "
                                     "leave voice empty with marks")
            if spec.marks_format not in MARK_FORMATS:
                raise InvalidRequest(f"marks format {spec.marks_format!r}; use one of "
                                     f"{', '.join(MARK_FORMATS)}")
            if len(spec.marks) > MAX_MARKS_CHARS:
                raise InvalidRequest(f"marks have {len(spec.marks)} characters; the limit is "
                                     f"{MAX_MARKS_CHARS}")
            try:
                marks = MarksVoice(parse_marks(spec.marks, spec.marks_format))
                marks.check_text(spec.speak.text)
                return marks
            except Text2LipsError as exc:
                raise InvalidRequest(str(exc)) from None
        return self.voice(spec.voice or self.default)

    async def stream(self, spec: VoicedSpec,
                     voice: Voice) -> AsyncIterator[AudioOut | OutFrame | FramesOut]:
        """Audio chunks and frames in order; cancelling the iteration stops the voice work."""
        if self.active >= self._slots:
            raise CapacityError(f"the server is speaking {self.active} voiced lines, its "
                                "limit; retry shortly")
        self.active += 1
        loop = asyncio.get_running_loop()
        # Unbounded on the loop's side; the worker holds a slot per item in flight (QUEUE_ITEMS
        # of them), so a slow reader still stops the voice. Each item is one call_soon_threadsafe:
        # no task and no round trip per frame (a dozen streams send ~1,000 items a second).
        queue: asyncio.Queue = asyncio.Queue()
        slots = threading.Semaphore(QUEUE_ITEMS)
        stop = threading.Event()
        pacer = Pacer(spec.speak.realtime, self._pacing)

        def put(item: object) -> None:
            while not slots.acquire(timeout=0.5):
                if stop.is_set():
                    raise _Cancelled
            if stop.is_set():
                raise _Cancelled
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                try:
                    for item in self._items(spec, voice, stop):
                        put(item)
                    put(None)
                except _Cancelled:
                    raise
                except BaseException as exc:  # noqa: BLE001 -- handed to the caller
                    put(exc)
            except _Cancelled:
                pass  # the caller is gone

        worker = threading.Thread(target=work, name="voiced", daemon=True)
        worker.start()
        try:
            while True:
                item = await queue.get()
                slots.release()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                # Realtime pacing holds lip frames to their time. Audio goes out as soon as it is
                # made: a player must hold a chunk before its start to play it, and a chunk made
                # ahead would otherwise hold back the frames queued behind it. A batch goes out
                # at its first frame's time: a player holds the rest before they are due.
                if not isinstance(item, AudioOut):
                    await pacer.wait(item.time_s)
                yield item
        finally:
            stop.set()
            self.active -= 1

    def _items(self, spec: VoicedSpec, voice: Voice,
               stop: threading.Event) -> Iterator[AudioOut | OutFrame | FramesOut]:
        from text2lips.voice.lips import voiced

        sp = spec.speak
        options = sp.output()
        calibration = default_calibration(sp.speaker or None)
        out = FrameOutput(options, self.synth.info.frame_rate, calibration)
        batch: list[Frame] = []
        # Batched, up to 0.5 s of frames a pass: their blend shapes solved at once, one message.
        solve_n = (max(SOLVE_BATCH, round(AUDIO_PIECE_S * self.synth.info.frame_rate))
                   if spec.frame_batches else SOLVE_BATCH)
        ends: list[float] = []  # where each audio chunk sent ends (s), increasing
        heard = 0.0  # where the audio sent so far ends (s)
        arrived = self._clock()
        playing: float | None = None  # when the first audio was made: playback starts then
        due = 0.0  # playback time of the last frame made: the next one is due about then

        def deadline() -> float:
            return arrived + START_BUDGET_S if playing is None else playing + due

        def group(frames: Iterator[OutFrame]) -> Iterator[OutFrame | FramesOut]:
            # Batched: the frames of one pass through the gate, cut where an audio chunk ends
            # (frames never come before their audio, so each batch follows its chunk). A batch
            # kept open for the next pass waited for the gate again (with a dozen streams, up
            # to ~0.4 s) while its first frames came due.
            if not spec.frame_batches:
                yield from frames
                return
            pending: list[OutFrame] = []
            cut = 0.0  # the batch being filled takes frames before this time
            for o in frames:
                if pending and o.time_s >= cut - 1e-9:
                    yield FramesOut(tuple(pending))
                    pending = []
                if not pending:
                    after = bisect.bisect_right(ends, o.time_s + 1e-9)
                    cut = ends[after] if after < len(ends) else o.time_s + AUDIO_PIECE_S
                pending.append(o)
            if pending:
                yield FramesOut(tuple(pending))

        def weigh() -> list[np.ndarray | None]:
            # Blend shapes solved for the batch at once: per frame, the solve's numpy calls
            # cost more than the lip model (and hold the GIL every stream shares).
            if not batch:
                return []
            if not options.blendshapes:
                return [None] * len(batch)
            return list(solve(np.stack([f.landmarks for f in batch]), calibration))  # (B, 60)

        def solved(weights: list[np.ndarray | None]) -> Iterator[OutFrame]:
            for f, w in zip(batch, weights, strict=True):
                for o in out.push(f.landmarks, f.last, w, index=f.index, time_s=f.time_s):
                    yield OutFrame(sp.utterance_id, o.index, o.time_s, o.landmarks,
                                   _weights(o.blendshapes), o.last)
            batch.clear()

        rate = self.synth.info.frame_rate
        items = voiced(self.synth, voice, sp.text, sp.options())
        done = False
        while not done:
            # One pass through the gate: the voice's next window, or the lip frames up to the
            # next send and their blend shapes. A pass per frame cost each frame a wait on
            # the gate (and a hand-off of the interpreter lock) with a dozen streams queued.
            chunk: VoiceChunk | None = None
            with self._gate.held(deadline()):
                for item in items:
                    if isinstance(item, VoiceChunk):
                        chunk = item
                        break
                    batch.append(item)
                    due = item.time_s
                    # Sent at solve_n frames, and at the last frames of the audio sent so far
                    # (after them the voice works on its next window: nothing may wait on it).
                    near = item.last or (bool(ends) and item.time_s >= heard - 2 / rate)
                    if len(batch) >= solve_n or near:
                        break
                else:
                    done = True
                weights = weigh()
            if stop.is_set():  # the client went away: the voice stops at its next window
                return
            yield from group(solved(weights))
            if chunk is None:
                continue
            if playing is None:
                playing = self._clock()
            heard = chunk.end_s
            # In pieces: a whole espeak-ng line would pass the gRPC message limit, and a
            # client can start playing the first piece sooner.
            step = max(int(AUDIO_PIECE_S * chunk.sample_rate), 1)
            for a in range(0, len(chunk.audio), step):
                pcm = np.asarray(chunk.audio[a : a + step], "<i2")
                start = chunk.start_s + a / chunk.sample_rate
                ends.append(start + len(pcm) / chunk.sample_rate)
                yield AudioOut(sp.utterance_id, pcm.tobytes(), chunk.sample_rate, start)


def _weights(w: np.ndarray | None) -> np.ndarray:
    return np.zeros(0, np.float32) if w is None else np.asarray(w, np.float32)


def with_id(spec: VoicedSpec, utterance_id: str) -> VoicedSpec:
    return replace(spec, speak=replace(spec.speak, utterance_id=utterance_id))
