"""Markdown table of articulation figures from `text2lips eval --json` reports (and a
`text2lips phoneme crossval --json` report): one row per (model, timing, corpus).

    python tools/quality_table.py runs/eval/*.json runs/cv.json > table.md
    python tools/quality_table.py tacotron=runs/tacotron-own.json ...   # name the model's rows
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = (
    ("l1_centred_mm", "L1 centred mm", ".2f"),
    ("opening_r", "opening r", ".2f"),
    ("opening_r_dtw", "r after DTW", ".2f"),
    ("motion_ratio", "std ratio", ".2f"),
    ("velocity_ratio", "velocity ratio", ".2f"),
    ("band_ratio", "2–7 Hz ratio", ".2f"),
    ("closure_recall", "p/b/m closed", ".0%"),
    ("false_closure_rate", "false closures", ".0%"),
    ("duration_ratio", "duration ratio", ".2f"),
)


def rows(path: Path, label: str | None = None) -> list[tuple[str, str, dict]]:
    doc = json.loads(path.read_text())
    if "phoneme" in doc and "folds" in doc:  # a cross-validation report
        where, model = "true, LRS3 pretrain", doc["phoneme"]
        name = f"{label or 'phoneme'} ({doc['folds']}-fold CV)"
    else:
        where = f"{doc.get('timing', 'own')}, " + (
            "RAVDESS" if doc.get("corpus") == "ravdess" else f"LRS3 {doc.get('split', 'trainval')}")
        name, model = label or doc["model"], doc["articulation"]
    out = [(name, where, model), ("still mouth", where, doc["still"])]
    if "true_closure_recall" in model:  # how often the tracked truth itself "closes"
        truth = {"clips": model["clips"], "closure_recall": model["true_closure_recall"],
                 "false_closure_rate": model["true_false_closure_rate"]}
        out.append(("truth (OpenFace)", where, truth))
    return out


def main(argv: list[str]) -> int:
    seen: dict[tuple[str, str], dict] = {}
    for arg in argv:
        label, _, p = arg.rpartition("=")
        for model, where, figures in rows(Path(p), label or None):
            seen.setdefault((model, where), figures)
    last = ("still mouth", "truth (OpenFace)")
    order = sorted(seen, key=lambda k: (k[1], k[0] in last, k[0]))
    print("| timing, clips | model | clips | " + " | ".join(c[1] for c in COLUMNS) + " |")
    print("|---|---|---:|" + "---:|" * len(COLUMNS))
    for model, where in order:
        f = seen[(model, where)]
        cells = [format(f[k], fmt) if k in f else "–" for k, _, fmt in COLUMNS]
        print(f"| {where} | {model} | {int(f.get('clips', 0))} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
