"""`text2lips bake`: the lines CSV is checked before anything renders, and clips round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from text2lips import Text2LipsError
from text2lips.bake import BakeLine, bake, decode, encode, read_lines
from text2lips.cli import main


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("name,text\na,hi\n", "header must name columns id,text"),
        ("id,text\na,hi\na,again\n", "appears twice"),
        ("id,text\n../up,hi\n", "must be 1-100 of"),
        ("id,text\na,\n", "has no text"),
        ("id,text\n", "no lines"),
    ],
)
def test_bad_lines_are_refused_with_the_row(tmp_path, rows, message):
    path = tmp_path / "lines.csv"
    path.write_text(rows)
    with pytest.raises(Text2LipsError, match=message):
        read_lines(path)


def test_the_cli_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "lines.csv"
    path.write_text("id,text\na,hi\na,again\n")
    assert main(["bake", str(path), "-o", str(tmp_path / "out"), "--model", "viseme"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "appears twice" in err[0]
    assert not (tmp_path / "out").exists()


def test_a_clip_round_trips_and_truncation_is_caught(tmp_path):
    from text2lips.runtime import Synthesizer

    synth = Synthesizer.load("viseme")
    [entry] = list(bake(synth, [BakeLine("hi", "Hello there.")], tmp_path))
    data = (tmp_path / entry["file"]).read_bytes()
    clip = decode(data)
    assert clip.id == "hi" and clip.voice == "none" and len(clip.audio) == 0
    assert clip.landmarks.shape == (entry["frames"], 60) and clip.weights.shape[1] == 33
    assert encode(clip) == data
    assert np.all((clip.weights >= 0) & (clip.weights <= 1))
    # The timeline spans the frames (espeak timing drives the viseme model).
    assert clip.duration_s == pytest.approx(len(clip.times) / clip.frame_rate, abs=1 / 80)
    with pytest.raises(Text2LipsError, match="truncated"):
        decode(data[:-10])
