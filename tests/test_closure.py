"""Bilabial closure on unseen text: the check itself, and the shipped models against it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from text2lips.closure import CLOSED_SHARE, _shares, closures

pytestmark = pytest.mark.slow  # the trained Tacotron

TACOTRON = Path(__file__).resolve().parents[1] / "models" / "tacotron"
UNSEEN = ["HELLO WORLD", "PUT THE BOOK BACK ON THE MAP", "MOM PAID BOB"]


def test_share_is_the_window_minimum_over_the_utterance_range():
    opening = np.full(80, 10.0)
    opening[0] = 2.0  # utterance minimum
    opening[40:43] = 4.0  # a partial closure at frame 41: (4 - 2) / (10 - 2) = 0.25
    (hit, miss) = _shares(opening, [("m@0", 41.0), ("b@1", 70.0)])
    assert hit.share == pytest.approx(0.25) and not hit.closed  # 0.25 is not below 0.25
    assert miss.share == pytest.approx(1.0) and not miss.closed
    assert hit.time_s == pytest.approx(41 / 80)
    # Four frames (50 ms) either side are searched, five are not.
    (near,) = _shares(opening, [("p@0", 46.0)])  # window 42..50 reaches frame 42
    (far,) = _shares(opening, [("p@0", 47.0)])  # window 43..51 does not
    assert near.share == pytest.approx(0.25) and far.share == pytest.approx(1.0)


def test_neural_check_finds_every_bilabial_letter_in_order():
    report = closures(TACOTRON, "PUT THE BOOK BACK ON THE MAP")
    assert [c.label[0] for c in report.closures] == ["p", "b", "b", "m", "p"]
    times = [c.time_s for c in report.closures]
    assert times == sorted(times) and times[-1] < report.frames / 80
    assert all(0.0 <= c.share <= 1.0 for c in report.closures)
    assert closures(TACOTRON, "HELLO WORLD").closures == []
    # "ph" is an f: no closure is asked for its p.
    assert [c.label[0] for c in closures(TACOTRON, "PHONE BOB").closures] == ["b", "b"]


def test_phoneme_timed_check_finds_every_bilabial_phoneme():
    # The default model follows a timeline: its p, b and m are placed by espeak-ng's times.
    report = closures(TACOTRON.parent / "default", "MOM PAID BOB")
    assert report.model == "phoneme"
    assert [c.label[0] for c in report.closures] == ["m", "m", "p", "b", "b"]
    times = [c.time_s for c in report.closures]
    assert times == sorted(times) and times[-1] < report.frames / 80
    assert sum(c.closed for c in report.closures) >= 3


def test_viseme_check_finds_every_bilabial_phoneme():
    report = closures("viseme", "MOM PAID BOB")
    assert [c.label[0] for c in report.closures] == ["m", "m", "p", "b", "b"]
    assert sum(c.closed for c in report.closures) >= 4


def test_cli_prints_one_json_line_per_text_and_exits_1_when_one_stays_open():
    run = subprocess.run(
        [sys.executable, "-m", "text2lips.cli", "closure", "--model", "viseme", *UNSEEN],
        capture_output=True,
        text=True,
    )
    lines = [json.loads(x) for x in run.stdout.splitlines()]
    assert [x["text"] for x in lines] == UNSEEN
    assert run.returncode == (0 if all(x["all_closed"] for x in lines) else 1)
    bad = subprocess.run(
        [sys.executable, "-m", "text2lips.cli", "closure", "--model", "/no/such/model", "HI"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_tacotron_closes_the_lips_on_every_bilabial():
    # As served: the network with its fitted bilabial closure rule (tests/test_closure_rule.py
    # checks the network alone closes fewer).
    open_ = {}
    for text in UNSEEN:
        report = closures(TACOTRON, text)
        open_[text] = [(c.label, round(c.share, 2)) for c in report.closures if not c.closed]
    assert not any(open_.values()), f"lips open (closed means share < {CLOSED_SHARE}): {open_}"


def test_the_command_finds_a_model_by_name_as_serve_does(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "text2lips.cli", "closure", "--model", "tacotron", "MOM PAID BOB"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: a bilabial stayed open; both are reports
    assert [json.loads(line)["text"] for line in done.stdout.splitlines()] == ["MOM PAID BOB"]
