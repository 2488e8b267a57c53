"""Bounded work per request: the budget after normalisation, capacity held until a call stops
sending, length caps on what is echoed. Real server on loopback, tiny model."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from helpers import WAIT_S, wait_until

from sidecar.config import ServerConfig
from sidecar.logging import configure
from sidecar.prepare import BudgetExceeded, WorkBudget, prepare_text
from sidecar.scheduler import Scheduler, StepGate
from sidecar.server import BackgroundServer
from text2lips.runtime import Synthesizer
from text2lips.testing import tiny_test_model
from text2lips.v1 import lipsync_pb2 as pb
from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    configure("warning")
    model = tiny_test_model(Path(tmp_path_factory.mktemp("budget")) / "model", gate_bias=-10.0)
    return Synthesizer.load(model, threads=1)


@contextlib.contextmanager
def serving(synth: Synthesizer, **settings: object) -> Iterator[pb_grpc.LipSyncStub]:
    config = ServerConfig(host="127.0.0.1", port=0, **settings)  # type: ignore[arg-type]
    with BackgroundServer(config, synth) as srv, \
            grpc.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
        yield srv, pb_grpc.LipSyncStub(channel)


def rejected(stub: pb_grpc.LipSyncStub, **fields: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Speak(pb.SpeakRequest(**fields), timeout=WAIT_S))
    return err.value


# --- the budget, without a server -------------------------------------------------------------


def test_budget_counts_normalised_symbols() -> None:
    digits = "7" * 500  # 500 characters as sent, each spelled out
    with pytest.raises(BudgetExceeded, match=r"normalises to \d+ symbols \(500 characters as "
                                             r"sent\); the limit is 1000 \(\d+ over\)"):
        prepare_text(digits, WorkBudget(max_symbols=1000), None)
    cjk = "\u4f60\u597d\u4e16\u754c" * 100  # 400 characters, transliterated to ~4x
    with pytest.raises(BudgetExceeded, match="the limit is 1000"):
        prepare_text(cjk, WorkBudget(max_symbols=1000), None)
    ok = prepare_text("Hello there.", WorkBudget(max_symbols=1000), None)
    assert ok.text and ok.timeline is None


def test_budget_counts_frames_of_the_timed_text() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 4
    prepared = prepare_text(text, WorkBudget(), 175)
    assert prepared.frames == prepared.timeline.n_frames > 400
    with pytest.raises(BudgetExceeded, match=rf"lasts {prepared.frames} frames .*the limit is "
                                             rf"400 \({prepared.frames - 400} over\)"):
        prepare_text(text, WorkBudget(max_frames=400), 175)


# --- on the wire ------------------------------------------------------------------------------


def test_expanding_text_is_invalid_argument_naming_the_limit(synth: Synthesizer) -> None:
    with serving(synth, max_symbols=600) as (_, stub):
        err = rejected(stub, text="1234567890" * 30)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "symbols" in err.details() and "the limit is 600" in err.details()
        assert list(stub.Speak(pb.SpeakRequest(text="Hello."), timeout=WAIT_S))[-1].last


def test_frames_are_capped_for_a_model_that_times_itself(synth: Synthesizer) -> None:
    with serving(synth, max_frames=40) as (_, stub):
        frames = list(stub.Speak(pb.SpeakRequest(text="Hello there, my good friend."),
                                 timeout=WAIT_S))
    assert len(frames) == 40 and frames[-1].last  # the tiny model never stops by itself


def test_capacity_is_held_until_the_call_stops_sending(synth: Synthesizer) -> None:
    with serving(synth, max_batch=1, max_queue=0) as (srv, stub):
        slow = stub.Speak(pb.SpeakRequest(text="Hello there, friend.", target_duration_s=30.0),
                          timeout=WAIT_S)
        assert next(slow).index == 0  # then it stops reading
        # Everything is decoded, but the call is still sending: it still holds its place.
        wait_until(lambda: len(srv.scheduler.decoder) == 0, "the decode to finish")
        assert srv.scheduler.open_calls == 1
        err = rejected(stub, text="Me too.")
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "1 calls open" in err.details()
        slow.cancel()
        wait_until(lambda: srv.scheduler.open_calls == 0, "the cancelled call to let go")
        assert list(stub.Speak(pb.SpeakRequest(text="Me too."), timeout=WAIT_S))[-1].last


def test_converse_cancel_frees_capacity_at_once(synth: Synthesizer) -> None:
    with serving(synth, max_batch=1, max_queue=0) as (srv, stub):
        def requests() -> Iterator[pb.ConverseRequest]:
            for i in range(20):
                yield pb.ConverseRequest(speak=pb.SpeakRequest(
                    text="Hello there, friend.", utterance_id=f"u{i}"))
                yield pb.ConverseRequest(cancel_all=True)

        events = list(stub.Converse(requests(), timeout=WAIT_S))
        errors = [e.error for e in events if e.WhichOneof("event") == "error"]
        assert not errors, errors[:3]  # never at capacity: each cancel gave its place back
        assert srv.scheduler.open_calls == 0


@pytest.mark.parametrize("fields, message", [
    ({"utterance_id": "x" * 257}, "utterance_id has 257 characters; the limit is 256"),
    ({"speaker": "s" * 129}, "speaker has 129 characters; the limit is 128"),
    ({"reference": [3e38] * 60}, "must be finite millimetres"),
])
def test_echoed_fields_are_capped(synth: Synthesizer, fields: dict, message: str) -> None:
    with serving(synth) as (_, stub):
        err = rejected(stub, text="Hello.", **fields)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and message in err.details()


# --- the scheduler's fast lane ----------------------------------------------------------------


def test_short_lines_pass_long_ones_waiting_for_a_long_slot(synth: Synthesizer) -> None:
    long_text = "A long monologue. " * 20  # 360 symbols: over LONG_SYMBOLS

    async def run() -> None:
        gate = StepGate()
        scheduler = Scheduler(synth, max_batch=3, max_queue=4, max_long=1, gate=gate)
        try:
            first_long = scheduler.submit(long_text)
            second_long = scheduler.submit(long_text)
            short = scheduler.submit("Hello there.")
            assert (first_long.long, second_long.long, short.long) == (True, True, False)
            gate.allow(1)
            assert (await asyncio.wait_for(anext(short), WAIT_S)).frame.index == 0
            assert (await asyncio.wait_for(anext(first_long), WAIT_S)).frame.index == 0
            # One long slot: the second long text waits although a batch slot is free.
            assert scheduler.load == (2, 1)
            first_long.cancel()
            gate.allow(1)
            assert (await asyncio.wait_for(anext(second_long), WAIT_S)).frame.index == 0
            assert scheduler.load == (2, 0)
        finally:
            scheduler.close()

    asyncio.run(run())
