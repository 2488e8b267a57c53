"""Audio and lips on one clock: each voice chunk is followed by the lip frames of its phonemes,
rendered on the voice's own timeline, so frame i is at i / 80 s of the audio."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.runtime.synthesizer import Frame, SynthesisOptions, Synthesizer
from text2lips.text.timeline import PhonemeTimeline
from text2lips.voice import Voice, VoiceChunk


def voiced(
    synth: Synthesizer, voice: Voice, text: str, options: SynthesisOptions | None = None
) -> Iterator[VoiceChunk | Frame]:
    """VoiceChunks and Frames in time order: each chunk, then the frames of its time. Frames
    count on across chunks and the last has `last=True` (it is held back until the voice is
    done, one frame). A piece's frames are rendered as they are emitted, from the moment its
    timeline arrives (with its first audio), not all before the first is sent."""
    if not synth.timed and voice.name != "none":  # "none" lets such a model time itself
        raise Text2LipsError(
            f"model {synth.info.name!r} times itself and cannot follow a voice; use a timed "
            "model (models/default, viseme) or voice 'none'"
        )
    opts = options or SynthesisOptions()
    reference = synth.info.reference_for(opts.speaker, opts.reference)
    planned = 0  # frames of the pieces seen so far
    emitted = 0
    pieces: deque[Iterator[Frame]] = deque()
    held: Frame | None = None
    for chunk in voice.synthesize(text):
        yield chunk
        if chunk.timeline is not None:
            end = round((chunk.start_s + chunk.timeline.duration_s) * FRAME_RATE)
            if end > planned:
                pieces.append(_piece(synth, text, chunk.timeline, end - planned, planned, opts,
                                     reference))
                planned = end
        heard = chunk.end_s * FRAME_RATE  # frames up to the audio sent so far may go
        while pieces and emitted <= heard:
            frame = next(pieces[0], None)
            if frame is None:
                pieces.popleft()
                continue
            if held is not None:
                yield held
            held = frame
            emitted += 1
    for piece in pieces:
        for frame in piece:
            if held is not None:
                yield held
            held = frame
    if held is not None:
        yield replace(held, last=True)


def _piece(synth: Synthesizer, text: str, timeline: PhonemeTimeline, n: int, first: int,
           opts: SynthesisOptions, reference: np.ndarray) -> Iterator[Frame]:
    """The frames of one piece, numbered from `first`, with the closure and rest rules."""
    piece = _fit(timeline, n)
    frames: Iterator[Frame] = synth.stream(text, replace(opts, timeline=piece))
    if not synth.timed:  # a model that times itself says how many frames it makes
        done = list(frames)
        n, frames = len(done), iter(done)
    weights = closure_weights(piece, n) if opts.closure else None
    rest = rest_weights(piece, n)
    for i, f in enumerate(frames):
        if rest[i] > 0:
            f = _toward(f, reference, float(rest[i]))
        if weights is not None and weights[i] > 0:
            f = _closed(f, float(weights[i]))
        index = first + i
        yield replace(f, index=index, time_s=index / FRAME_RATE, last=False)


CLOSURE_HOLD_S = 0.04
"""How long after a p/b/m's onset the lips stay shut (at most the phoneme's length)."""
_UPPER, _LOWER = (13, 14, 15), (19, 18, 17)  # inner lip rows 61-63 and 67-65, facing pairs


def closure_weights(timeline: PhonemeTimeline, n_frames: int) -> np.ndarray:
    """(T,) how far to shut the inner lips at each frame: 1 from a p/b/m's onset for
    CLOSURE_HOLD_S (or its length), 0.5 on the frame either side. With a voice the onset is
    the audio's; a lip model's own closure lands a frame or three off it, which the eye sees
    as the sound coming from a mouth still open."""
    from text2lips.closure import BILABIAL_PHONEMES

    w = np.zeros(n_frames, np.float32)
    for p in timeline.phonemes:
        if p.phoneme not in BILABIAL_PHONEMES:
            continue
        a = int(round(p.start_s * FRAME_RATE))
        b = max(int(round(min(p.end_s, p.start_s + CLOSURE_HOLD_S) * FRAME_RATE)), a + 1)
        for i in (a - 1, b):
            if 0 <= i < n_frames:
                w[i] = max(w[i], 0.5)
        w[max(a, 0) : min(b, n_frames)] = 1.0
    return w


REST_PAUSE_S = 0.25
"""Pauses at least this long (and the end of every piece) bring the mouth back to rest."""
REST_RAMP_S = 0.12
"""How long the mouth takes to settle at rest, and to leave it before the next word."""


def rest_weights(timeline: PhonemeTimeline, n_frames: int) -> np.ndarray:
    """(T,) how far to pull the lips to the speaker's neutral shape: 0 -> 1 over REST_RAMP_S
    from the start of a long pause, back to 0 by its end (the next word's lips lead in);
    a pause that ends the piece stays at rest. A lip model left alone drifts in silence."""
    from text2lips.text.phonemes import PAUSE

    w = np.zeros(n_frames, np.float32)
    t = np.arange(n_frames) / FRAME_RATE
    last = len(timeline.phonemes) - 1
    for i, p in enumerate(timeline.phonemes):
        if p.phoneme != PAUSE or (p.end_s - p.start_s < REST_PAUSE_S and i != last) or i == 0:
            continue
        up = np.clip((t - p.start_s) / REST_RAMP_S, 0, 1)
        down = 1.0 if i == last else np.clip((p.end_s - t) / REST_RAMP_S, 0, 1)
        w = np.maximum(w, np.where((t >= p.start_s) & (t <= p.end_s), np.minimum(up, down), 0))
    if n_frames:
        w[-1] = 1.0  # every piece ends at rest: a voice chunk ends a sentence or a clause
    return w


def _toward(frame: Frame, reference: np.ndarray, w: float) -> Frame:
    """The frame moved toward the neutral shape (zero displacement) by w."""
    delta = w * (reference - frame.landmarks)
    disp = None if frame.displacement is None else frame.displacement * (1 - w)
    return replace(frame, landmarks=(frame.landmarks + delta).astype(np.float32),
                   displacement=disp)


def _closed(frame: Frame, w: float) -> Frame:
    """The frame with its facing inner-lip points moved toward their midpoints by w."""
    pts = frame.landmarks.reshape(20, 3)
    mid = (pts[list(_UPPER)] + pts[list(_LOWER)]) / 2
    delta = np.zeros_like(pts)
    delta[list(_UPPER)] = w * (mid - pts[list(_UPPER)])
    delta[list(_LOWER)] = w * (mid - pts[list(_LOWER)])
    delta = delta.reshape(-1)
    disp = None if frame.displacement is None else frame.displacement + delta
    return replace(frame, landmarks=(frame.landmarks + delta).astype(np.float32),
                   displacement=disp)


def _fit(timeline: PhonemeTimeline, n_frames: int) -> PhonemeTimeline:
    """The piece made to last exactly n frames (a pause added or a sub-frame warp)."""
    target = n_frames / FRAME_RATE
    if target >= timeline.duration_s:
        return timeline.padded(target)
    return timeline.scaled(target)


def speak_all(
    synth: Synthesizer, voice: Voice, text: str, options: SynthesisOptions | None = None
) -> tuple[np.ndarray, int, PhonemeTimeline, np.ndarray]:
    """The whole line: (N,) int16 audio, its rate, the timeline, (T, 60) landmarks."""
    from text2lips.voice import join

    chunks: list[VoiceChunk] = []
    frames: list[np.ndarray] = []
    for item in voiced(synth, voice, text, options):
        if isinstance(item, VoiceChunk):
            chunks.append(item)
        else:
            frames.append(item.landmarks)
    audio, rate, timeline = join(chunks)
    return audio, rate, timeline, np.stack(frames)
