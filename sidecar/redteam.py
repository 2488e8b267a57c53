"""The attack suite, on loopback against a real `text2lips serve` process: text fuzz with
expansion classes, malformed wire bytes, slow readers, Converse storms, the impact of
expanding texts on honest streams, and health during drain. Not a benchmark of speed; a check
that one caller cannot stall the others and that bad input is always a clear status.

    python -m sidecar.redteam --short          # what `make test` runs (bounded, ~1 minute)
    python -m sidecar.redteam                  # the long form, by hand (several minutes)
    python -m sidecar.redteam --json out.json  # figures for docs/sidecar.md

Exit status 1 when a call ends with a status the suite does not allow (UNKNOWN, INTERNAL,
...) or the server dies; the figures (RTF, time to first frame, RSS) are reported, not
judged, because they depend on the machine. The attacks themselves are in sidecar/attacks.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.attacks import converse_storm, drain, malformed, slow_readers, text_fuzz, victim
from text2lips.v1 import lipsync_pb2 as pb
from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

ALLOWED = {"OK", "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"}

@dataclass(frozen=True)
class Form:
    """Counts and durations of one run."""

    fuzz_texts: int
    malformed: int
    victim_s: float
    slow_readers: int
    reader_chars: int
    """Text length the slow readers ask for (warped to 600 s either way): the longest allowed
    in the long form; the short form's decode in seconds."""
    storm_streams: int
    send_timeout_s: float
    """The server's --send-timeout: a reader silent this long is cut off."""


SHORT = Form(fuzz_texts=40, malformed=90, victim_s=6.0, slow_readers=8, reader_chars=300,
             storm_streams=2, send_timeout_s=2.0)
LONG = Form(fuzz_texts=10_000, malformed=2_000, victim_s=30.0, slow_readers=64,
            reader_chars=2000, storm_streams=16,
            send_timeout_s=10.0)



class ServerProcess:
    """`python -m text2lips serve` on a free loopback port; its RSS sampled with its workers."""

    def __init__(self, model: str, extra: list[str]) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "text2lips", "serve", "--model", model, "--port",
             str(self.port), "--log-level", "error", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.target = f"127.0.0.1:{self.port}"
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        deadline = time.monotonic() + 120
        with grpc.insecure_channel(self.target) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            while True:
                if self.proc.poll() is not None:
                    raise SystemExit(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
                try:
                    if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server did not become healthy in 120 s")
                time.sleep(0.2)
        self.base_rss_mb = self.rss_mb()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def descendants(self) -> list[int]:
        """The server and every process under it (the fork server and the text workers it
        forked are grandchildren)."""
        pids, i = [self.proc.pid], 0
        while i < len(pids):
            try:
                pids += [int(p) for p in Path(f"/proc/{pids[i]}/task/{pids[i]}/children")
                         .read_text().split()]
            except OSError:
                pass
            i += 1
        return pids

    def rss_mb(self) -> float:
        """RSS of the server and its text workers."""
        pids = self.descendants()
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_rss_mb = max(self.peak_rss_mb, self.rss_mb())

    def reset_peak(self) -> None:
        self.peak_rss_mb = self.rss_mb()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        self._stop.set()
        if self.alive():
            pids = self.descendants()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                # Killed, it leaves its workers behind: end them too.
                for pid in reversed(pids):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                self.proc.wait()



def disallowed(report: dict[str, Any]) -> list[str]:
    """Status codes outside ALLOWED anywhere in the report (e.g. 'fuzz: UNKNOWN x3')."""
    bad = []
    for section, value in report.items():
        if not isinstance(value, dict):
            continue
        for key in ("codes", "attack_codes"):
            for code, count in (value.get(key) or {}).items():
                if code.removeprefix("honest ") not in ALLOWED:
                    bad.append(f"{section}: {code} x{count}")
        for sub in ("alone", "under_attack", "honest"):
            if isinstance(value.get(sub), dict):
                bad += disallowed({f"{section}.{sub}": value[sub]})
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sidecar.redteam", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="the bounded form make test runs")
    parser.add_argument("--model", default="models/default")
    parser.add_argument("--json", type=Path, help="write the report here too")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--server-arg", action="append", default=[],
                        help="extra flag for text2lips serve (repeatable)")
    args = parser.parse_args(argv)
    form = SHORT if args.short else LONG
    rng = random.Random(args.seed)
    report: dict[str, Any] = {"form": "short" if args.short else "long",
                              "load_average": os.getloadavg()}
    # The short form cuts stalled readers off sooner, so it ends sooner.
    extra = ["--send-timeout", f"{form.send_timeout_s:g}", *args.server_arg]
    server = ServerProcess(args.model, extra)
    try:
        report["base_rss_mb"] = round(server.base_rss_mb)
        with grpc.insecure_channel(server.target) as ch:
            max_chars = pb_grpc.LipSyncStub(ch).GetModelInfo(
                pb.GetModelInfoRequest(), timeout=10).max_text_chars
        phases = {
            "fuzz": lambda: text_fuzz(server.target, form.fuzz_texts, max_chars, rng),
            "malformed": lambda: malformed(server.target, form.malformed, rng),
            "victim": lambda: victim(server, form.victim_s, max_chars, rng),
            "slow_readers": lambda: slow_readers(server, form.slow_readers, form.reader_chars,
                                                 form.send_timeout_s),
            "converse_storm": lambda: converse_storm(server.target, form.storm_streams, 50),
        }
        for name, run in phases.items():
            t0 = time.monotonic()
            report[name] = run()
            # Progress on stderr, so a long run that is cut short still shows what it found.
            print(f"redteam: {name} ({time.monotonic() - t0:.0f} s): "
                  f"{json.dumps(report[name])}", file=sys.stderr, flush=True)
        report["alive_after"] = server.alive()
        report["drain"] = drain(server)
    finally:
        server.stop()
    report["load_average_end"] = os.getloadavg()
    bad = disallowed(report)
    report["disallowed"] = bad
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    if bad or not report.get("alive_after") or not report["drain"]["not_serving_seen"]:
        print("redteam: FAILED: " + ("; ".join(bad) or "server died or drain not seen"),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
