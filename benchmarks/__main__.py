"""`python -m benchmarks --profile default|all|edge|cpu-server|gpu|grpc [--quick]`: run the
profiles, write results/<profile>-<host>-<date>.json and .png, print the Markdown table."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.models import DEFAULT_CACHE


def build_parser() -> argparse.ArgumentParser:
    from benchmarks.profiles import GROUPS, PROFILES

    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--profile",
        default="default",
        help=f"one of {', '.join([*GROUPS, *PROFILES])}, or a comma-separated list "
        "(default: edge, cpu-server and grpc)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="one short sentence, a few frames per profile (wiring check, no figures)",
    )
    p.add_argument(
        "--pairs",
        type=int,
        default=None,
        help="sentences decoded in full against the reference (default 3)",
    )
    p.add_argument(
        "--cores",
        type=int,
        default=None,
        help="threads that `all cores` means for cpu-server and grpc "
        "(default: every core this process may use)",
    )
    p.add_argument(
        "--tiny",
        action="store_true",
        help="time the tiny random test model instead of paper/edge sizes (tests)",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="results directory (default benchmarks/results)"
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help="where random-weight stand-in models are built (default .cache/benchmarks)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=540.0,
        help="seconds the whole run should take; each variant gets a share of what is "
        "left (default 540, so `make bench` ends within 10 minutes)",
    )
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a profile FAILs (default: report only, exit 0)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Heavy imports after parsing, so --help is instant.
    from benchmarks import report
    from benchmarks.measure import cpu_threads, log
    from benchmarks.profiles import Context, count_variants, expand, run_profile
    from benchmarks.workload import FRAMES_PER_CHAR, Plan

    names = expand(args.profile)
    for flag in ("pairs", "cores"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise SystemExit(f"benchmarks: --{flag} {value}: must be >= 1")
    cores = args.cores or cpu_threads()
    plan = Plan.make(args.quick, pairs=args.pairs)
    started = datetime.now(timezone.utc).astimezone()
    t0 = time.perf_counter()
    ctx = Context(
        plan=plan,
        cache_dir=args.cache_dir,
        tiny=args.tiny,
        deadline=time.monotonic() + args.budget,
        variants_left=count_variants(names, cores),
        cores=cores,
    )
    machine = report.machine_info()
    log(
        f"profiles {', '.join(names)} on {machine['cpu_model']} ({machine['cores_usable']} cores), "
        f"load average {machine['load_average_start']}" + (" [quick]" if args.quick else "")
    )

    profiles = {name: run_profile(name, ctx) for name in names}
    machine["load_average_end"] = report.load_average()
    doc = {
        "schema": 1,
        "created": started.isoformat(timespec="seconds"),
        "profile_arg": args.profile,
        "quick": args.quick,
        "tiny_models": args.tiny,
        "wall_s": round(time.perf_counter() - t0, 1),
        "machine": machine,
        "settings": {
            "frames_per_char": FRAMES_PER_CHAR,
            "all_cores_threads": cores,
            "frame_cap": plan.frame_cap,
            "ttff_sentences": len(plan.ttff_sentences),
            "pair_sentences": [len(s) for s in plan.pair_sentences],
            "stream_counts": list(plan.stream_counts),
            "stream_steps": plan.stream_steps,
            "budget_s": args.budget,
            "phase_budgets_max_s": {
                "ttff": plan.ttff_budget_s,
                "pairs": plan.pair_budget_s,
                "streams": plan.stream_budget_s,
            },
            "grpc_realtime": {
                "sentences": [len(s) for s in plan.grpc_realtime_sentences],
                "max_frames": plan.grpc_realtime_frames,
            },
        },
        "random_weights": any(
            v.get("model", {}).get("random_weights")
            for p in profiles.values()
            for v in p["variants"]
        ),
        "profiles": profiles,
    }
    name = args.profile.replace(",", "+")
    stem = report.output_stem(name, machine["host"], started)
    out_dir = args.out or report.RESULTS_DIR
    json_path = report.write_json(doc, out_dir / f"{stem}.json")
    png = None if args.no_plot else report.plot(doc, out_dir / f"{stem}.png")
    log(f"wrote {json_path}" + (f" and {png.name}" if png else "") + f" in {doc['wall_s']:.0f} s")
    sys.stdout.write(report.markdown(doc))
    failed = [p for p in profiles.values() if p["verdict"] == "FAIL"]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
