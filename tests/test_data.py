"""The real-data pipeline on the real OpenFace files in ../shared/data."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.data import lips as L
from text2lips.data.dataset import load_clips, speaker_references
from text2lips.data.openface import (
    OpenFaceError,
    filter_frames,
    read_openface_csv,
    rotation_matrices,
    to_head_space,
)
from text2lips.data.transcripts import ravdess_statement, read_lrs3_transcript

RIGID = [27, 28, 29, 30, 36, 39, 42, 45]  # nose bridge and eye corners


def test_summary_counts(data_dir):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "text2lips.cli",
            "data",
            "summary",
            "--data",
            str(data_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    s = json.loads(out.stdout)
    assert s["lrs3"]["clips"] == 93
    assert s["lrs3"]["train"] == 80
    assert s["lrs3"]["val"] == 13
    assert s["lrs3"]["speakers"] == 4
    assert s["ravdess"]["clips"] == 96
    assert s["ravdess"]["speakers"] == 24
    assert s["dropped_frames"] == 0  # the shared files were pre-filtered at confidence 0.7
    assert s["total_frames"] == s["lrs3"]["frames"] + s["ravdess"]["frames"]
    assert s["total_seconds"] == pytest.approx(s["total_frames"] / FRAME_RATE, abs=1e-3)


def test_rotation_matrices_compose_x_then_y_then_z():
    ang = np.array([[0.3, -0.2, 0.1]])
    r = rotation_matrices(ang)[0]
    rx = rotation_matrices(np.array([[0.3, 0, 0]]))[0]
    ry = rotation_matrices(np.array([[0, -0.2, 0]]))[0]
    rz = rotation_matrices(np.array([[0, 0, 0.1]]))[0]
    np.testing.assert_allclose(r, rx @ ry @ rz, atol=1e-12)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert not np.allclose(r, rz @ ry @ rx)


def test_correct_reprojection_keeps_rigid_points_stiller_on_all_93_clips(data_dir):
    csvs = sorted((data_dir / "lrs3_ted93" / "landmarks").glob("*/*/*.csv"))
    assert len(csvs) == 93
    better = 0
    jitter = {"xyz": [], "zyx": []}
    for csv in csvs:
        track = read_openface_csv(csv)
        for order in ("xyz", "zyx"):
            rigid = track.head_space(order)[:, RIGID]
            jitter[order].append(np.linalg.norm(np.diff(rigid, axis=0), axis=-1).mean())
        better += jitter["xyz"][-1] < jitter["zyx"][-1]
    # Head rotations here are small (median peak 0.4 rad), so the two compositions differ by a
    # second-order term and tracking noise decides some clips; over the corpus the right one wins.
    assert np.mean(jitter["xyz"]) < np.mean(jitter["zyx"])
    assert better >= 2 / 3 * len(csvs), f"only {better}/93 clips favour R = Rx·Ry·Rz"


def test_head_space_recovers_a_rigid_shape_exactly():
    rng = np.random.default_rng(0)
    shape = rng.normal(0, 30, (68, 3))
    euler = rng.uniform(-0.6, 0.6, (50, 3))
    t = rng.normal(0, 100, (50, 3)) + [0, 0, 600]
    cam = np.einsum("nij,pj->npi", rotation_matrices(euler), shape) + t[:, None]  # X = R·S + T
    np.testing.assert_allclose(
        to_head_space(cam, t, euler), np.broadcast_to(shape, cam.shape), atol=1e-9
    )
    wrong = to_head_space(cam, t, euler, order="zyx")
    assert np.abs(wrong - shape).max() > 1.0


def test_clips_are_80fps_head_space_with_targets(data_dir):
    train = load_clips(data_dir, "lrs3", "pretrain")
    val = load_clips(data_dir, "lrs3", "trainval")
    assert len(train) == 80 and len(val) == 13
    assert {c.speaker for c in val} <= {c.speaker for c in train}
    clip = train[0]
    assert clip.lips.shape[1:] == (20, 3) and clip.lips.dtype == np.float32
    assert clip.target.shape == (clip.n_frames, 60)
    # target + reference gives back the centred lips exactly
    np.testing.assert_allclose(
        L.shape_from_target(clip.target, clip.reference), L.centre(clip.lips), atol=1e-4
    )
    np.testing.assert_allclose(clip.reference.mean(axis=0), 0, atol=1e-4)
    # 80 fps: the clip lasts as long as its source video rows
    fps = json.loads((data_dir / "lrs3_ted93" / "fps.json").read_text())
    src = (
        data_dir / "lrs3_ted93" / "landmarks" / "pretrain" / f"{clip.clip_id.split('/', 2)[2]}.csv"
    )
    rows = len(pd.read_csv(src))
    assert clip.duration_s == pytest.approx(rows / fps[clip.speaker], abs=2 / FRAME_RATE)
    # words are timed inside the clip
    assert clip.words and clip.words[-1].end_s <= clip.duration_s + 0.5
    # a mouth that opens and closes: inner opening spans several mm
    opening = L.inner_opening(clip.lips)
    assert opening.max() - opening.min() > 3.0


def test_references_come_from_training_split_only(data_dir):
    refs = speaker_references(data_dir, "lrs3")
    assert len(refs) == 4
    train = [c for c in load_clips(data_dir, "lrs3", "pretrain") if c.speaker == "0FkuRwU8HFc"]
    mean = np.concatenate([L.centre(c.lips) for c in train]).mean(axis=0)
    np.testing.assert_allclose(refs["0FkuRwU8HFc"], mean, atol=1e-4)


def test_transcripts(fixture_data):
    path = fixture_data / "lrs3_ted93/transcripts/pretrain/0FkuRwU8HFc/00004.txt"
    tr = read_lrs3_transcript(path)
    assert tr.text.startswith("PROBLEM IS NOT SO MUCH")
    assert tr.words[0].word == "PROBLEM" and tr.words[0].start_s == pytest.approx(0.07)
    assert [w.word for w in tr.words] == tr.text.split()
    assert ravdess_statement("02-01-08-01-02-01-24.csv") == "DOGS ARE SITTING BY THE DOOR"
    assert ravdess_statement("02-01-08-01-01-01-01-01") == "KIDS ARE TALKING BY THE DOOR"
    with pytest.raises(Text2LipsError, match="not a RAVDESS file name"):
        ravdess_statement("hello.csv")


def _as_feature_extraction(src, dst, low_conf_rows=(), failed_rows=()):
    """Rewrite a real pandas-saved file in FeatureExtraction's layout (', ' separator)."""
    df = pd.read_csv(src, index_col=0).reset_index(drop=True)
    df = df.drop(columns=[c for c in df.columns if c.startswith("Unnamed")])
    head = pd.DataFrame(
        {
            "frame": np.arange(1, len(df) + 1),
            "face_id": 0,
            "timestamp": np.arange(len(df)) / 29.97,
            "success": 1,
        }
    )
    df = pd.concat([head, df], axis=1)
    df.loc[list(failed_rows), "success"] = 0
    df.loc[list(low_conf_rows), "confidence"] = 0.3
    cols = ["frame", "face_id", "timestamp", "confidence", "success"] + [
        c for c in df.columns if c not in ("frame", "face_id", "timestamp", "confidence", "success")
    ]
    df[cols].to_csv(dst, index=False, sep=",", float_format="%.6f")
    text = dst.read_text().replace(",", ", ")
    dst.write_text(text)


def test_feature_extraction_layout_and_drop_report(fixture_data, tmp_path):
    src = fixture_data / "lrs3_ted93/landmarks/pretrain/0FkuRwU8HFc/00004.csv"
    dst = tmp_path / "fe.csv"
    _as_feature_extraction(src, dst, low_conf_rows=[3, 4, 5], failed_rows=[10])
    fe = read_openface_csv(dst)
    ref = read_openface_csv(src)
    assert len(fe) == len(ref)
    np.testing.assert_allclose(fe.landmarks, ref.landmarks, atol=1e-5)
    kept = filter_frames(fe, 0.7)
    assert len(kept) == len(ref) - 4
    assert kept.drops.low_confidence == 3 and kept.drops.not_success == 1
    assert "4/" in str(kept.drops)
    assert 4 not in kept.frames and 11 in kept.frames


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda lines: (
                [lines[0].replace("X_48,", "")] + [",".join(ln.split(",")[:-1]) for ln in lines[1:]]
            ),
            "missing columns X_48",
        ),
        (
            lambda lines: lines[:5] + [",".join(lines[5].split(",")[:40])] + lines[6:],
            "truncated row",
        ),
        (lambda lines: [], "empty"),
        (lambda lines: lines[:1], "no frames"),
        (
            lambda lines: (
                lines[:3] + [lines[3].replace(lines[3].split(",")[20], "nan", 1)] + lines[4:]
            ),
            "NaN at data row 3",
        ),
    ],
    ids=["missing-columns", "truncated-row", "empty-file", "header-only", "nan"],
)
def test_bad_csv_gives_one_clear_error(fixture_data, tmp_path, mutate, message):
    src = fixture_data / "lrs3_ted93/landmarks/pretrain/0FkuRwU8HFc/00004.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(mutate(src.read_text().splitlines())))
    with pytest.raises(OpenFaceError, match=message) as err:
        read_openface_csv(bad)
    assert str(bad) in str(err.value)


def test_bad_data_dir_is_a_cli_error(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "text2lips.cli", "data", "summary", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "lrs3_ted93" in out.stderr


def test_nothing_half_written_when_preprocessing_fails(tmp_path, monkeypatch):
    # A data folder with one broken clip: loading fails cleanly and leaves no cache file.
    root = tmp_path / "data" / "lrs3_ted93"
    (root / "landmarks/pretrain/vid").mkdir(parents=True)
    (root / "transcripts/pretrain/vid").mkdir(parents=True)
    (root / "fps.json").write_text('{"vid": 25.0}')
    (root / "landmarks/pretrain/vid/00001.csv").write_text("")
    (root / "transcripts/pretrain/vid/00001.txt").write_text("Text:  HELLO\n")
    cache = tmp_path / "cache"
    monkeypatch.setenv("TEXT2LIPS_CACHE", str(cache))
    with pytest.raises(OpenFaceError, match="empty"):
        load_clips(tmp_path / "data", "lrs3")
    assert not cache.exists() or not any(cache.iterdir())


def test_resample_linear_and_rate():
    x = np.arange(10, dtype=float)[:, None]  # 10 samples at 25 fps = 0.36 s span
    y = L.resample_frames(x, 25.0, 80.0)
    assert len(y) == int(0.36 * 80) + 1
    np.testing.assert_allclose(y[:, 0], np.arange(len(y)) / 80 * 25, atol=1e-9)
