"""The gRPC sidecar, for real: an in-process server on a free 127.0.0.1 port serving a tiny
random-weight model, called through the generated client stubs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from helpers import WAIT_S, StepClock, wait_until

from sidecar.config import ConfigError, ServerConfig, from_args
from sidecar.logging import configure
from sidecar.scheduler import StepGate
from sidecar.server import SERVICE_NAME, BackgroundServer
from sidecar.utterance import MonotonicClock, Pacer
from text2lips import __version__
from text2lips.blendshapes import (
    BLENDSHAPE_NAMES,
    BlendshapeSmoother,
    default_calibration,
    solve,
)
from text2lips.runtime import Synthesizer
from text2lips.testing import tiny_test_model
from text2lips.v1 import lipsync_pb2 as pb
from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

pytestmark = pytest.mark.timeout(60)

TEXT = "Hello there, friend."


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The gate never fires, so every utterance runs to its length bound: deterministic counts.
    return tiny_test_model(tmp_path_factory.mktemp("tiny") / "model", gate_bias=-10.0)


@pytest.fixture(scope="session")
def synth(model_dir: Path) -> Synthesizer:
    configure("warning")  # keep test output readable; the log format has its own test
    synth = Synthesizer.load(model_dir, backend="torch-cpu", threads=1)
    list(synth.stream("Warm up."))  # the first call pays for lazy imports; timing tests must not
    return synth


@contextlib.contextmanager
def serving(synth: Synthesizer, gate: StepGate | None = None, clock: StepClock | None = None,
            **settings: object) -> Iterator[BackgroundServer]:
    config = ServerConfig(host="127.0.0.1", port=0, **settings)  # type: ignore[arg-type]
    with BackgroundServer(config, synth, gate=gate, clock=clock) as srv:
        yield srv


@contextlib.contextmanager
def connect(srv: BackgroundServer) -> Iterator[pb_grpc.LipSyncStub]:
    with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
        yield pb_grpc.LipSyncStub(channel)


@pytest.fixture(scope="module")
def server(synth: Synthesizer) -> Iterator[BackgroundServer]:
    with serving(synth, max_batch=8, max_queue=8) as srv:
        yield srv


@pytest.fixture
def stub(server: BackgroundServer) -> Iterator[pb_grpc.LipSyncStub]:
    with connect(server) as s:
        yield s


def speak(stub: pb_grpc.LipSyncStub, text: str = TEXT, **fields: object) -> list[pb.LipFrame]:
    return list(stub.Speak(pb.SpeakRequest(text=text, **fields), timeout=WAIT_S))


def landmarks(frames: list[pb.LipFrame]) -> np.ndarray:
    return np.array([f.landmarks for f in frames], dtype=np.float32)  # (T, 60)


# --- Speak ---------------------------------------------------------------------------------


def test_speak_streams_ordered_frames(stub: pb_grpc.LipSyncStub, synth: Synthesizer) -> None:
    frames = speak(stub, utterance_id="npc-7")
    native = list(synth.stream(TEXT))
    assert len(frames) == len(native) > 10
    assert [f.index for f in frames] == list(range(len(frames)))
    times = np.array([f.time_s for f in frames])
    assert np.all(np.diff(times) > 0)
    np.testing.assert_allclose(times, np.arange(len(frames)) / 80.0)
    assert [f.last for f in frames] == [False] * (len(frames) - 1) + [True]
    assert {f.utterance_id for f in frames} == {"npc-7"}
    for f in frames:
        assert len(f.landmarks) == 60
        assert len(f.blendshapes) == len(BLENDSHAPE_NAMES)
        assert all(0.0 <= w <= 1.0 for w in f.blendshapes)
    # The sidecar adds nothing to the lips: they are the runtime's frames.
    lips = np.stack([f.landmarks for f in native])  # (T, 60)
    np.testing.assert_allclose(landmarks(frames), lips, atol=1e-3)
    # Blend shapes: solved on those lips, smoothed by a smoother that starts with the utterance.
    expected = BlendshapeSmoother()(solve(lips, default_calibration("neutral")))
    got = np.array([f.blendshapes for f in frames])
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_speak_assigns_an_utterance_id(stub: pb_grpc.LipSyncStub) -> None:
    frames = speak(stub, "Hi.")
    ids = {f.utterance_id for f in frames}
    assert len(ids) == 1
    uuid.UUID(ids.pop())  # a real uuid, not an empty string


def test_first_frame_arrives_before_the_last_is_decoded(synth: Synthesizer) -> None:
    gate = StepGate()
    with serving(synth, gate=gate) as srv, connect(srv) as stub:
        gate.allow(1)  # the decoder may run exactly one step
        call = stub.Speak(pb.SpeakRequest(text=TEXT), timeout=WAIT_S)
        first = next(call)
        # The client holds frame 0 while the decoder has run one step and still holds the
        # utterance: its final frame does not exist yet. A server that buffered would hang here.
        assert first.index == 0 and not first.last
        assert srv.scheduler.decoder.steps == 1
        assert len(srv.scheduler.decoder) == 1
        gate.open()
        rest = list(call)
    assert rest[-1].last and [f.index for f in rest] == list(range(1, len(rest) + 1))


def test_cancel_mid_stream_frees_the_batch_slot(synth: Synthesizer) -> None:
    gate = StepGate()
    with serving(synth, gate=gate) as srv, connect(srv) as stub:
        gate.allow(1)
        call = stub.Speak(pb.SpeakRequest(text=TEXT), timeout=WAIT_S)
        assert next(call).index == 0
        assert len(srv.scheduler.decoder) == 1
        call.cancel()
        wait_until(lambda: srv.scheduler.pending_cancels == 1, "the server to see the cancel")
        gate.allow(1)
        wait_until(lambda: len(srv.scheduler.decoder) == 0, "the slot to be freed")
        # It left before the next step: no further step ran for it.
        assert srv.scheduler.decoder.steps == 1
        assert srv.scheduler.load == (0, 0)
        gate.open()
        with connect(srv) as stub2:  # the freed server still serves
            assert speak(stub2, "Hi.")[-1].last


def test_deadline_exceeded_mid_utterance(synth: Synthesizer) -> None:
    # The step gate holds the decoder after one step, so the deadline passes mid-utterance
    # however fast or loaded the machine is: nothing here depends on elapsed time.
    gate = StepGate()
    with serving(synth, gate=gate) as srv, connect(srv) as stub:
        gate.allow(1)
        got: list[pb.LipFrame] = []
        with pytest.raises(grpc.RpcError) as err:
            for f in stub.Speak(pb.SpeakRequest(text=TEXT * 2, pacing=pb.PACING_REALTIME),
                                timeout=0.3):
                got.append(f)
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert [f.index for f in got] in ([], [0])  # at most the one frame the gate let through
        assert srv.scheduler.decoder.steps == 1
        gate.open()
        wait_until(lambda: srv.scheduler.load == (0, 0), "the expired call to leave the batch")


@pytest.mark.parametrize("rate", [0.0, 60.0])
def test_realtime_pacing_sends_each_frame_at_its_time(synth: Synthesizer, rate: float) -> None:
    # On a clock that moves only when paced, decoding takes no time: each frame must wait
    # exactly until its time_s after the first, so the stream lasts as long as the animation.
    clock = StepClock()
    with serving(synth, clock=clock) as srv, connect(srv) as stub:
        frames = speak(stub, "Hi there.", pacing=pb.PACING_REALTIME, frame_rate=rate)
        times = [f.time_s for f in frames]
        assert times[-1] > 0.2
        np.testing.assert_allclose(clock.sleeps, np.diff(times), atol=1e-6)
        assert clock.t == pytest.approx(times[-1])
        speak(stub, "Hi there.", frame_rate=rate)  # as fast as possible: never paced
        assert clock.t == pytest.approx(times[-1])


def test_pacer_waits_only_for_frames_ahead_of_its_clock() -> None:
    clock = StepClock()
    pacer = Pacer(True, clock)

    async def frames() -> None:
        await pacer.wait(0.0)  # the first frame starts the clock and goes at once
        clock.t += 0.5  # decoding fell half a second behind
        await pacer.wait(0.25)  # already late: sent at once
        await pacer.wait(0.75)  # 0.25 s ahead: waits for it
        await Pacer(False, clock).wait(9.0)  # not realtime: never waits

    asyncio.run(frames())
    assert clock.sleeps == [pytest.approx(0.25)]
    assert isinstance(Pacer(True).clock, MonotonicClock)  # serving paces on the wall clock


@pytest.mark.parametrize("rate", [60.0, 30.0])
def test_resampled_rates(stub: pb_grpc.LipSyncStub, synth: Synthesizer, rate: float) -> None:
    native = np.stack([f.landmarks for f in synth.stream(TEXT)])  # (N, 60)
    frames = speak(stub, frame_rate=rate)
    times = np.array([f.time_s for f in frames])
    np.testing.assert_allclose(times, np.arange(len(frames)) / rate)
    n = len(native)
    # Covers the native utterance, with less than one output frame to spare.
    assert (n - 1) / 80 <= times[-1] < (n - 1) / 80 + 1 / rate
    assert [f.last for f in frames].count(True) == 1 and frames[-1].last
    native_t = np.arange(n) / 80.0
    expected = np.stack([np.interp(times, native_t, native[:, j]) for j in range(60)], axis=1)
    np.testing.assert_allclose(landmarks(frames), expected, atol=1e-3)
    assert all(len(f.blendshapes) == len(BLENDSHAPE_NAMES) for f in frames)


@pytest.mark.parametrize(("target", "rate"), [(1.5, 0.0), (1.5, 60.0), (0.1, 30.0)])
def test_target_duration(stub: pb_grpc.LipSyncStub, synth: Synthesizer, target: float,
                         rate: float) -> None:
    native = np.stack([f.landmarks for f in synth.stream(TEXT)])
    frames = speak(stub, target_duration_s=target, frame_rate=rate)
    out_rate = rate or 80.0
    assert len(frames) == round(target * out_rate)
    np.testing.assert_allclose([f.time_s for f in frames], np.arange(len(frames)) / out_rate)
    assert frames[-1].last and not any(f.last for f in frames[:-1])
    # The warp keeps the start and end poses.
    np.testing.assert_allclose(frames[0].landmarks, native[0], atol=1e-3)
    np.testing.assert_allclose(frames[-1].landmarks, native[-1], atol=1e-3)


def test_reference_overrides_speaker(stub: pb_grpc.LipSyncStub, synth: Synthesizer) -> None:
    base = landmarks(speak(stub, "Hi.", speaker="neutral"))
    ref = synth.info.speakers["neutral"] + 5.0
    moved = landmarks(speak(stub, "Hi.", speaker="neutral", reference=ref.tolist()))
    np.testing.assert_allclose(moved - base, 5.0, atol=1e-3)


# --- bad input -----------------------------------------------------------------------------

BAD_REQUESTS = [
    (dict(text=""), "text is empty"),
    (dict(text=" \t\n "), "text is empty"),
    (dict(text="a" * 2001), "2001 characters; the limit is 2000"),
    (dict(text="hello\x00there"), "control character U\\+0000 at position 5"),
    (dict(text="ring \x07 bell"), "control character U\\+0007"),
    (dict(text="esc \x1b[31m"), "control character U\\+001B"),
    (dict(text="🙂🎉👍"), "nothing speakable in text"),
    (dict(text="*** ... !!! ♪♫ ★"), "nothing speakable in text"),
    (dict(text=TEXT, speaker="nobody"), "unknown speaker 'nobody'; known speakers: neutral"),
    (dict(text=TEXT, reference=[1.0] * 59), "reference has 59 values; it needs 60"),
    (dict(text=TEXT, reference=[1.0] * 61), "reference has 61 values"),
    (dict(text=TEXT, reference=[1.0] * 30 + [math.nan] + [1.0] * 29), "reference value 30 is nan"),
    (dict(text=TEXT, reference=[math.inf] + [1.0] * 59), "reference value 0 is inf"),
    (dict(text=TEXT, frame_rate=25.0), "frame_rate 25.0 is not supported"),
    (dict(text=TEXT, frame_rate=-30.0), "frame_rate -30.0 is not supported"),
    (dict(text=TEXT, frame_rate=math.nan), "frame_rate nan is not supported"),
    (dict(text=TEXT, target_duration_s=0.05), "target_duration_s 0.05.* is outside \\[0.1, 600\\]"),
    (dict(text=TEXT, target_duration_s=601.0), "target_duration_s 601.0 is outside"),
    (dict(text=TEXT, target_duration_s=-1.0), "target_duration_s -1.0 is outside"),
    (dict(text=TEXT, target_duration_s=math.nan), "target_duration_s nan is outside"),
    (dict(text=TEXT, target_duration_s=math.inf), "target_duration_s inf is outside"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_REQUESTS,
                         ids=[m[:28] for _, m in BAD_REQUESTS])
def test_bad_input_is_invalid_argument(stub: pb_grpc.LipSyncStub, fields: dict,
                                       message: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        speak(stub, **fields)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert re.search(message, err.value.details()), err.value.details()


def test_limits_at_their_edges_are_accepted(stub: pb_grpc.LipSyncStub) -> None:
    assert speak(stub, "Hi,\tyou\r\nthere.")[-1].last  # ordinary whitespace is fine
    assert len(speak(stub, "Hi.", target_duration_s=0.1)) == 8
    assert speak(stub, "Hi.", frame_rate=80.0)[-1].last


# --- capacity, health, reflection, auth ---------------------------------------------------


def test_over_capacity_is_resource_exhausted(synth: Synthesizer) -> None:
    gate = StepGate()
    with serving(synth, gate=gate, max_batch=1, max_queue=1) as srv, connect(srv) as stub:
        gate.allow(1)
        first = stub.Speak(pb.SpeakRequest(text=TEXT), timeout=WAIT_S)
        assert next(first).index == 0  # decoding, holding the only batch slot
        queued = stub.Speak(pb.SpeakRequest(text="Hi."), timeout=WAIT_S)
        wait_until(lambda: srv.scheduler.load == (1, 1), "the second call to queue")
        with pytest.raises(grpc.RpcError) as err:
            speak(stub, "One too many.")
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "capacity" in err.value.details()
        gate.open()
        assert list(first)[-1].last
        assert list(queued)[-1].last  # the queued one got its turn


def test_health_is_serving(server: BackgroundServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE_NAME):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=WAIT_S)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_service(server: BackgroundServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        services = db.get_services()
        assert SERVICE_NAME in services
        assert "grpc.health.v1.Health" in services
        desc = db.FindFileContainingSymbol(SERVICE_NAME)
        assert desc.package == "text2lips.v1"


def test_token_auth(synth: Synthesizer) -> None:
    with serving(synth, token="s3cret") as srv, connect(srv) as stub:
        for metadata, why in ([], "missing"), ([("authorization", "Bearer nope")], "invalid"), (
                [("authorization", "s3cret")], "invalid"):
            with pytest.raises(grpc.RpcError) as err:
                list(stub.Speak(pb.SpeakRequest(text=TEXT), metadata=metadata, timeout=WAIT_S))
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert why in err.value.details()
            with pytest.raises(grpc.RpcError) as err:
                stub.GetModelInfo(pb.GetModelInfoRequest(), metadata=metadata, timeout=WAIT_S)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.RpcError) as err:
                list(stub.Converse(iter([]), metadata=metadata, timeout=WAIT_S))
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        good = [("authorization", "Bearer s3cret")]
        frames = list(stub.Speak(pb.SpeakRequest(text="Hi."), metadata=good, timeout=WAIT_S))
        assert frames[-1].last
        assert stub.GetModelInfo(pb.GetModelInfoRequest(), metadata=good).model_name
        # Health probes carry no token and are let through.
        health = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{srv.port}"))
        reply = health.Check(health_pb2.HealthCheckRequest(), timeout=WAIT_S)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_get_model_info(stub: pb_grpc.LipSyncStub, synth: Synthesizer) -> None:
    info = stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=WAIT_S)
    assert info.model_name == "untrained-tiny"
    assert info.model_version == synth.info.version
    assert info.licence == synth.info.licence
    assert info.frame_rate == 80.0
    assert list(info.landmark_indices) == list(range(48, 68))
    assert list(info.blendshape_names) == list(BLENDSHAPE_NAMES)
    assert [s.name for s in info.speakers] == ["neutral"]
    np.testing.assert_allclose(info.speakers[0].reference, synth.info.speakers["neutral"])
    assert info.default_speaker == "neutral"
    assert info.max_text_chars == 2000
    assert list(info.frame_rates) == [80.0, 60.0, 30.0]
    assert info.server_version == __version__


# --- Converse ------------------------------------------------------------------------------


class Conversation:
    """A Converse stream the test writes to and reads from step by step."""

    def __init__(self, stub: pb_grpc.LipSyncStub) -> None:
        self._requests: queue.Queue[pb.ConverseRequest | None] = queue.Queue()
        self._events = stub.Converse(iter(self._requests.get, None), timeout=WAIT_S)

    def speak(self, text: str, uid: str, **fields: object) -> None:
        self._requests.put(pb.ConverseRequest(
            speak=pb.SpeakRequest(text=text, utterance_id=uid, **fields)))

    def cancel(self, uid: str = "") -> None:
        self._requests.put(pb.ConverseRequest(cancel=uid))

    def cancel_all(self) -> None:
        self._requests.put(pb.ConverseRequest(cancel_all=True))

    def close(self) -> None:
        self._requests.put(None)

    def next(self) -> tuple[str, object]:
        event = next(self._events)
        kind = event.WhichOneof("event")
        return kind, getattr(event, kind)

    def rest(self) -> list[tuple[str, object]]:
        return [(e.WhichOneof("event"), getattr(e, e.WhichOneof("event"))) for e in self._events]


def summary(events: list[tuple[str, object]]) -> list[tuple]:
    """Events with frames collapsed to (frame, id, count)."""
    out: list[tuple] = []
    for kind, ev in events:
        if kind == "frame":
            if out and out[-1][0] == "frame" and out[-1][1] == ev.utterance_id:
                out[-1] = ("frame", ev.utterance_id, out[-1][2] + 1)
            else:
                out.append(("frame", ev.utterance_id, 1))
        elif kind == "finished":
            out.append((kind, ev.utterance_id, ev.frames, ev.cancelled))
        elif kind == "error":
            out.append((kind, ev.utterance_id, ev.code))
        else:
            out.append((kind, ev.utterance_id))
    return out


def test_converse_queues_utterances_in_order(stub: pb_grpc.LipSyncStub,
                                             synth: Synthesizer) -> None:
    conv = Conversation(stub)
    conv.speak("One.", "a")
    conv.speak("", "bad")  # rejected, the stream goes on
    conv.speak("Two, three.", "b", frame_rate=30.0)
    conv.close()
    raw = conv.rest()
    n_a = len(list(synth.stream("One.")))
    # The rejection comes as soon as the server reads it (wherever that falls among a's
    # frames), and the stream goes on.
    errors = [(kind, ev) for kind, ev in raw if kind == "error"]
    assert [(ev.utterance_id, ev.code) for _, ev in errors] == [("bad", 3)]
    assert "text is empty" in errors[0][1].message
    events = summary([(kind, ev) for kind, ev in raw if kind != "error"])
    n_b = events[4][2]
    assert events == [
        ("started", "a"), ("frame", "a", n_a), ("finished", "a", n_a, False),
        ("started", "b"), ("frame", "b", n_b), ("finished", "b", n_b, False),
    ]
    n_native = len(list(synth.stream("Two, three.")))
    assert n_b == math.ceil((n_native - 1) * 30 / 80) + 1  # b at 30 fps, the last pose held


def test_converse_cancel_by_id_and_current(synth: Synthesizer) -> None:
    gate = StepGate()
    with serving(synth, gate=gate) as srv, connect(srv) as stub:
        conv = Conversation(stub)
        gate.allow(1)
        conv.speak(TEXT, "a")
        conv.speak("Queued.", "b")
        conv.speak("Hi.", "c")
        assert conv.next()[0] == "started"
        kind, frame = conv.next()
        assert kind == "frame" and frame.utterance_id == "a" and frame.index == 0
        conv.cancel("b")  # queued: dropped without ever starting
        kind, fin = conv.next()
        assert (kind, fin.utterance_id, fin.frames, fin.cancelled) == ("finished", "b", 0, True)
        conv.cancel()  # the one speaking
        kind, fin = conv.next()
        assert (kind, fin.utterance_id, fin.frames, fin.cancelled) == ("finished", "a", 1, True)
        assert summary([conv.next()]) == [("started", "c")]
        gate.open()
        conv.close()
        rest = summary(conv.rest())
        n_c = len(list(synth.stream("Hi.")))
        assert rest == [("frame", "c", n_c), ("finished", "c", n_c, False)]
        wait_until(lambda: len(srv.scheduler.decoder) == 0, "a to leave the batch")


def test_converse_cancel_all(synth: Synthesizer) -> None:
    gate = StepGate()
    with serving(synth, gate=gate) as srv, connect(srv) as stub:
        conv = Conversation(stub)
        gate.allow(1)
        conv.speak(TEXT, "d")
        conv.speak("Next.", "e")
        conv.speak("And next.", "f")
        assert summary([conv.next(), conv.next()]) == [("started", "d"), ("frame", "d", 1)]
        conv.cancel_all()
        # Cancelling needs no decoder step: all three end while the decoder is held.
        assert summary([conv.next() for _ in range(3)]) == [
            ("finished", "e", 0, True), ("finished", "f", 0, True), ("finished", "d", 1, True),
        ]
        gate.open()
        conv.close()
        assert conv.rest() == []
        wait_until(lambda: len(srv.scheduler.decoder) == 0, "d to leave the batch")


def test_converse_queue_limit(synth: Synthesizer) -> None:
    gate = StepGate()
    with serving(synth, gate=gate, converse_queue=1) as srv, connect(srv) as stub:
        conv = Conversation(stub)
        conv.speak(TEXT, "a")
        assert conv.next()[0] == "started"  # a left the queue
        conv.speak("Hi.", "b")  # queued (1 of 1)
        conv.speak("Hi.", "c")  # over the per-stream limit
        kind, err = conv.next()
        assert (kind, err.utterance_id, err.code) == ("error", "c", 8)
        assert "queued" in err.message
        gate.open()
        conv.close()
        names = [e for e in summary(conv.rest()) if e[0] != "frame"]
        assert names == [("finished", "a", names[0][2], False), ("started", "b"),
                         ("finished", "b", names[2][2], False)]


# --- operations ----------------------------------------------------------------------------


def test_graceful_shutdown_lets_live_utterances_finish(synth: Synthesizer) -> None:
    # The gate holds the utterance after its first frame until stop() has begun: it is live
    # when the server stops however fast or loaded the machine is.
    gate = StepGate()
    srv = BackgroundServer(ServerConfig(port=0), synth, gate=gate).start()
    try:
        with connect(srv) as stub:
            gate.allow(1)
            call = stub.Speak(pb.SpeakRequest(text=TEXT), timeout=WAIT_S)
            assert next(call).index == 0
            stopping = asyncio.run_coroutine_threadsafe(srv.sidecar.stop(WAIT_S), srv.loop)
            wait_until(lambda: srv.sidecar.stopping, "stop() to begin")
            gate.open()
            rest = list(call)  # the live utterance plays out in full
            assert rest[-1].last
            stopping.result(WAIT_S)
            with pytest.raises(grpc.RpcError) as err:
                speak(stub, "Too late.")
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.close()


def test_shutdown_cancels_what_outlives_the_grace(synth: Synthesizer) -> None:
    # The gate holds the decoder after the first frame: the utterance cannot finish inside
    # any grace, so stop() must cancel it (no elapsed-time assertion).
    gate = StepGate()
    srv = BackgroundServer(ServerConfig(port=0), synth, gate=gate).start()
    try:
        with connect(srv) as stub:
            gate.allow(1)
            call = stub.Speak(pb.SpeakRequest(text=TEXT * 3, pacing=pb.PACING_REALTIME),
                              timeout=WAIT_S)
            assert next(call).index == 0
            srv.call(srv.sidecar.stop(0.2))
            with pytest.raises(grpc.RpcError) as err:
                list(call)
            assert err.value.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
            assert srv.scheduler.decoder.steps == 1  # it never decoded past the held step
    finally:
        srv.close()


def test_message_size_limit(synth: Synthesizer) -> None:
    with serving(synth, max_message_bytes=512) as srv, connect(srv) as stub:
        with pytest.raises(grpc.RpcError) as err:
            speak(stub, "word " * 200)  # about 1 kB on the wire
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert speak(stub, "Hi.")[-1].last  # 60 + 33 floats per frame still fit


class FlakyBackend:
    """The real backend, except that one step raises: a decoder bug, injected."""

    def __init__(self, inner: object, fail_at_step: int) -> None:
        self.inner, self.fail_at, self.steps = inner, fail_at_step, 0
        self.name = "flaky"

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def step(self, rows: object) -> object:
        self.steps += 1
        if self.steps == self.fail_at:
            raise RuntimeError("injected decoder failure")
        return self.inner.step(rows)  # type: ignore[attr-defined]


def test_decoder_failure_is_internal_and_the_server_recovers(synth: Synthesizer) -> None:
    flaky = Synthesizer(FlakyBackend(synth.backend, fail_at_step=3), synth.info,
                        gate_threshold=synth.gate_threshold,
                        max_frames_per_symbol=synth.max_frames_per_symbol,
                        min_frames=synth.min_frames)
    with serving(flaky) as srv, connect(srv) as stub:
        with pytest.raises(grpc.RpcError) as err:
            speak(stub)
        assert err.value.code() == grpc.StatusCode.INTERNAL
        assert "injected decoder failure" in err.value.details()
        assert speak(stub, "Hi.")[-1].last  # a fresh batch decoder serves the next call
        assert srv.scheduler.load == (0, 0)


def test_metrics_endpoint(synth: Synthesizer) -> None:
    with serving(synth, metrics_port=0) as srv, connect(srv) as stub:
        speak(stub, "Hi.")
        with pytest.raises(grpc.RpcError):
            speak(stub, "")
        url = f"http://127.0.0.1:{srv.sidecar.metrics_port}/metrics"
        body = urllib.request.urlopen(url, timeout=WAIT_S).read().decode()
    from prometheus_client.parser import text_string_to_metric_families

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body) for s in family.samples
    }
    assert samples[("text2lips_utterances_total", (("outcome", "ok"), ("rpc", "Speak")))] == 1
    assert samples[("text2lips_errors_total",
                    (("code", "INVALID_ARGUMENT"), ("rpc", "Speak")))] == 1
    assert samples[("text2lips_frames_total", (("rpc", "Speak"),))] > 0
    assert samples[("text2lips_time_to_first_frame_seconds_count", ())] == 1
    assert samples[("text2lips_utterances_decoding", ())] == 0


def test_config_flags_win_over_environment() -> None:
    import argparse

    from sidecar.config import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    env = {"TEXT2LIPS_PORT": "6000", "TEXT2LIPS_TOKEN": "env-token", "TEXT2LIPS_GRACE": "2.5"}
    cfg = from_args(parser.parse_args(["--port", "7000"]), env)
    assert (cfg.port, cfg.token, cfg.grace_s, cfg.host) == (7000, "env-token", 2.5, "127.0.0.1")
    with pytest.raises(ConfigError, match="TEXT2LIPS_PORT='x'"):
        from_args(parser.parse_args([]), {"TEXT2LIPS_PORT": "x"})
    with pytest.raises(ConfigError, match="both --tls-cert and --tls-key"):
        ServerConfig(tls_cert="a.pem")


def test_busy_port_is_a_clear_error(server: BackgroundServer, synth: Synthesizer) -> None:
    srv = BackgroundServer(ServerConfig(port=server.port), synth)
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        srv.start()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_tls(synth: Synthesizer, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )
    with serving(synth, tls_cert=str(cert), tls_key=str(key)) as srv:
        creds = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{srv.port}", creds) as channel:
            frames = list(pb_grpc.LipSyncStub(channel).Speak(pb.SpeakRequest(text="Hi."),
                                                             timeout=WAIT_S))
        assert frames[-1].last
        with connect(srv) as plain, pytest.raises(grpc.RpcError):
            speak(plain, "Hi.")  # a plaintext client cannot talk to a TLS server


def test_serve_command_logs_json_and_stops_on_sigterm(model_dir: Path) -> None:
    env = {**os.environ, "TEXT2LIPS_PORT": "0", "TEXT2LIPS_GRACE": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "text2lips.cli", "serve", "--model", str(model_dir),
         "--threads", "1"],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        lines = []
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)
            if '"serving"' in line:
                break
        serving_line = json.loads(lines[-1])
        assert serving_line["event"] == "serving" and serving_line["model"] == "untrained-tiny"
        host, port = serving_line["address"].rsplit(":", 1)
        assert host == "127.0.0.1"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.LipSyncStub(channel)
            assert speak(stub, "Hi.", utterance_id="sub-1")[-1].last
        proc.send_signal(signal.SIGTERM)
        out = proc.stderr.read()  # type: ignore[union-attr]
        assert proc.wait(timeout=WAIT_S) == 0
        events = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        done = next(e for e in events if e["event"] == "utterance")
        assert done["utterance_id"] == "sub-1" and done["outcome"] == "ok"
        assert done["frames_sent"] > 0 and done["rtf"] > 0 and done["time_to_first_frame_ms"] > 0
        assert any(e["event"] == "signal" and e["signal"] == "SIGTERM" for e in events)
        assert events[-1]["event"] == "stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
