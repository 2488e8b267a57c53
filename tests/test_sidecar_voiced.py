"""SpeakVoiced over real gRPC on loopback: the voice's audio and the lips in one ordered
stream, with the shipped default lip model and the real voices."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from helpers import StepClock

from sidecar.config import ConfigError, ServerConfig
from sidecar.logging import configure
from sidecar.server import BackgroundServer
from text2lips import Text2LipsError
from text2lips.runtime import Synthesizer
from text2lips.v1 import lipsync_pb2 as pb
from text2lips.v1 import lipsync_pb2_grpc as pb_grpc
from text2lips.voice.piper import piper_available

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[1]
MARKS = Path(__file__).parent / "data" / "marks"
needs_piper = pytest.mark.skipif(not piper_available(), reason="voice 'joe' not installed")


@pytest.fixture(scope="module")
def synth() -> Synthesizer:
    configure("warning")
    return Synthesizer.load(ROOT / "models" / "default")


@contextlib.contextmanager
def serving(synth: Synthesizer, clock: StepClock | None = None,
            **settings: object) -> Iterator[pb_grpc.LipSyncStub]:
    config = ServerConfig(host="127.0.0.1", port=0, **settings)  # type: ignore[arg-type]
    with BackgroundServer(config, synth, clock=clock) as srv, \
            grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
        yield pb_grpc.LipSyncStub(channel)


@pytest.fixture(scope="module")
def stub(synth) -> Iterator[pb_grpc.LipSyncStub]:
    with serving(synth, max_voiced=1) as s:
        yield s


def _request(text: str, **kw: object) -> pb.SpeakVoicedRequest:
    speak = pb.SpeakRequest(text=text, utterance_id="u1",
                            frame_rate=float(kw.pop("frame_rate", 0.0)))  # type: ignore[arg-type]
    return pb.SpeakVoicedRequest(speak=speak, **kw)  # type: ignore[arg-type]


@needs_piper
def test_realtime_voiced_stream_is_paced_on_the_servers_clock(synth):
    # On a clock that moves only when paced (decoding takes no clock time), every lip frame
    # waits exactly until its time_s after the first, and audio is never held back: each chunk
    # is sent before the first frame of its span, so a frame is never late behind audio made
    # ahead of it. An unpaced call never touches the clock.
    clock = StepClock()
    with serving(synth, clock=clock, max_voiced=1) as stub:
        req = _request("Hello there, put the book back.", voice="joe")
        req.speak.pacing = pb.PACING_REALTIME
        events = list(stub.SpeakVoiced(req))
        frames = [e.frame.time_s for e in events if e.HasField("frame")]
        assert frames[-1] > 1.0
        np.testing.assert_allclose(clock.sleeps, np.diff(frames), atol=1e-6)
        assert clock.t == pytest.approx(frames[-1])
        sent_at = 0.0  # the clock when each event went out: the latest frame time so far
        for e in events:
            if e.HasField("frame"):
                sent_at = e.frame.time_s
            else:
                assert sent_at <= e.audio.start_s + 1e-6, "audio sent after its start"
        list(stub.SpeakVoiced(_request("Hello there.", voice="joe")))  # not paced
        assert clock.t == pytest.approx(frames[-1])


@needs_piper
@pytest.mark.parametrize("rate", [0.0, 30.0])
def test_audio_and_frames_arrive_in_one_ordered_stream(stub, rate):
    text = "We found the map, but the last page was torn out."
    events = list(stub.SpeakVoiced(_request(text, voice="joe", frame_rate=rate)))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[0] == "audio" and kinds.count("audio") >= 2  # the first clause comes alone
    assert "frames" not in kinds  # no frame_batches: one frame per event, as old clients know
    audio_end, frames = 0.0, []
    out_rate = rate or 80.0
    for e in events:
        if e.HasField("audio"):
            a = e.audio
            assert a.utterance_id == "u1" and a.sample_rate == 22050
            assert a.start_s == pytest.approx(audio_end, abs=1e-9)  # contiguous, from t = 0
            audio_end += len(a.pcm16) / 2 / a.sample_rate
        else:
            f = e.frame
            assert f.time_s < audio_end + 1 / out_rate  # never ahead of its audio
            frames.append(f)
    assert [f.index for f in frames] == list(range(len(frames)))
    assert frames[0].time_s == 0.0 and frames[-1].last
    assert not any(f.last for f in frames[:-1])
    # They end together: within one output frame, plus the 80 fps grid's own rounding.
    assert abs(frames[-1].time_s - audio_end) <= 1 / out_rate + 1 / 80
    assert len(frames[0].landmarks) == 60 and len(frames[0].blendshapes) > 0
    pcm = np.frombuffer(b"".join(e.audio.pcm16 for e in events if e.HasField("audio")), "<i2")
    assert np.abs(pcm).max() > 3000


def _batched(events: list[pb.VoicedEvent]) -> tuple[list[pb.LipFrame], list[tuple[float, float]]]:
    """The frames of a frame_batches stream in order, checking each batch against the audio
    before it; returns the frames and the (start, end) of each audio chunk."""
    chunks: list[tuple[float, float]] = []
    frames: list[pb.LipFrame] = []
    for e in events:
        kind = e.WhichOneof("event")
        assert kind != "frame", "a single frame in a batched stream"
        if kind == "audio":
            a = e.audio
            chunks.append((a.start_s, a.start_s + len(a.pcm16) / 2 / a.sample_rate))
            continue
        batch = list(e.frames.frames)
        assert batch, "an empty batch"
        if chunks:  # every frame of the batch falls in the audio chunk of its first frame,
            # which was sent before it (the last frame may end the line up to a frame late)
            start, end = next(c for c in chunks[::-1] if c[0] <= batch[0].time_s + 1e-9)
            assert all(f.time_s < end + 1e-6 or f.last for f in batch), (start, end)
        else:
            assert batch[-1].time_s - batch[0].time_s < 0.5
        frames += batch
    return frames, chunks


@pytest.mark.parametrize("voice, rate", [("espeak", 0.0), ("espeak", 30.0)] + (
    [("joe", 0.0), ("joe", 30.0)] if piper_available() else []))
def test_frame_batches_hold_every_frame_once_after_its_audio(stub, voice, rate):
    # Opted in: the frames come in LipFrames events, each after the audio chunk it covers,
    # every frame once and in order, as many as the one-per-event stream sends (neither voice
    # says a line to the sample twice alike, so the frames are checked against the audio).
    text = "We found the map, but the last page was torn out."
    single = [e.frame for e in stub.SpeakVoiced(_request(text, voice=voice, frame_rate=rate))
              if e.HasField("frame")]
    events = list(stub.SpeakVoiced(_request(text, voice=voice, frame_rate=rate,
                                            frame_batches=True)))
    assert events[0].HasField("audio")
    frames, chunks = _batched(events)
    assert [f.index for f in frames] == list(range(len(frames)))
    assert frames[0].time_s == 0.0 and frames[-1].last
    assert not any(f.last for f in frames[:-1])
    assert abs(frames[-1].time_s - chunks[-1][1]) <= 1 / (rate or 80.0) + 1 / 80
    assert abs(len(frames) - len(single)) <= 0.05 * len(single)
    assert len(frames[0].landmarks) == 60 and len(frames[0].blendshapes) > 0
    batches = sum(e.HasField("frames") for e in events)
    assert len(chunks) <= batches < len(frames) / 5  # about one a chunk, never one a frame


@needs_piper
def test_realtime_frame_batches_go_out_at_their_first_frames_time(synth):
    # Each batch waits on the server's clock until its first frame is due; audio is not held.
    clock = StepClock()
    with serving(synth, clock=clock, max_voiced=1) as stub:
        req = _request("Hello there, put the book back.", voice="joe", frame_batches=True)
        req.speak.pacing = pb.PACING_REALTIME
        events = list(stub.SpeakVoiced(req))
        firsts = [e.frames.frames[0].time_s for e in events if e.HasField("frames")]
        frames, _ = _batched(events)
        assert len(firsts) >= 3 and frames[-1].last
        np.testing.assert_allclose(clock.sleeps, np.diff(firsts), atol=1e-6)
        sent_at = 0.0
        for e in events:
            if e.HasField("frames"):
                sent_at = e.frames.frames[0].time_s
            else:
                assert sent_at <= e.audio.start_s + 1e-6, "audio sent after its start"


def test_client_marks_give_frame_batches_of_half_a_second(stub):
    marks = pb.ClientMarks(format="polly", data=(MARKS / "polly.marks").read_text())
    events = list(stub.SpeakVoiced(_request("Bob bought a map, then met me.", marks=marks,
                                            frame_batches=True)))
    frames, chunks = _batched(events)
    assert not chunks and [f.index for f in frames] == list(range(round(1.90 * 80)))
    assert frames[-1].last and len(events) == 4  # 152 frames, 40 a batch


def test_client_marks_give_frames_and_no_audio(stub):
    marks = pb.ClientMarks(format="polly", data=(MARKS / "polly.marks").read_text())
    events = list(stub.SpeakVoiced(_request("Bob bought a map, then met me.", marks=marks)))
    assert all(e.HasField("frame") for e in events)
    assert len(events) == round(1.90 * 80) and events[-1].frame.last


@pytest.mark.parametrize("kw, message", [
    ({"voice": "bob"}, "unknown voice 'bob'"),
    ({"voice": "espeak", "marks": pb.ClientMarks(format="words", data="[]")}, "both time"),
    ({"marks": pb.ClientMarks(format="srt", data="x")}, "marks format 'srt'"),
    ({"marks": pb.ClientMarks(format="azure", data="{oops")}, "not azure marks"),
    ({"marks": pb.ClientMarks(format="words", data='[{"word": "Goodbye", "start": 0, "end": 0.4}]'
                              )}, "the text says 'hello', the marks 'goodbye'"),
])
def test_bad_requests_are_invalid_argument(stub, kw, message):
    with pytest.raises(grpc.RpcError) as e:
        list(stub.SpeakVoiced(_request("Hello.", **kw)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in e.value.details()


@pytest.mark.parametrize("voice", ["espeak", "none"] + (["joe"] if piper_available() else []))
def test_unsayable_text_is_invalid_argument(stub, voice):
    with pytest.raises(grpc.RpcError) as e:
        list(stub.SpeakVoiced(_request("🙂🙂 ✨", voice=voice)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "nothing speakable" in e.value.details()


def test_unknown_voice_names_the_voices_and_duration_is_refused(stub):
    with pytest.raises(grpc.RpcError) as e:
        list(stub.SpeakVoiced(_request("Hi.", voice="nope")))
    assert "espeak" in e.value.details() and "none" in e.value.details()
    req = _request("Hi.", voice="espeak")
    req.speak.target_duration_s = 2.0
    with pytest.raises(grpc.RpcError) as e:
        list(stub.SpeakVoiced(req))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_model_info_lists_the_voices(stub):
    info = stub.GetModelInfo(pb.GetModelInfoRequest())
    assert {"espeak", "none"} <= set(info.voices)
    assert info.default_voice in info.voices
    assert info.default_voice == ("joe" if piper_available() else "espeak")


def test_old_speak_still_works(stub):
    frames = list(stub.Speak(pb.SpeakRequest(text="Hello there.")))
    assert frames[-1].last and len(frames) > 10


def test_cancel_stops_the_voice_and_frees_the_slot(stub):
    """max_voiced=1: after a cancelled call the next one is served (the slot came back)."""
    long_text = " ".join(["The old mine has been sealed for years, and nobody remembers why."] * 8)
    call = stub.SpeakVoiced(_request(long_text, voice="espeak"))
    first = next(call)
    assert first.HasField("audio")
    call.cancel()
    deadline = time.monotonic() + 10
    while True:
        try:
            events = list(stub.SpeakVoiced(_request("Hi.", voice="none")))
            break
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert time.monotonic() < deadline, "the cancelled stream kept its slot"
            time.sleep(0.05)
    assert events[-1].frame.last


@needs_piper
def test_the_default_voice_loads_at_startup_not_on_the_first_line(synth):
    """joe takes seconds to load (its decoder's shapes are built): the server loads it in the
    background as it starts, so a game's first line does not wait for it."""
    config = ServerConfig(host="127.0.0.1", port=0)
    with BackgroundServer(config, synth) as srv:
        assert srv.sidecar.voice_preload is not None
        srv.sidecar.voice_preload.join(timeout=100)
        assert srv.sidecar.voiced.loaded == ("joe",)  # no SpeakVoiced has been made
    config = ServerConfig(host="127.0.0.1", port=0, preload_voice=0)
    with BackgroundServer(config, synth) as srv:
        assert srv.sidecar.voice_preload is None and srv.sidecar.voiced.loaded == ()
    with pytest.raises(ConfigError, match="preload_voice=2"):
        ServerConfig(preload_voice=2)


def test_missing_voice_package_stops_startup_naming_the_extra(synth, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda n, *a: None if n == "piper" else real(n, *a))
    with pytest.raises(Text2LipsError, match=r"text2lips\[voice\]"), serving(synth, voice="joe"):
        pass
    with pytest.raises(ConfigError, match="voice='bob'"):
        ServerConfig(voice="bob")
