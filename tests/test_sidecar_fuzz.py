"""Arbitrary input against the real sidecar: every call ends OK or INVALID_ARGUMENT, and the
server keeps serving."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sidecar.config import ServerConfig
from sidecar.logging import configure
from sidecar.server import BackgroundServer
from text2lips.runtime import Synthesizer
from text2lips.testing import tiny_test_model
from text2lips.v1 import lipsync_pb2 as pb
from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

pytestmark = pytest.mark.timeout(120)

MAX_CHARS = 100  # keeps each utterance short; longer texts exercise the limit instead
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    configure("error")
    model = tiny_test_model(Path(tmp_path_factory.mktemp("fuzz")) / "model", gate_bias=-10.0)
    synth = Synthesizer.load(model, threads=1)
    config = ServerConfig(port=0, max_text_chars=MAX_CHARS)
    with BackgroundServer(config, synth) as srv:
        yield srv


@pytest.fixture(scope="module")
def stub(server: BackgroundServer) -> Iterator[pb_grpc.LipSyncStub]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.LipSyncStub(channel)


def outcome(stub: pb_grpc.LipSyncStub, request: pb.SpeakRequest) -> str:
    """OK, or INVALID_ARGUMENT with the first word of its message; anything else fails."""
    try:
        frames = list(stub.Speak(request, timeout=30.0))
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
        assert err.details()  # the message says what is wrong
        return f"INVALID_ARGUMENT: {err.details().split(' ')[0]}"
    assert frames and frames[-1].last
    assert [f.index for f in frames] == list(range(len(frames)))
    assert all(len(f.landmarks) == 60 and all(map(math.isfinite, f.landmarks)) for f in frames)
    return "OK"


@FUZZ
@given(text=st.one_of(
    st.text(max_size=MAX_CHARS + 20),
    # Without control characters most texts get past validation into the decoder.
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=MAX_CHARS + 20),
))
def test_any_text(stub: pb_grpc.LipSyncStub, text: str) -> None:
    event(outcome(stub, pb.SpeakRequest(text=text)))


@FUZZ
@given(
    text=st.one_of(st.just("Hello there."), st.text(max_size=30)),
    speaker=st.one_of(st.just(""), st.just("neutral"), st.text(max_size=10)),
    reference=st.one_of(st.just([]), st.lists(st.floats(width=32), min_size=58, max_size=62)),
    frame_rate=st.one_of(st.sampled_from([0.0, 80.0, 60.0, 30.0]), st.floats(width=32)),
    target=st.one_of(st.just(0.0), st.floats(width=32, min_value=-1.0, max_value=3.0),
                     st.floats(width=32)),
    pacing=st.sampled_from([pb.PACING_AS_FAST_AS_POSSIBLE, 7]),
)
def test_any_request(stub: pb_grpc.LipSyncStub, text: str, speaker: str, reference: list[float],
                     frame_rate: float, target: float, pacing: int) -> None:
    event(outcome(stub, pb.SpeakRequest(text=text, speaker=speaker, reference=reference,
                                        frame_rate=frame_rate, target_duration_s=target,
                                        pacing=pacing)))


def test_still_serving_after_fuzzing(server: BackgroundServer,
                                     stub: pb_grpc.LipSyncStub) -> None:
    assert outcome(stub, pb.SpeakRequest(text="Still here?")) == "OK"
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert server.scheduler.load == (0, 0)
