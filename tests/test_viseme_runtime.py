"""The viseme baseline served through the runtime: streaming, batching, errors and eval."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from text2lips import FRAME_DIM, FRAME_RATE, Text2LipsError
from text2lips.cli import main
from text2lips.runtime import SynthesisOptions, Synthesizer
from text2lips.viseme.runtime import (
    VisemeBackend,
    VisemeSynthesizer,
    default_model_file,
    load_viseme_synthesizer,
)


@pytest.fixture(scope="module")
def synth(data_dir: Path) -> Synthesizer:
    return Synthesizer.load("viseme")


def test_load_gives_the_viseme_voice_with_real_speakers(synth) -> None:
    assert isinstance(synth, VisemeSynthesizer)
    assert synth.info.name == "viseme" and synth.info.kind == "viseme"
    assert "non-commercial" in synth.info.licence and "CC BY-NC" in synth.info.licence
    assert len(synth.info.speakers) == 4
    assert all(v.shape == (FRAME_DIM,) for v in synth.info.speakers.values())


def test_stream_paces_out_the_espeak_track(synth) -> None:
    text = "Hello there, how are you?"
    track = synth.encode_text(text)
    frames = list(synth.stream(text))
    assert len(frames) == len(track) > 40  # about 1.4 s at 175 wpm
    assert [f.index for f in frames] == list(range(len(frames)))
    times = [f.time_s for f in frames]
    assert times == sorted(times) and times[1] == pytest.approx(1 / FRAME_RATE)
    assert [f.last for f in frames] == [False] * (len(frames) - 1) + [True]
    ref = synth.info.reference_for(None)
    for f in (frames[0], frames[len(frames) // 2]):
        assert f.landmarks.dtype == np.float32 and f.landmarks.shape == (FRAME_DIM,)
        np.testing.assert_allclose(f.landmarks, ref + f.displacement, atol=1e-5)
    # espeak's timing moves by ~10 ms between calls: compare the common length.
    disp = np.stack([f.displacement for f in frames])
    n = min(len(disp), len(track))
    assert np.abs(disp[:n] - track[:n]).mean() < 0.2
    assert disp.std(axis=0).max() > 0.3  # the lips move


def test_forced_length_holds_the_neutral_shape_past_the_end(synth) -> None:
    n = len(synth.encode_text("Yes."))
    frames = list(synth.stream("Yes.", SynthesisOptions(max_frames=n + 40, stop=False)))
    assert len(frames) == n + 40 and frames[-1].last
    past = np.stack([f.displacement for f in frames[n + 5 :]])
    assert np.all(past == 0)


def test_batch_decoder_steps_two_texts_to_their_own_lengths(synth) -> None:
    texts = {"short": "Hi.", "long": "A much longer sentence, with a pause in it."}
    lengths = {k: len(synth.encode_text(t)) for k, t in texts.items()}
    bd = synth.batch_decoder(4)
    for k, t in texts.items():
        bd.add(k, t)
    got: dict[str, list] = {k: [] for k in texts}
    while len(bd):
        for key, frame in bd.step():
            got[key].append(frame)
    assert len(got["short"]) < len(got["long"])
    for k in texts:  # within espeak's between-call jitter (~10 ms)
        assert abs(len(got[k]) - lengths[k]) <= 2 and got[k][-1].last
    assert bd.steps == len(got["long"])


def test_backend_rows_join_keep_and_end_flags() -> None:
    be = VisemeBackend()
    a = np.ones((2, FRAME_DIM), np.float32)
    b = np.full((3, FRAME_DIM), 2.0, np.float32)
    rows = be.join(None, be.start([a]))
    rows = be.join(rows, be.start([b]))
    rows, res = be.step(rows)
    assert res.frames[:, 0].tolist() == [1.0, 2.0] and res.at_end.tolist() == [False, False]
    rows, res = be.step(rows)
    assert res.at_end.tolist() == [True, False] and res.stop_prob.tolist() == [1.0, 0.0]
    rows = be.keep(rows, [1])
    rows, res = be.step(rows)
    assert len(rows) == 1 and res.frames[0, 0] == 2.0 and res.at_end.tolist() == [True]
    rows, res = be.step(rows)
    assert np.all(res.frames == 0) and res.at_end.tolist() == [True]


@pytest.mark.parametrize("text", ["", "   ", "!!! ???", "\U0001f600\U0001f600"])
def test_nothing_speakable_is_an_error(synth, text) -> None:
    with pytest.raises(Text2LipsError, match="nothing speakable"):
        list(synth.stream(text))


def test_missing_model_file_says_how_to_make_it(tmp_path) -> None:
    with pytest.raises(Text2LipsError, match=r"python -m text2lips.viseme --out"):
        load_viseme_synthesizer(tmp_path / "none.json")


def test_without_the_data_folder_there_is_one_neutral_speaker(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TEXT2LIPS_DATA", str(tmp_path))
    synth = load_viseme_synthesizer(default_model_file())
    assert list(synth.info.speakers) == ["neutral"] and synth.info.default_speaker == "neutral"
    mouth = synth.info.speakers["neutral"].reshape(20, 3)
    assert 40 < np.ptp(mouth[:, 0]) < 70  # a mouth-sized shape, mm
    assert np.isfinite(synth.synthesize("Okay.")).all()


def test_eval_cli_runs_the_viseme_baseline(data_dir, capsys) -> None:
    assert main(["eval", "--model", "viseme", "--data", str(data_dir), "--split", "trainval",
                 "--max-clips", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "viseme" and result["clips"] == 2
    assert result["teacher_forced_loss"] is None  # nothing is teacher-forced in a lookup model
    assert np.isfinite(result["l1_mm"]) and result["l1_mm"] > 0
    assert 0.3 < result["duration_ratio"] < 3  # espeak's natural length vs the real one
