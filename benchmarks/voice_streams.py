"""Concurrent voiced streams, measured: `text2lips serve --voice joe` in a subprocess on a
loopback port, N clients calling SpeakVoiced at once, each speaking its share of the bench
sentences back to back, every event's arrival checked against a playback clock.

Real time, plainly: a client starts playing a line the moment it holds its first audio chunk
and its first lip frame, and plays on without waiting. A line kept real time when every later
audio chunk (and every lip frame) arrived no later than playback reached its `start_s`
(`time_s`) on that clock, with no jitter buffer; a batch of frames (`frame_batches`, the
default here) counts from its first frame. A stream stays real time when all its lines did."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from benchmarks import measure


def _speak(stub, pb, text: str, uid: str, timeout_s: float, frame_rate: float,
           batches: bool) -> dict:
    """One SpeakVoiced call: first audio latency and how late the latest event was."""
    req = pb.SpeakVoicedRequest(speak=pb.SpeakRequest(text=text, utterance_id=uid,
                                                      frame_rate=frame_rate), voice="joe",
                                frame_batches=batches)
    t0 = time.perf_counter()
    first: float | None = None
    play0: float | None = None  # when the line starts playing: its first audio and frame are in
    got = set()
    late, late_at, late_kind = 0.0, 0.0, ""
    audio_late = 0.0
    audio_s = 0.0
    for ev in stub.SpeakVoiced(req, timeout=timeout_s):
        now = time.perf_counter()
        if ev.HasField("audio"):
            at = ev.audio.start_s
            audio_s = at + len(ev.audio.pcm16) / 2 / ev.audio.sample_rate
            first = now if first is None else first
        elif ev.HasField("frames"):
            at = ev.frames.frames[0].time_s  # the batch's first frame is due first
        else:
            at = ev.frame.time_s
        got.add("audio" if ev.HasField("audio") else "frame")
        if play0 is None and len(got) == 2:
            play0 = now
        if play0 is not None and ev.HasField("audio"):
            audio_late = max(audio_late, now - (play0 + at))
        if play0 is not None and now - (play0 + at) > late:
            late, late_at, late_kind = now - (play0 + at), at, ev.WhichOneof("event")
    end = time.perf_counter()
    return {"first_audio_s": (first or end) - t0, "play_s": (play0 or end) - t0, "late_s": late,
            "audio_late_s": audio_late, "late_at_s": late_at, "late_kind": late_kind,
            "audio_s": audio_s, "wall_s": end - t0}


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_streams(model_path: Path, texts: list[str], n: int, log_path: Path,
                timeout_s: float = 120.0, frame_rate: float = 0.0, batches: bool = True) -> dict:
    """N concurrent streams over `texts` (stream k says texts k, k+n, ...), lip frames at
    `frame_rate` (0: the model's 80 fps), in batches (one per audio chunk) or one a message."""
    import grpc

    from benchmarks.models import BenchModel
    from benchmarks.sidecar_e2e import serve, wait_serving
    from text2lips.v1 import lipsync_pb2 as pb
    from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

    extra = ("--voice", "joe", "--max-voiced", str(max(n, 16)))
    model = BenchModel("phoneme", model_path, False)
    with serve(model, 1, log_path, extra) as (proc, port), \
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        why = wait_serving(channel, proc, "text2lips.v1.LipSync", log_path)
        if why:
            return {"status": "failed", "reason": why}
        stub = pb_grpc.LipSyncStub(channel)
        # The voice loads on its first use: one line first, so no stream pays for it.
        warm = pb.SpeakVoicedRequest(speak=pb.SpeakRequest(text="Hi.", utterance_id="warm"),
                                     voice="joe")
        list(stub.SpeakVoiced(warm, timeout=timeout_s))
        results: list[list[dict]] = [[] for _ in range(n)]
        errors: list[str] = []
        start = threading.Barrier(n)

        def client(k: int) -> None:
            start.wait()
            try:
                for j, text in enumerate(texts[k::n]):
                    results[k].append(_speak(stub, pb, text, f"s{k}-{j}", timeout_s,
                                             frame_rate, batches))
            except Exception as exc:  # noqa: BLE001 -- reported, not raised
                errors.append(f"stream {k}: {exc}")

        t0 = time.perf_counter()
        server0, clients0 = _cpu_s(proc.pid), time.process_time()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        server_cpu, client_cpu = _cpu_s(proc.pid) - server0, time.process_time() - clients0
    lines = [r for rs in results for r in rs]
    audio_s = sum(r["audio_s"] for r in lines)
    realtime = [all(r["late_s"] <= 0 for r in rs) and bool(rs) for rs in results]
    return {
        "status": "failed" if errors else "ok",
        "errors": errors[:3],
        "streams": n,
        "frame_rate": frame_rate or 80.0,
        "frame_batches": batches,
        "lines": len(lines),
        "streams_realtime": sum(realtime),
        "lines_late": sum(r["late_s"] > 0 for r in lines),
        "lines_audio_late": sum(r["audio_late_s"] > 0 for r in lines),
        "worst_late_ms": round(1e3 * max((r["late_s"] for r in lines), default=0.0), 1),
        "late": [f"{r['late_kind']} at {r['late_at_s']:.2f} s, {1e3 * r['late_s']:.0f} ms late"
                 for r in lines if r["late_s"] > 0][:20],
        "first_audio_ms": measure.summary_ms([r["first_audio_s"] for r in lines]),
        "playback_start_ms": measure.summary_ms([r["play_s"] for r in lines]),
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall, 2),
        # Where the cores went: the sidecar's CPU and the N clients' (this process), per
        # second of audio spoken; together against the cores' wall time.
        "server_cpu_per_audio_s": round(server_cpu / max(audio_s, 1e-9), 4),
        "clients_cpu_per_audio_s": round(client_cpu / max(audio_s, 1e-9), 4),
        "cpu_busy": round((server_cpu + client_cpu) / (wall * len(os.sched_getaffinity(0))), 2),
    }


if __name__ == "__main__":  # python -m benchmarks.voice_streams [N [FPS [single]]]
    import json
    import sys
    import tempfile

    from benchmarks.models import REPO_ROOT

    texts = (REPO_ROOT / "benchmarks" / "sentences.txt").read_text().split("\n")
    texts = [t for t in texts if t.strip()]
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    batched = not (len(sys.argv) > 3 and sys.argv[3] == "single")  # single: one frame a message
    with tempfile.TemporaryDirectory() as tmp:
        out = run_streams(REPO_ROOT / "models" / "default", texts, n, Path(tmp) / "serve.log",
                          frame_rate=rate, batches=batched)
    print(json.dumps(out, indent=1))
