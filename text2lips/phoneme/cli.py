"""`text2lips phoneme train|crossval`: train the phoneme-timed model on the real clips at their
real timing, or cross-validate it (k folds over the LRS3 pretrain clips, stratified by speaker)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

from text2lips import Text2LipsError
from text2lips.phoneme.train import TrainSettings, speaker_folds, train

LICENCE = (
    "Weights: non-commercial use only (trained on LRS3 TED landmark tracks, CC BY-NC-ND 4.0). "
    "Code: MIT."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    for name in ("train", "crossval"):
        p = sub.add_parser(name)
        p.add_argument("--data", type=Path, default=None, help="shared data folder")
        for f in fields(TrainSettings):
            kind = _flag if isinstance(f.default, bool) else type(f.default)
            p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=None,
                           help=f"default {f.default}")
        if name == "train":
            p.add_argument("--out", type=Path, required=True, help="model directory to write")
            p.add_argument("--crossval", type=Path, default=None,
                           help="a crossval JSON to record in the model's metadata")
        else:
            p.add_argument("--folds", type=int, default=5)
            p.add_argument("--json", type=Path, default=None, help="write the report here")


def _flag(text: str) -> bool:
    """A yes/no option's value: 1/0, true/false, yes/no (bool("0") would be True)."""
    value = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
    try:
        return value[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 or 0") from None


def _settings(args: argparse.Namespace) -> TrainSettings:
    given = {f.name: getattr(args, f.name) for f in fields(TrainSettings)}
    return TrainSettings(**{k: v for k, v in given.items() if v is not None})


def in_memory_synthesizer(model, name: str = "phoneme", speaker: str | None = None):
    """A Synthesizer over a model that was just trained (no files). `speaker`: a training
    speaker whose embedding row the model uses (a model with speakers; default the unknown
    speaker, as served)."""
    from text2lips.phoneme.model import speaker_index
    from text2lips.phoneme.runtime import PhonemeBackend, PhonemeSynthesizer, torch_runner
    from text2lips.runtime.kinds import PHONEME
    from text2lips.runtime.voice import ModelInfo

    row = speaker_index(model.config, speaker) if speaker is not None and model.config.speakers \
        else None
    run = torch_runner(model, speaker_row=row)
    backend = PhonemeBackend(run, model.config.history,
                             model.config.lookahead, "phoneme-torch-cpu")
    return PhonemeSynthesizer(backend, ModelInfo(name=name, kind=PHONEME), model.config)


def _log(step: int, terms: dict[str, float]) -> None:
    print(f"step {step:5d} " + " ".join(f"{k} {v:.3f}" for k, v in terms.items()),
          file=sys.stderr, flush=True)


def crossval(clips, settings: TrainSettings, folds: int) -> dict:
    """Held-out true-timing metrics of k models, each trained without its fold."""
    from text2lips.data.timing import placement_named
    from text2lips.evaluate import articulation_rows, articulation_summary, still_rows

    placement = placement_named(settings.placement)  # the models are judged as trained
    rows: list[dict] = []
    known: list[dict] = []  # with speakers: each held-out clip at its own speaker's row
    for k, test in enumerate(speaker_folds(clips, folds)):
        held = set(test)
        t0 = time.time()
        model = train([c for i, c in enumerate(clips) if i not in held], settings, progress=_log)
        part = articulation_rows(in_memory_synthesizer(model), [clips[i] for i in test],
                                 timing="true", placement=placement)
        print(f"fold {k}: {len(test)} clips, {time.time() - t0:.0f} s, "
              f"{json.dumps(articulation_summary(part))}", file=sys.stderr, flush=True)
        rows += [r | {"fold": k} for r in part]
        if settings.speakers:
            # only speakers this model learned: a speaker all of whose clips are held out
            # would fall back to the unknown row and be no "known" figure
            for spk in sorted({clips[i].speaker for i in test} & set(model.config.speakers)):
                mine = [clips[i] for i in test if clips[i].speaker == spk]
                known += [r | {"fold": k} for r in articulation_rows(
                    in_memory_synthesizer(model, speaker=spk), mine, timing="true",
                    placement=placement)]
    extra = {"phoneme_known_speaker": articulation_summary(known)} if known else {}
    return {
        "timing": "true",
        "folds": folds,
        "settings": asdict(settings),
        "phoneme": articulation_summary(rows),
        "still": articulation_summary(still_rows(clips, timing="true", placement=placement)),
        "per_clip": rows,
    } | extra


def run(args: argparse.Namespace) -> int:
    from text2lips.data.dataset import load_clips

    settings = _settings(args)
    clips = load_clips(args.data, "lrs3", "pretrain")
    if args.action == "crossval":
        if not 2 <= args.folds <= len(clips):
            raise Text2LipsError(f"--folds {args.folds}: must be 2..{len(clips)}")
        report = crossval(clips, settings, args.folds)
        text = json.dumps(report, indent=1, default=float)
        if args.json:
            args.json.write_text(text + "\n")
        shown = ("phoneme", "phoneme_known_speaker", "still")
        summary = {k: report[k] for k in shown if k in report}
        print(json.dumps(summary, indent=1, default=float))
        return 0

    from text2lips.phoneme.checkpoint import save_phoneme_model
    from text2lips.runtime.voice import speakers_from_data

    t0 = time.time()
    model = train(clips, settings, progress=_log)
    speakers = speakers_from_data(args.data)
    meta = {
        "name": args.out.name,
        "licence": LICENCE,
        "data": "lrs3_ted93 pretrain split (80 clips, real word timings)",
        "settings": asdict(settings),
        "train_seconds": round(time.time() - t0, 1),
        "speakers": {k: [round(float(x), 4) for x in v] for k, v in speakers.items()},
        "default_speaker": sorted(speakers)[0],
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }
    if args.crossval:
        cv = json.loads(args.crossval.read_text())
        meta["crossval"] = {k: cv[k] for k in ("folds", "phoneme", "still")}
    save_phoneme_model(model, args.out, meta)
    print(f"wrote {args.out} ({meta['parameters']} parameters, {meta['train_seconds']} s)")
    return 0


__all__ = ["crossval", "in_memory_synthesizer"]
