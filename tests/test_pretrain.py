"""Pretraining on the synthetic corpus: train.py's loop on rendered sentences, validated on the
real clips, and a checkpoint that `text2lips train --init` fine-tunes from."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from text2lips.cli import main
from text2lips.data.dataset import speaker_references
from text2lips.model import LipDecoder, get_config, load_model, read_metadata
from text2lips.train import STATE_NAME, to_example, validation_loss
from text2lips.viseme import VisemeModel
from text2lips.viseme.corpus import CorpusSettings, build_corpus, load_corpus, write_corpus
from text2lips.viseme.runtime import default_model_file

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.", "Peter picked a peck of peppers.",
    "We will meet at the mill.", "Would you like a cup of tea?", "She sells sea shells.",
    "Five fat frogs flew past.", "Bob ate the apple.", "My mom makes bread.",
    "Open the window, please.", "Who knew it was you?", "Father bought a boat.",
    "Big bugs bite back.", "Move the map up.", "Keep it simple.", "Wave to the man.",
    "I see a bee.",
]
SEED = 5
TINY = get_config("tiny")



def pretrain_cli(out: Path, corpus: Path, config: Path, data_dir: Path, *extra: str) -> int:
    return main([
        "pretrain", "--corpus", str(corpus), "--config", str(config), "--data", str(data_dir),
        "--max-clips", "4", "--batch-size", "4", "--lr", "1e-2", "--seed", str(SEED),
        "--device", "cpu", "--out", str(out), *extra,
    ])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, data_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pretrain")
    clips = build_corpus(VisemeModel.load(default_model_file()), SENTENCES,
                         speaker_references(data_dir, "lrs3"), CorpusSettings(seed=SEED))
    corpus = write_corpus(root / "corpus.npz", clips, {"settings": {"seed": SEED}})
    config = root / "tiny.json"
    config.write_text(json.dumps(TINY.to_dict()))
    assert pretrain_cli(root / "run", corpus, config, data_dir, "--limit", "16",
                        "--max-clips", "16", "--epochs", "3") == 0
    return {"root": root, "corpus": corpus, "config": config, "run": root / "run"}


def test_pretraining_reduces_loss_and_validates_on_real_clips(tiny) -> None:
    with (tiny["run"] / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert all(float(r["val_free_l1_mm"]) > 0 for r in rows)  # real trainval clips

    examples = [to_example(c) for c in load_corpus(tiny["corpus"])]
    torch.manual_seed(SEED)  # the run's initial weights
    initial = LipDecoder(TINY)
    trained = load_model(tiny["run"] / "last")
    pos_weight = torch.tensor(10.0)
    before = validation_loss(initial, examples, 4, torch.device("cpu"), pos_weight)
    after = validation_loss(trained, examples, 4, torch.device("cpu"), pos_weight)
    assert after < 0.9 * before

    meta = read_metadata(tiny["run"] / "best")
    assert meta["data"].startswith("synthetic corpus corpus.npz: 16 clips")
    assert "non-commercial" in meta["licence"]
    assert meta["val_free_l1_mm"] == pytest.approx(min(float(r["val_free_l1_mm"]) for r in rows))


def test_train_init_fine_tunes_from_the_pretrained_checkpoint(tiny, data_dir, capsys) -> None:
    out = tiny["root"] / "finetune"
    assert main([
        "train", "--init", str(tiny["run"] / "best"), "--config", str(tiny["config"]),
        "--data", str(data_dir), "--max-clips", "4", "--batch-size", "4", "--epochs", "1",
        "--device", "cpu", "--out", str(out),
    ]) == 0
    assert "initialised" in capsys.readouterr().out
    assert read_metadata(out / "last")["data"].startswith("lrs3_ted93")
    assert load_model(out / "best").config == TINY


def test_resume_continues_only_on_the_same_corpus(tiny, data_dir, tmp_path, capsys) -> None:
    other = write_corpus(tmp_path / "other.npz", load_corpus(tiny["corpus"])[:8], {})
    assert pretrain_cli(tiny["run"], other, tiny["config"], data_dir, "--resume") == 2
    assert "is not what" in capsys.readouterr().err
    # Same corpus, same limit: nothing left at the planned length, and no error.
    assert pretrain_cli(tiny["run"], tiny["corpus"], tiny["config"], data_dir, "--limit", "16",
                        "--max-clips", "16", "--resume") == 0
    assert torch.load(tiny["run"] / "last" / STATE_NAME, weights_only=True)["epoch"] == 3


def test_bad_limit_names_the_value(tiny, data_dir, capsys) -> None:
    assert pretrain_cli(tiny["root"] / "x", tiny["corpus"], tiny["config"], data_dir,
                        "--limit", "0") == 2
    assert "--limit 0" in capsys.readouterr().err


def test_synthetic_clips_are_timed_again_for_the_word_guide(tiny) -> None:
    from text2lips.text import text_to_sequence

    clips = load_corpus(tiny["corpus"])
    for clip in clips:
        words = clip.word_timings()
        assert words and all(w.end_s >= w.start_s for w in words)
        assert [w.start_s for w in words] == sorted(w.start_s for w in words)
        assert words[-1].end_s <= clip.duration_s + 0.05  # espeak's own clock, as rendered
        e = to_example(clip)
        assert e.positions is not None and len(e.positions) == len(e.target)
        assert (e.positions[1:] >= e.positions[:-1]).all()
        assert e.positions[-1] >= len(text_to_sequence(clip.text)) - 3  # ends near the end
        assert to_example(clip, timings=False).positions is None
