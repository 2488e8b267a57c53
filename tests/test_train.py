"""Training: batching helpers, the free-running metric, and tiny real runs (loss falls, resume)."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch

from text2lips import Text2LipsError
from text2lips.cli import main
from text2lips.data.dataset import load_clips
from text2lips.evaluate import evaluate
from text2lips.model import (
    LipDecoder,
    get_config,
    load_model,
    read_metadata,
    save_model,
)
from text2lips.runtime import Synthesizer
from text2lips.text import text_to_sequence
from text2lips.train import (
    STATE_NAME,
    TrainSettings,
    collate,
    free_running_l1,
    gate_targets,
    make_batches,
    to_example,
    validation_loss,
)

TINY = get_config("tiny")
SEED = 7


@pytest.fixture(scope="module")
def short_clips(data_dir: Path) -> list:
    """The 8 shortest real training clips: what `--max-clips 8` trains on."""
    return sorted(load_clips(data_dir, "lrs3", "pretrain"), key=lambda c: c.n_frames)[:8]


def train_cli(out: Path, data_dir: Path, config: Path, *extra: str) -> int:
    return main(
        [
            "train",
            "--config",
            str(config),
            "--data",
            str(data_dir),
            "--max-clips",
            "8",
            "--batch-size",
            "4",
            "--lr",
            "1e-2",
            "--seed",
            str(SEED),
            "--device",
            "cpu",
            "--out",
            str(out),
            *extra,
        ]
    )


def metrics(out: Path) -> list[dict]:
    with (out / "metrics.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, data_dir: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("train")
    config = root / "tiny.json"
    config.write_text(json.dumps(TINY.to_dict()))
    assert train_cli(root / "run", data_dir, config, "--epochs", "3") == 0
    return root / "run", config


def test_gate_targets_and_collate(short_clips) -> None:
    assert gate_targets(torch.tensor([3, 1]), 4).tolist() == [[0, 0, 1, 1], [1, 1, 1, 1]]
    examples = [to_example(c) for c in short_clips[:3]]
    batch = collate(examples)
    T = max(len(e.target) for e in examples)
    assert batch.targets.shape == (3, T, 60) and batch.gate_targets.shape == (3, T)
    for i, e in enumerate(examples):
        n, L = len(e.target), len(e.ids)
        assert batch.frame_lengths[i] == n and batch.text_lengths[i] == L
        assert torch.equal(batch.targets[i, :n], e.target) and torch.all(batch.targets[i, n:] == 0)
        assert torch.equal(batch.text[i, :L], e.ids) and torch.all(batch.text[i, L:] == 0)
        assert batch.gate_targets[i, : n - 1].sum() == 0 and torch.all(
            batch.gate_targets[i, n - 1 :] == 1
        )
    assert examples[0].ids.tolist() == text_to_sequence(short_clips[0].text)


def test_make_batches_covers_everything_once_with_similar_lengths() -> None:
    lengths = [
        int(x) for x in torch.randint(50, 3000, (80,), generator=torch.Generator().manual_seed(0))
    ]
    batches = make_batches(lengths, 8, torch.Generator().manual_seed(1))
    assert sorted(i for b in batches for i in b) == list(range(80))
    assert all(len(b) == 8 for b in batches)
    # Sorting within pools keeps padding well below that of random batches.
    padding = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    rand = torch.randperm(80, generator=torch.Generator().manual_seed(2)).tolist()
    rand_batches = [rand[j : j + 8] for j in range(0, 80, 8)]
    rand_padding = sum(
        max(lengths[i] for i in b) * 8 - sum(lengths[i] for i in b) for b in rand_batches
    )
    assert padding < 0.5 * rand_padding
    assert make_batches(lengths, 8, torch.Generator().manual_seed(1)) == batches
    assert make_batches(lengths, 8, torch.Generator().manual_seed(3)) != batches


def test_free_running_l1_is_what_eval_reports(short_clips, tmp_path) -> None:
    # Training validation and `text2lips eval` decode through the same path and average the
    # same way, so the figure a run records is the one eval gives its saved weights.
    torch.manual_seed(0)
    model = LipDecoder(TINY).train()
    clips = short_clips[:3]
    expected = []
    for clip in clips:  # the definition: the network stepped from text to the true length
        e = to_example(clip)
        T = len(e.target)
        with torch.no_grad():
            out = model.eval().infer(e.ids[None], torch.tensor([len(e.ids)]), T)
        diff = (out.frames[0] - e.target).reshape(T, 20, 3)
        expected.append(diff.abs().sum(-1).mean().item())  # |dx|+|dy|+|dz|, mean over a clip
    model.train()
    got = free_running_l1(model, clips, "cpu", batch_size=2)  # batched: must not change anything
    assert got == pytest.approx(sum(expected) / len(expected), rel=1e-4)
    assert model.training  # validation hands the model back as it found it
    save_model(model, tmp_path / "m")
    synth = Synthesizer.load(tmp_path / "m")
    assert evaluate(synth, clips, with_duration=False, rule=False)["l1_mm"] == pytest.approx(
        got, rel=1e-6)


def test_tiny_training_reduces_loss_and_saves_loadable_best(tiny_run, short_clips) -> None:
    out, _ = tiny_run
    rows = metrics(out)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert all(r["val_free_l1_mm"] for r in rows)

    torch.manual_seed(SEED)  # the run's initial weights
    initial = LipDecoder(TINY)
    trained = load_model(out / "last")
    examples = [to_example(c) for c in short_clips]
    pos_weight = torch.tensor(10.0)
    before = validation_loss(initial, examples, 4, torch.device("cpu"), pos_weight)
    after = validation_loss(trained, examples, 4, torch.device("cpu"), pos_weight)
    assert after < 0.9 * before

    best = load_model(out / "best")
    assert best.config == TINY and not best.training
    meta = read_metadata(out / "best")
    assert meta["val_free_l1_mm"] == pytest.approx(min(float(r["val_free_l1_mm"]) for r in rows))
    assert "non-commercial" in meta["licence"]


def test_resume_continues_from_saved_epoch(tiny_run, data_dir, tmp_path) -> None:
    src, config = tiny_run
    out = tmp_path / "run"
    shutil.copytree(src, out)
    before = torch.load(out / "last" / STATE_NAME, weights_only=True)
    assert before["epoch"] == 3 and before["step"] == 6

    # Nothing left to do at the planned length; a new run may not overwrite this one.
    assert train_cli(out, data_dir, config, "--resume") == 0
    assert train_cli(out, data_dir, config, "--epochs", "3") == 2
    # What was learnt so far cannot be changed under the run's feet.
    assert train_cli(out, data_dir, config, "--resume", "--lr", "3e-2") == 2

    assert main(["train", "--out", str(out), "--resume", "--epochs", "4", "--device", "cpu"]) == 0
    rows = metrics(out)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    after = torch.load(out / "last" / STATE_NAME, weights_only=True)
    assert after["epoch"] == 4 and after["step"] == 8 and int(rows[-1]["step"]) == 8
    assert after["settings"]["lr"] == 1e-2 and after["settings"]["epochs"] == 4
    assert read_metadata(out / "last")["epoch"] == 4
    # Weights moved on from epoch 3's.
    old, new = load_model(src / "last"), load_model(out / "last")
    assert not torch.equal(
        old.decoder.linear_projection.linear_layer.weight,
        new.decoder.linear_projection.linear_layer.weight,
    )


def test_resume_without_a_run_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["train", "--out", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "no run to resume" in capsys.readouterr().err


def test_segments_follow_word_boundaries(data_dir):
    from text2lips.train import segment_clips

    clips = load_clips(data_dir, "lrs3", "pretrain")[:6]
    segs = segment_clips(clips, 3.0)
    assert len(segs) > len(clips)
    for s in segs:
        assert len(s.target) <= (3.0 + 0.2) * 80 + 1
    # every word of a clip lands in exactly one of its segments, in order
    for c in clips:
        mine = [s for s in segs if s.clip_id.split("@")[0] == c.clip_id]
        assert " ".join(s.text for s in mine).split() == [w.word for w in c.words]


def test_guided_attention_is_zero_on_the_diagonal_and_high_off_it():
    from text2lips.train import guided_attention_loss

    T, L = 40, 10
    diag = torch.zeros(1, T, L)
    diag[0, torch.arange(T), (torch.arange(T) * L // T)] = 1.0
    anti = diag.flip(-1)
    lengths_t, lengths_f = torch.tensor([L]), torch.tensor([T])
    assert guided_attention_loss(diag, lengths_t, lengths_f) < 0.05
    assert guided_attention_loss(anti, lengths_t, lengths_f) > 0.5


def test_word_positions_follow_the_real_word_timings(data_dir: Path):
    from text2lips.train import LIP_LEAD_S, segment_clips, symbol_positions

    clip = load_clips(data_dir, "lrs3", "pretrain")[0]
    ids = text_to_sequence(clip.text)
    pos = symbol_positions(ids, clip.words, clip.n_frames)
    assert pos is not None and pos.shape == (clip.n_frames,)
    assert (pos >= 0).all() and (pos <= len(ids) - 1).all()
    assert (pos[1:] >= pos[:-1]).all()  # attention never goes back
    space = text_to_sequence("a b")[1]
    # Half-way through each word (allowing for the lips' lead), attention is on that word.
    start = 0
    for w in clip.words:
        n = len(text_to_sequence(w.word))
        mid = int(((w.start_s + w.end_s) / 2 - LIP_LEAD_S) * 80)
        if w.end_s - w.start_s > 0.05 and 0 <= mid < clip.n_frames:
            assert start <= pos[mid] <= start + n - 1, (w, pos[mid], start)
        start += n + 1
    # In a pause between words it rests on the space between them.
    gaps = [
        (a, b)
        for a, b in zip(clip.words[:-1], clip.words[1:], strict=True)
        if b.start_s - a.end_s > 0.1
    ]
    for a, b in gaps:
        f = int(((a.end_s + b.start_s) / 2 - LIP_LEAD_S) * 80)
        assert ids[int(pos[f])] == space
    # Pieces keep their own words, shifted, so they get positions too.
    pieces = segment_clips([clip], 2.0)
    assert len(pieces) > 1
    for piece in pieces:
        e = to_example(piece)
        assert e.positions is not None and len(e.positions) == len(e.target)
        assert piece.words[0].start_s < 0.2
    # A text whose words do not add up to its symbols gets none (the caller falls back).
    assert symbol_positions(text_to_sequence("HELLO"), clip.words, 80) is None


def test_word_guide_penalises_attention_off_the_timed_symbol_and_falls_back_per_row():
    from text2lips.train import guided_attention_loss

    T, L = 40, 10
    pos = torch.full((2, T), 2.0)  # the row says symbol 2 for the whole clip
    on = torch.zeros(2, T, L)
    on[:, :, 2] = 1.0
    diag = torch.zeros(2, T, L)
    diag[:, torch.arange(T), (torch.arange(T) * L // T)] = 1.0
    lt, lf = torch.tensor([L, L]), torch.tensor([T, T])
    assert guided_attention_loss(on, lt, lf, positions=pos) < 0.01
    assert guided_attention_loss(diag, lt, lf, positions=pos) > 0.5
    # A row without positions (NaN) is judged against the diagonal, as before.
    pos[1] = float("nan")
    mixed = torch.stack((on[0], diag[1]))
    assert guided_attention_loss(mixed, lt, lf, positions=pos) < 0.03
    assert torch.isclose(
        guided_attention_loss(diag, lt, lf, positions=torch.full((2, T), float("nan"))),
        guided_attention_loss(diag, lt, lf),
    )


def test_collate_carries_positions_and_marks_clips_without_them():
    from types import SimpleNamespace

    clip = SimpleNamespace(clip_id="a", text="HI", target=torch.zeros(5, 60).numpy(), words=())
    a = to_example(clip)
    assert a.positions is None
    b = a._replace(positions=torch.arange(5, dtype=torch.float32) / 4)
    batch = collate([a, b])
    assert torch.isnan(batch.positions[0]).all()
    assert torch.equal(batch.positions[1], b.positions)


def test_word_guide_is_what_a_run_is_scored_on(data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY.to_dict()))
    losses = {}
    for guide in ("diagonal", "words"):
        out = tmp_path / guide
        args = ("--epochs", "1", "--guided-attention", "1", "--guide", guide)
        assert train_cli(out, data_dir, config, *args) == 0
        (row,) = metrics(out)
        losses[guide] = float(row["train_attention_loss"])
        state = torch.load(out / "last" / STATE_NAME, weights_only=True)
        assert state["settings"]["guide"] == guide  # so --resume keeps it
    # Same seed, same first step: only the guide differs, and it changes what is penalised.
    assert losses["diagonal"] > 0 and losses["words"] > 0
    assert losses["words"] != pytest.approx(losses["diagonal"], rel=1e-3)


def test_motion_loss_is_zero_for_the_truth_and_penalises_a_still_or_padded_prediction():
    from text2lips.train import Batch, motion_loss

    torch.manual_seed(0)
    targets = torch.randn(2, 50, 60)
    targets[1, 30:] = 0  # padding past the second sequence's 30 frames
    lengths = torch.tensor([50, 30])
    batch = Batch(
        text=torch.zeros(2, 5, dtype=torch.long),
        text_lengths=torch.tensor([5, 5]),
        targets=targets,
        frame_lengths=lengths,
        gate_targets=torch.zeros(2, 50),
        positions=torch.full((2, 50), float("nan")),
    )
    assert motion_loss(targets, batch).item() < 1e-2
    # Standing still costs the true std (about 1 for unit noise); half the motion, half that.
    assert motion_loss(torch.zeros_like(targets), batch).item() == pytest.approx(1.0, abs=0.1)
    assert motion_loss(targets * 0.5, batch).item() == pytest.approx(0.5, abs=0.05)
    # What the model does on padding frames does not count.
    wild = targets.clone()
    wild[1, 30:] = 100.0
    assert motion_loss(wild, batch).item() < 1e-2


def test_corrupted_teacher_keeps_shape_and_zeroes_dropped_frames():
    import dataclasses

    from text2lips.train import TrainSettings, corrupt_teacher

    targets = torch.ones(2, 500, 60)
    assert corrupt_teacher(targets, TrainSettings()) is None  # the paper's plain teacher forcing
    torch.manual_seed(0)
    noisy = corrupt_teacher(
        targets, dataclasses.replace(TrainSettings(), teacher_dropout=0.3, teacher_noise=0.5)
    )
    assert noisy.shape == targets.shape
    dropped = (noisy == 0).all(-1).float().mean().item()
    assert 0.2 < dropped < 0.4
    kept = noisy[(noisy != 0).any(-1)]
    assert 0.3 < (kept - 1).std().item() < 0.7


def test_checkpoints_are_servable_as_they_are(tiny_run) -> None:
    from text2lips.runtime import Synthesizer

    out, _ = tiny_run
    synth = Synthesizer.load(out / "best")
    assert len(synth.info.speakers) == 4  # the LRS3 training speakers, with their lips
    frame = next(synth.stream("Hello there."))
    assert frame.landmarks.shape == (60,)


def test_resume_refuses_a_run_made_with_a_retired_switch() -> None:
    from text2lips.train.settings import resume_settings

    saved = dataclasses.asdict(TrainSettings(epochs=3))
    # Runs saved before the research switches left: at their defaults they resume as before.
    old = {**saved, "freeze": [], "force_attention": False, "rehearse": None,
           "rehearse_share": 1.0, "prenet": None, "postnet": None, "init_nvidia": None}
    assert resume_settings(old, TrainSettings(), set()) == TrainSettings(epochs=3)
    with pytest.raises(Text2LipsError, match=r"force_attention.*docs/ablation\.md"):
        resume_settings({**old, "force_attention": True}, TrainSettings(), set())
