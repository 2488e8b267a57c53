"""The server's edge: malformed bytes on every RPC, a client that stops reading, the token
before unknown methods, health during drain, rate-limited rejection logs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from helpers import WAIT_S

from sidecar.config import ServerConfig
from sidecar.guard import RateLimitedLog
from sidecar.logging import configure
from sidecar.server import BackgroundServer
from text2lips.runtime import Synthesizer
from text2lips.testing import tiny_test_model
from text2lips.v1 import lipsync_pb2 as pb
from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

pytestmark = pytest.mark.timeout(120)
SPEAK = "/text2lips.v1.LipSync/Speak"
CONVERSE = "/text2lips.v1.LipSync/Converse"
INFO = "/text2lips.v1.LipSync/GetModelInfo"
GARBAGE = [b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x08" + b"\xff" * 11, b"\x12\x80\x80\x80\x80\x10"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    configure("warning")
    model = tiny_test_model(Path(tmp_path_factory.mktemp("guard")) / "model", gate_bias=-10.0)
    return Synthesizer.load(model, threads=1)


@contextlib.contextmanager
def serving(synth: Synthesizer, **settings: object) -> Iterator[BackgroundServer]:
    config = ServerConfig(host="127.0.0.1", port=0, **settings)  # type: ignore[arg-type]
    with BackgroundServer(config, synth) as srv:
        yield srv


@pytest.fixture(scope="module")
def server(synth: Synthesizer) -> Iterator[BackgroundServer]:
    with serving(synth) as srv:
        yield srv


@pytest.fixture
def channel(server: BackgroundServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


@pytest.mark.parametrize("raw", GARBAGE)
def test_malformed_bytes_are_invalid_argument_on_every_rpc(channel: grpc.Channel,
                                                           raw: bytes) -> None:
    calls = {
        "Speak": lambda: list(channel.unary_stream(SPEAK)(raw, timeout=WAIT_S)),
        "GetModelInfo": lambda: channel.unary_unary(INFO)(raw, timeout=WAIT_S),
        "Converse": lambda: list(channel.stream_stream(CONVERSE)(iter([raw]), timeout=WAIT_S)),
    }
    for name, call in calls.items():
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (name, err.value)
        assert f"malformed {name} request" in err.value.details()
        assert "class" not in err.value.details()


def test_converse_reports_bad_bytes_after_good_ones(channel: grpc.Channel) -> None:
    good = pb.ConverseRequest(speak=pb.SpeakRequest(text="Hi.", utterance_id="a"))
    later = pb.ConverseRequest(speak=pb.SpeakRequest(text="Never.", utterance_id="b"))
    call = channel.stream_stream(CONVERSE, response_deserializer=pb.ConverseEvent.FromString)
    with pytest.raises(grpc.RpcError) as err:
        events = []
        for event in call(iter([good.SerializeToString(), b"\xff\xff",
                                later.SerializeToString()]), timeout=WAIT_S):
            events.append(event)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed Converse request" in err.value.details()
    assert not any(e.WhichOneof("event") == "started" and e.started.utterance_id == "b"
                   for e in events)


def test_unknown_pacing_is_invalid_argument(channel: grpc.Channel) -> None:
    stub = pb_grpc.LipSyncStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Speak(pb.SpeakRequest(text="Hi.", pacing=7), timeout=WAIT_S))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "pacing 7 is not a Pacing value" in err.value.details()


def test_a_client_that_stops_reading_is_cut_off(synth: Synthesizer) -> None:
    with serving(synth, send_timeout_s=0.5, max_batch=1, max_queue=0) as srv, \
            grpc.insecure_channel(f"127.0.0.1:{srv.port}") as ch:
        stub = pb_grpc.LipSyncStub(ch)
        # 600 s at 80 fps is far more than flow control lets through unread.
        slow = stub.Speak(pb.SpeakRequest(text="Hello there.", target_duration_s=600.0),
                          timeout=WAIT_S * 3)
        assert next(slow).index == 0
        done = threading.Event()
        with pytest.raises(grpc.RpcError) as err:
            # Read nothing more until the server has given up on us.
            while srv.scheduler.open_calls and not done.wait(0.05):
                pass
            list(slow)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "read nothing for 0.5 s" in err.value.details()
        assert srv.scheduler.open_calls == 0
        assert list(stub.Speak(pb.SpeakRequest(text="Me."), timeout=WAIT_S))[-1].last


def test_token_is_checked_before_unknown_methods(synth: Synthesizer) -> None:
    with serving(synth, token="s3cret") as srv, \
            grpc.insecure_channel(f"127.0.0.1:{srv.port}") as ch:
        unknown = ch.unary_unary("/text2lips.v1.LipSync/NoSuchMethod")
        with pytest.raises(grpc.RpcError) as err:
            unknown(b"", timeout=WAIT_S)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as err:
            unknown(b"", metadata=[("authorization", "Bearer s3cret")], timeout=WAIT_S)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_health_says_not_serving_before_the_listener_closes(synth: Synthesizer) -> None:
    srv = serving(synth)
    server = srv.__enter__()
    seen: list[object] = []
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        health = health_pb2_grpc.HealthStub(ch)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=WAIT_S).status == \
            health_pb2.HealthCheckResponse.SERVING
        stopper = threading.Thread(target=lambda: srv.__exit__(None, None, None))
        stopper.start()
        while stopper.is_alive():
            try:
                seen.append(health.Check(health_pb2.HealthCheckRequest(), timeout=1.0).status)
            except grpc.RpcError as err:
                seen.append(err.code())
                break
        stopper.join()
    assert health_pb2.HealthCheckResponse.NOT_SERVING in seen, seen


def test_rejection_log_is_rate_limited() -> None:
    now = [0.0]
    log = RateLimitedLog(per_second=10.0, burst=5, clock=lambda: now[0])
    assert [log.allow() for _ in range(8)] == [0, 0, 0, 0, 0, None, None, None]
    now[0] += 0.1  # one token back
    assert log.allow() == 3  # let through, saying three were dropped
    assert log.allow() is None


def test_library_tracebacks_are_json_lines() -> None:
    import io
    import json
    import logging

    buf = io.StringIO()
    configure("info", stream=buf)
    try:
        raise RuntimeError("grace period over")
    except RuntimeError:
        logging.getLogger("grpc._cython.cygrpc").exception("handler cancelled")
    configure("warning")
    lines = buf.getvalue().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["event"] == "handler cancelled" and doc["level"] == "error"
    assert "RuntimeError: grace period over" in doc["exception"]
