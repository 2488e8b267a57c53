"""The attacks of `python -m sidecar.redteam` (see sidecar/redteam.py, which starts the
server, runs them in order and judges the status codes): the inputs (expanding texts, malformed
wire bytes) and one function per phase, each returning its figures and status-code counts.
"""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from text2lips.v1 import lipsync_pb2 as pb
from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from sidecar.redteam import ServerProcess

HONEST = (
    "I will meet you at the gate at half past nine, and then we can walk to the old market.",
    "Nobody expected the results to be so clear, but the numbers spoke for themselves today.",
    "Could you say that again, please? The wind is loud up here and I missed the last part.",
    "We should leave before it gets dark; the road through the forest is hard to follow.",
)
"""~90-character lines, as an NPC says them."""
LONG_ENGLISH = ("The quick brown fox jumps over the lazy dog while the farmer watches from "
                "the porch. ") * 30

FUZZ_CLIENTS = 16
"""Concurrent fuzz calls (the long form's 10,000 texts take minutes, not an hour)."""


# --- inputs -----------------------------------------------------------------------------------


def expanding_text(rng: random.Random, kind: str, n: int) -> str:
    """A text of `n` characters from one expansion class."""
    if kind == "cjk":
        return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n))
    if kind == "digits":
        return "".join(rng.choice("0123456789") for _ in range(n))
    if kind == "digit_groups":
        return " ".join(str(rng.randint(0, 10**12)) for _ in range(n // 13 + 1))[:n]
    if kind == "punctuation":
        return "".join(rng.choice("$%&.,;:!?-/'\"()[]#@*") for _ in range(n))
    if kind == "emoji":
        return "".join(chr(rng.randint(0x1F600, 0x1F64F)) for _ in range(n))
    if kind == "mixed":
        return "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(n))
    if kind == "money":
        return " ".join(f"${rng.randint(0, 10**9)}.{rng.randint(0, 99):02d}"
                        for _ in range(n // 14 + 1))[:n]
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz .,") for _ in range(n))


KINDS = ("cjk", "digits", "digit_groups", "punctuation", "emoji", "mixed", "money", "latin")


def malformed_bytes(rng: random.Random) -> bytes:
    """Random bytes, or a valid SpeakRequest with bytes flipped, cut or appended."""
    good = pb.SpeakRequest(text="Hello there.", utterance_id="x", frame_rate=60.0)
    raw = bytearray(good.SerializeToString())
    how = rng.randrange(4)
    if how == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    if how == 1:
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    if how == 2:
        return bytes(raw[: rng.randint(1, len(raw) - 1)])
    return bytes(raw) + bytes([rng.choice([0x0A, 0x12, 0x1A, 0xFF]), 0xFF, 0xFF, 0xFF])


# --- the server -------------------------------------------------------------------------------

def code_of(call: Any) -> str:
    try:
        call()
    except grpc.RpcError as err:
        return err.code().name
    return "OK"


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if values else None


# --- the attacks ------------------------------------------------------------------------------


def fuzz_output(i: int) -> dict[str, float]:
    """How fuzz text `i` is sent back: streamed at the native rate (1 in 10) or 30 fps (1 in
    10), else warped to one second at 30 fps: the server still decodes every frame of it, but
    30 messages instead of hundreds reach the client, which makes the long form minutes, not
    an hour, on two cores."""
    if i % 10 == 5:
        return {}
    if i % 10 == 6:
        return {"frame_rate": 30.0}
    return {"frame_rate": 30.0, "target_duration_s": 1.0}


def text_fuzz(target: str, n: int, max_chars: int, rng: random.Random) -> dict[str, Any]:
    """`n` texts from every expansion class (one in 20 at `max_chars`), each read to its last
    frame."""
    requests = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        size = max_chars if i % 20 == 0 else rng.randint(1, 120)
        requests.append(pb.SpeakRequest(text=expanding_text(rng, kind, size), **fuzz_output(i)))
    with grpc.insecure_channel(target) as ch:
        stub = pb_grpc.LipSyncStub(ch)

        def one(request: pb.SpeakRequest) -> str:
            return code_of(lambda: list(stub.Speak(request, timeout=120)))

        codes: Counter[str] = Counter()
        t0 = time.monotonic()
        with ThreadPoolExecutor(FUZZ_CLIENTS) as pool:
            for i, code in enumerate(pool.map(one, requests), 1):
                codes[code] += 1
                if i % 1000 == 0:  # the long form runs for minutes: show it is moving
                    print(f"redteam: fuzz {i}/{n} texts ({time.monotonic() - t0:.0f} s): "
                          f"{dict(codes)}", file=sys.stderr, flush=True)
    return {"texts": n, "codes": dict(codes)}


def malformed(target: str, n: int, rng: random.Random) -> dict[str, Any]:
    payloads = [malformed_bytes(rng) for _ in range(n)]
    methods = ("Speak", "GetModelInfo", "Converse")
    codes: Counter[str] = Counter()
    with grpc.insecure_channel(target) as ch:
        calls = {
            "Speak": lambda raw: list(ch.unary_stream("/text2lips.v1.LipSync/Speak")(
                raw, timeout=30)),
            "GetModelInfo": lambda raw: ch.unary_unary("/text2lips.v1.LipSync/GetModelInfo")(
                raw, timeout=30),
            "Converse": lambda raw: list(ch.stream_stream("/text2lips.v1.LipSync/Converse")(
                iter([raw]), timeout=30)),
        }

        def one(i: int) -> str:
            method = methods[i % 3]
            return code_of(lambda: calls[method](payloads[i]))

        with ThreadPoolExecutor(8) as pool:
            codes.update(pool.map(one, range(n)))
    return {"messages": n, "codes": dict(codes)}


def honest_streams(target: str, seconds: float, streams: int = 8) -> dict[str, Any]:
    """`streams` clients speaking ~90-character lines back to back for `seconds`: client-side
    RTF (request to last frame / audio length) and time to first frame."""
    rtfs: list[float] = []
    ttffs: list[float] = []
    codes: Counter[str] = Counter()
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client(k: int) -> None:
        with grpc.insecure_channel(target) as ch:
            stub = pb_grpc.LipSyncStub(ch)
            i = k
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                first = None
                n = 0
                try:
                    for _ in stub.Speak(pb.SpeakRequest(text=HONEST[i % len(HONEST)]),
                                        timeout=30):
                        first = first if first is not None else time.perf_counter() - t0
                        n += 1
                except grpc.RpcError as err:
                    with lock:
                        codes[err.code().name] += 1
                    continue
                wall = time.perf_counter() - t0
                with lock:
                    codes["OK"] += 1
                    rtfs.append(wall / (n / 80.0))
                    ttffs.append(first or wall)
                i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"streams": streams, "utterances": len(rtfs), "codes": dict(codes),
            "rtf_median": pct(rtfs, 50), "rtf_p95": pct(rtfs, 95),
            "ttff_median_ms": pct([t * 1e3 for t in ttffs], 50),
            "ttff_p95_ms": pct([t * 1e3 for t in ttffs], 95)}


def model_info_latency(target: str, stop: threading.Event, out: list[float]) -> None:
    with grpc.insecure_channel(target) as ch:
        stub = pb_grpc.LipSyncStub(ch)
        while not stop.wait(0.05):
            t0 = time.perf_counter()
            try:
                stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=5)
                out.append(time.perf_counter() - t0)
            except grpc.RpcError:
                out.append(5.0)


def victim(server: ServerProcess, seconds: float, max_chars: int,
           rng: random.Random) -> dict[str, Any]:
    """Honest streams alone, then with expanding texts at max_text_chars in flight."""
    alone = honest_streams(server.target, seconds / 2)
    stop = threading.Event()
    attack_codes: Counter[str] = Counter()
    info_s: list[float] = []

    def attacker(k: int) -> None:
        with grpc.insecure_channel(server.target) as ch:
            stub = pb_grpc.LipSyncStub(ch)
            while not stop.is_set():
                text = expanding_text(rng, ("cjk", "digits", "digit_groups", "money")[k % 4],
                                      max_chars)
                attack_codes[code_of(lambda t=text: list(stub.Speak(
                    pb.SpeakRequest(text=t), timeout=60)))] += 1

    server.reset_peak()
    threads = [threading.Thread(target=attacker, args=(k,)) for k in range(4)]
    threads.append(threading.Thread(target=model_info_latency,
                                    args=(server.target, stop, info_s)))
    for t in threads:
        t.start()
    attacked = honest_streams(server.target, seconds)
    stop.set()
    for t in threads:
        t.join()
    return {"alone": alone, "under_attack": attacked, "attack_codes": dict(attack_codes),
            "model_info_p99_ms": pct([s * 1e3 for s in info_s], 99),
            "model_info_calls": len(info_s), "peak_rss_mb": round(server.peak_rss_mb)}


def honest_first_frames(target: str, codes: Counter[str]) -> list[float]:
    """Time to first frame (ms) of 12 honest lines, one after another."""
    ttffs = []
    with grpc.insecure_channel(target) as ch:
        stub = pb_grpc.LipSyncStub(ch)
        for text in HONEST * 3:
            t0 = time.perf_counter()
            call = stub.Speak(pb.SpeakRequest(text=text), timeout=30)
            try:
                next(call)
                ttffs.append((time.perf_counter() - t0) * 1e3)
                call.cancel()  # the first frame is what is timed; its place is freed at once
            except grpc.RpcError as err:
                codes["honest " + err.code().name] += 1
    return ttffs


def slow_readers(server: ServerProcess, n: int, chars: int = 2000,
                 send_timeout_s: float = 10.0) -> dict[str, Any]:
    """`n` clients ask for a `chars`-character text and the longest target duration and read
    nothing (a warp's first frame leaves when its utterance is decoded); an honest client is
    timed while they decode, and again once every warp is decoded and waiting on its reader;
    each reader has by then taken one frame. The phase then waits until every reader has been
    silent for longer than the server's `send_timeout_s` and reads the rest: a reader read
    sooner is not a stalled reader (the server must let it go on), so that wait is what makes
    every reader here one the server has to cut off. Each reader is counted once: the status
    its call ends with."""
    server.reset_peak()
    # BDP probing off: with it (gRPC's default) a client's transport grows its own receive
    # window while data flows and may take a whole 48,000-frame line into its memory with the
    # application reading nothing; the server then rightly sees a client that read everything
    # (docs/sidecar.md, "What a stalled reader is"). A stalled client's window stays at 64 KB.
    channels = [grpc.insecure_channel(server.target, options=[("grpc.http2.bdp_probe", 0)])
                for _ in range(n)]
    codes: Counter[str] = Counter()
    calls = [pb_grpc.LipSyncStub(ch).Speak(
        pb.SpeakRequest(text=LONG_ENGLISH[:chars], target_duration_s=600.0), timeout=900)
        for ch in channels]
    time.sleep(1.0)  # admitted, prepared, decoding
    decoding = honest_first_frames(server.target, codes)
    report: dict[str, Any] = {
        "readers": n, "honest_ttff_decoding_p95_ms": pct(decoding, 95),
        "honest_ttff_decoding_max_ms": pct(decoding, 100)}
    ended: dict[int, str] = {}
    last_read = time.monotonic()
    for i, call in enumerate(calls):
        try:
            next(call)  # its warp is decoded
        except grpc.RpcError as err:
            ended[i] = err.code().name
        last_read = time.monotonic()
    holding = honest_first_frames(server.target, codes)
    report.update(started=n - len(ended), honest_ttff_holding_p95_ms=pct(holding, 95),
                  honest_ttff_holding_max_ms=pct(holding, 100))
    # Silent for the send timeout plus the watchdog's check period (a quarter of it), and a
    # margin: a reader read before that may rightly go on.
    time.sleep(max(0.0, last_read + 1.5 * send_timeout_s + 1.0 - time.monotonic()))
    frames = []
    for i, call in enumerate(calls):
        if i in ended:
            continue
        got = 1
        try:
            for _ in call:  # cut off by now, or the rest arrives
                got += 1
            ended[i] = "OK"
        except grpc.RpcError as err:
            ended[i] = err.code().name
        frames.append(got)
    for ch in channels:
        ch.close()
    codes.update(ended.values())
    report.update(codes=dict(codes), frames_read_max=max(frames, default=0),
                  peak_rss_mb=round(server.peak_rss_mb))
    return report


def converse_storm(target: str, streams: int, rounds: int) -> dict[str, Any]:
    """Streams that queue and cancel as fast as they can, beside an honest Speak loop."""
    codes: Counter[str] = Counter()
    events: Counter[str] = Counter()

    def storm(k: int) -> None:
        def requests():
            for i in range(rounds):
                yield pb.ConverseRequest(speak=pb.SpeakRequest(text=HONEST[i % 4],
                                                               utterance_id=f"s{k}-{i}"))
                yield pb.ConverseRequest(cancel_all=True)

        with grpc.insecure_channel(target) as ch:
            try:
                for e in pb_grpc.LipSyncStub(ch).Converse(requests(), timeout=120):
                    events[e.WhichOneof("event")] += 1
                codes["OK"] += 1
            except grpc.RpcError as err:
                codes[err.code().name] += 1

    threads = [threading.Thread(target=storm, args=(k,)) for k in range(streams)]
    for t in threads:
        t.start()
    honest = honest_streams(target, 3.0, streams=2)
    for t in threads:
        t.join()
    return {"streams": streams, "rounds": rounds, "codes": dict(codes), "events": dict(events),
            "honest": honest}


def drain(server: ServerProcess) -> dict[str, Any]:
    """SIGTERM, then poll health until the listener closes."""
    seen: list[str] = []
    with grpc.insecure_channel(server.target) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        server.proc.send_signal(signal.SIGTERM)
        for _ in range(400):
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                seen.append(health_pb2.HealthCheckResponse.ServingStatus.Name(status))
            except grpc.RpcError as err:
                seen.append(err.code().name)
                break
            time.sleep(0.01)
    server.proc.wait(30)
    return {"not_serving_seen": "NOT_SERVING" in seen, "last": seen[-1] if seen else None,
            "exit_code": server.proc.returncode}


# --- the run ----------------------------------------------------------------------------------
