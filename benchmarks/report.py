"""What a run leaves behind: machine facts, the JSON of every figure, the Markdown table on
stdout, and a PNG (time to first frame per variant; streams against RTF)."""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path

from benchmarks.common import RTF_LIMIT
from benchmarks.workload import FRAME_MS

RESULTS_DIR = Path(__file__).with_name("results")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict:
    """Where the figures came from."""
    import torch

    from benchmarks.measure import cpu_threads

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "host": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cores_usable": cpu_threads(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_default_threads": torch.get_num_threads(),
        "onnxruntime": _version("onnxruntime"),
        "numpy": _version("numpy"),
        "grpcio": _version("grpcio"),
        "text2lips": _version("text2lips"),
        "load_average_start": load_average(),
    }


def output_stem(name: str, host: str, when: datetime) -> str:
    """`<profile>-<host>-<date>`; the time of day keeps two runs on one day apart."""
    safe_host = "".join(c if c.isalnum() or c in "-_" else "_" for c in host)
    return f"{name}-{safe_host}-{when:%Y%m%d-%H%M%S}"


def write_json(doc: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return path


# --- Markdown --------------------------------------------------------------------------------


def _f(x: float | None, fmt: str = ".2f") -> str:
    return "–" if x is None else format(x, fmt)


def _ratio(r: dict | None) -> str:
    return "–" if not r or not r.get("n") else f"{r['median']:.3f}"


def markdown(doc: dict) -> str:
    """The results table (one row per variant) and, for grpc, the pacing table."""
    lines = [
        "| profile | variant | model | TTFF p50 / p95 / max (ms) | ms/step | RTF | fps "
        "| streams ≤ RT (≤ 0.5) | peak RSS (MB) | ours/ref TTFF | ours/ref step | ours/ref RTF "
        "| verdict |",
        "|" + "---|" * 13,
    ]
    grpc_rows: list[str] = []
    timing_notes: list[str] = []
    random_used = False
    for prof in doc["profiles"].values():
        for v in prof["variants"]:
            if v["status"] != "ok":
                lines.append(
                    f"| {prof['profile']} | {v['label']} | – | {v['status']}: "
                    f"{v['reason'][:120]} | | | | | | | | | {v['verdict']['verdict']} |"
                )
                continue
            fig = v["figures"]
            t = fig["ttff_ms"]
            model = v["model"]
            random_used |= model["random_weights"]
            mdesc = model["size"] + (" (random)" if model["random_weights"] else "")
            streams = (
                "–"
                if "max_streams_realtime" not in fig
                else f"{fig['max_streams_realtime']} ({fig['max_streams_at_limit']})"
            )
            conc = fig.get("concurrent") or {}
            if conc.get("status") == "ok":
                streams = f"{conc['streams_realtime']}/{conc['streams']} real time (measured)"
            rss = fig.get("peak_rss_mb") or fig.get("server_peak_rss_mb")
            ra = v["ratios"]
            lines.append(
                f"| {prof['profile']} | {v['label']} | {mdesc} | {_f(t.get('p50'), '.1f')} / "
                f"{_f(t.get('p95'), '.1f')} / {_f(t.get('max'), '.1f')} | "
                f"{_f(fig.get('ms_per_step'))} | {_f(fig.get('rtf'), '.3f')} | "
                f"{_f(fig.get('fps'), '.0f')} | {streams} | {_f(rss, '.0f')} | "
                f"{_ratio(ra.get('ttff'))} | {_ratio(ra.get('ms_per_step'))} | "
                f"{_ratio(ra.get('rtf'))} | {v['verdict']['verdict']} |"
            )
            src = fig.get("timing_source_espeak_ms")
            if src:
                timing_notes.append(
                    f"{v['label']}: the timing source (espeak-ng) takes p50 "
                    f"{_f(src.get('p50'), '.1f')} / p95 {_f(src.get('p95'), '.1f')} ms per "
                    f"sentence; first frame from text p50 "
                    f"{_f(fig['ttff_from_text_ms'].get('p50'), '.1f')} ms."
                )
            rt = fig.get("realtime")
            if rt:
                grpc_rows.append(
                    f"| {v['label']} | {rt['frames']} | {rt['interval_ms_mean']:.2f} | "
                    f"{rt['interval_ms_std']:.2f} | {rt['jitter_p95_ms']:.2f} | "
                    f"{rt['jitter_max_ms']:.2f} | {rt['lateness_p95_ms']:.2f} | "
                    f"{_f(rt['ttff_ms'].get('p50'), '.1f')} |"
                )
    out = ["\n".join(lines)]
    if timing_notes:
        out.append("\n".join(timing_notes))
    if grpc_rows:
        out.append(
            "\n".join(
                [
                    "gRPC, realtime pacing (PACING_REALTIME), as received by the client:",
                    "",
                    "| variant | frames | interval mean (ms) | interval std (ms) "
                    "| p95 \\|Δ\\| vs 12.5 ms | max \\|Δ\\| "
                    "| p95 lateness vs schedule (ms) | TTFF p50 (ms) |",
                    "|" + "---|" * 8,
                    *grpc_rows,
                ]
            )
        )
    verdicts = []
    for prof in doc["profiles"].values():
        crit = "; ".join(c["why"] for c in prof["criteria"])
        extra = f" ({prof['passed']}/{prof['ran']} variants pass)" if prof["ran"] else ""
        verdicts.append(f"- **{prof['profile']}**: {prof['verdict']}{extra} — {crit}")
    out.append("\n".join(verdicts))
    m = doc["machine"]
    notes = [
        f"Machine: {m['cpu_model']}, {m['cores_usable']} usable cores"
        + (f", {m['gpu']}" if m["gpu"] else "")
        + f"; torch {m['torch']}, python {m['python']}; load average at start "
        f"{m['load_average_start']}, at end {m.get('load_average_end')}.",
        f"RTF = decode wall time / audio time (one frame = {FRAME_MS} ms); ms/step = median "
        "decoder step (grpc: median frame inter-arrival, as fast as possible); streams = largest "
        f"batch whose step keeps every stream real time (in brackets: at RTF ≤ {RTF_LIMIT}); "
        "ours/ref = median of per-sentence ratios, measured ours then reference pair by pair "
        "(below 1: ours is faster).",
    ]
    if random_used:
        notes.append(
            "Random weights: no trained model of that size was found, so a "
            "same-size random-weight stand-in was timed (same speed; fixed frame count)."
        )
    if doc.get("quick"):
        notes.append("QUICK run (--quick): one short sentence, a few frames; not a measurement.")
    out.append("\n".join(notes))
    return "\n\n".join(out) + "\n"


# --- plot ------------------------------------------------------------------------------------


def plot(doc: dict, path: Path) -> Path | None:
    """TTFF distribution per variant (ours, and the reference's pairs), streams vs RTF, and the
    gRPC frame intervals under realtime pacing when that profile ran."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("benchmarks: matplotlib missing, no plot (pip install '.[render]')", file=sys.stderr)
        return None
    rows = [
        (p["profile"], v)
        for p in doc["profiles"].values()
        for v in p["variants"]
        if v["status"] == "ok"
    ]
    if not rows:
        return None
    paced = [
        (v["label"], v["figures"]["realtime"]["intervals_ms"])
        for _, v in rows
        if v["figures"].get("realtime")
    ]
    fig, axes = plt.subplots(1, 3 if paced else 2, figsize=(20 if paced else 14, 5.5))
    ax1, ax2 = axes[0], axes[1]
    labels, ours, refs = [], [], []
    for prof, v in rows:
        labels.append(f"{prof}\n{v['label']}")
        ours.append(v.get("ttff_all_ms") or [p["ours"]["ttff_ms"] for p in v["pairs"]])
        refs.append([p["reference"]["ttff_ms"] for p in v["pairs"]])
    pos = range(len(rows))
    ax1.boxplot(ours, positions=list(pos), widths=0.5, showfliers=True)
    for i, r in zip(pos, refs, strict=True):
        ax1.scatter(
            [i] * len(r),
            r,
            marker="x",
            color="tab:red",
            label="reference (whole decode)" if i == 0 else None,
        )
    ax1.axhline(50, color="grey", ls="--", lw=1, label="50 ms")
    ax1.set_yscale("log")
    ax1.set_xticks(list(pos), labels, rotation=60, ha="right", fontsize=7)
    ax1.set_ylabel("time to first frame (ms)")
    ax1.set_title("Time to first frame: ours (box) vs reference (x)")
    ax1.legend(fontsize=7)
    for prof, v in rows:
        sweep = v["figures"].get("streams")
        if sweep:
            ax2.plot(
                [p["streams"] for p in sweep],
                [p["rtf"] for p in sweep],
                marker="o",
                label=f"{prof}: {v['label']}",
            )
    ax2.axhline(1.0, color="black", lw=1, label="real time")
    ax2.axhline(RTF_LIMIT, color="grey", ls="--", lw=1, label=f"RTF {RTF_LIMIT}")
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("concurrent utterances (BatchDecoder batch)")
    ax2.set_ylabel("RTF per stream (step time / 12.5 ms)")
    ax2.set_title("Streams vs RTF")
    ax2.legend(fontsize=6)
    if paced:
        ax3 = axes[2]
        for label, intervals in paced:
            ax3.hist(intervals, bins=40, alpha=0.6, label=label)
        ax3.axvline(FRAME_MS, color="black", lw=1, label=f"{FRAME_MS} ms")
        ax3.set_xlabel("inter-arrival time at the client (ms)")
        ax3.set_ylabel("frames")
        ax3.set_title("gRPC realtime pacing: frame intervals")
        ax3.legend(fontsize=7)
    fig.suptitle(
        f"text2lips benchmarks — {doc['machine']['cpu_model']}, "
        f"{doc['machine']['cores_usable']} cores, {doc['created'][:19]}",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
