"""Synthetic corpus: sentence cleaning, seeded rendering, the .npz round trip and the CLI."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from text2lips import FRAME_DIM, Text2LipsError
from text2lips.data.dataset import speaker_references
from text2lips.train import to_example
from text2lips.viseme import VisemeModel
from text2lips.viseme.corpus import (
    CorpusSettings,
    build_corpus,
    load_corpus,
    read_header,
    write_corpus,
)
from text2lips.viseme.runtime import default_model_file
from text2lips.viseme.sentences import SOURCE_DIR, clean_sentence, read_sentences

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Peter Piper picked a peck of pickled peppers.",
    "We will meet at the old mill by the river.",
    "Would you like a cup of tea?",
    "She sells sea shells by the sea shore.",
    "Five fat frogs flew past fast.",
]

FORTUNE_FILE = """\
Mr. Smith went to Washington. He never came back!
\t\t-- Anonymous
%
Q:\tWhy did the chicken cross the road?
A:\tTo get to the other side.
%
The quick brown fox. THE QUICK BROWN FOX!
%
int main(void) { return 0; }
%
Too short. Far, far too long a sentence to keep, since it goes on and on and on and on and
on for well over twenty five words before it finally comes to an end here.
%
It costs $5 today.
"""


@pytest.fixture(scope="module")
def model() -> VisemeModel:
    return VisemeModel.load(default_model_file())


@pytest.fixture(scope="module")
def references(data_dir: Path) -> dict:
    return speaker_references(data_dir, "lrs3")


@pytest.fixture(scope="module")
def clips(model, references) -> list:
    return build_corpus(model, SENTENCES, references, CorpusSettings(seed=3))


def test_clean_sentence_keeps_short_plain_english_only() -> None:
    assert clean_sentence("  Hello   there,\tfriend! ") == "Hello there, friend!"
    assert clean_sentence("Q: What is it?") == "What is it?"
    assert clean_sentence("Hi there.") is None  # 2 words
    assert clean_sentence("It was 1999.") == "It was 1999."  # 1999 says 3 words
    assert clean_sentence("x = y + 1 is true") is None  # code
    assert clean_sentence("see <http://example.com> now") is None
    assert clean_sentence("... --- ...") is None
    assert clean_sentence(" ".join(["word"] * 26)) is None


def test_read_sentences_splits_entries_and_dedupes(tmp_path) -> None:
    (tmp_path / "jokes").write_text(FORTUNE_FILE)
    (tmp_path / "jokes.dat").write_bytes(b"\x00\x01binary index")
    (tmp_path / "art").write_text("This is a picture of a cat.\n")
    got = read_sentences(tmp_path)
    assert got == [
        "Mr. Smith went to Washington.",  # "Mr." does not end a sentence
        "He never came back!",  # the attribution line is gone
        "Why did the chicken cross the road?",
        "To get to the other side.",
        "The quick brown fox.",  # its shouted repeat is a duplicate
        "It costs $5 today.",
    ]


def test_read_sentences_names_the_package_when_missing(tmp_path) -> None:
    with pytest.raises(Text2LipsError, match="apt-get install fortunes"):
        read_sentences(tmp_path / "nowhere")


def test_rendered_clips_vary_within_their_ranges(clips, references) -> None:
    settings = CorpusSettings(seed=3)
    assert sorted(c.text for c in clips) == sorted(SENTENCES)
    assert len({c.clip_id for c in clips}) == len(SENTENCES)
    for c in clips:
        assert settings.rate_wpm[0] <= c.rate_wpm <= settings.rate_wpm[1]
        assert settings.strength[0] <= c.strength <= settings.strength[1]
        assert c.speaker in references or c.speaker == "blend"
        assert c.target.dtype == np.float32 and c.target.shape == (c.n_frames, FRAME_DIM)
        assert c.reference.shape == (20, 3) and c.lips.shape == (c.n_frames, 20, 3)
        assert 0.5 < c.duration_s < 6 and c.target.std(axis=0).max() > 0.2
        example = to_example(c)  # what training makes of it
        assert len(example.ids) > 10 and example.target.shape == (c.n_frames, FRAME_DIM)
    assert len({c.rate_wpm for c in clips}) > 1 and len({c.strength for c in clips}) > 1


def test_strength_and_rate_act_as_drawn(model, references) -> None:
    one = {"solo": references[sorted(references)[0]]}
    slow, fast = (build_corpus(model, SENTENCES[:1], one, CorpusSettings(rate_wpm=(r, r),
                  strength=(1.0, 1.0), blend=0.0))[0] for r in (120, 240))
    assert slow.n_frames > 1.6 * fast.n_frames
    weak, strong = (build_corpus(model, SENTENCES[:1], one, CorpusSettings(rate_wpm=(175, 175),
                    strength=(s, s), blend=0.0))[0] for s in (0.5, 1.5))
    n = min(weak.n_frames, strong.n_frames)  # espeak's ~10 ms jitter between calls
    ratio = np.abs(strong.target[:n]).mean() / np.abs(weak.target[:n]).mean()
    assert ratio == pytest.approx(3.0, rel=0.1)


def test_limit_takes_a_prefix_of_the_seeded_order(model, references, clips) -> None:
    few = build_corpus(model, SENTENCES, references, CorpusSettings(seed=3, limit=2))
    key = lambda c: (c.clip_id, c.text, c.speaker, c.rate_wpm, c.strength)  # noqa: E731
    assert [key(c) for c in few] == [key(c) for c in clips[:2]]
    other = build_corpus(model, SENTENCES, references, CorpusSettings(seed=4, limit=2))
    assert [key(c) for c in other] != [key(c) for c in few]


def test_write_and_load_round_trip(clips, tmp_path) -> None:
    path = write_corpus(tmp_path / "c.npz", clips, {"settings": {"seed": 3}})
    back = load_corpus(path)
    assert [c.clip_id for c in back] == [c.clip_id for c in clips]
    for a, b in zip(clips, back, strict=True):
        assert (a.text, a.speaker, a.rate_wpm, a.strength) == (b.text, b.speaker, b.rate_wpm,
                                                                b.strength)
        np.testing.assert_array_equal(a.target, b.target)
        np.testing.assert_array_equal(a.reference, b.reference)
    assert read_header(path)["settings"] == {"seed": 3}
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_corpus_files_are_clear_errors(tmp_path) -> None:
    with pytest.raises(Text2LipsError, match="cannot read synthetic corpus"):
        load_corpus(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", meta=np.array('{"format": "something else"}'))
    with pytest.raises(Text2LipsError, match="not a synthetic corpus"):
        load_corpus(tmp_path / "other.npz")


@pytest.mark.parametrize("bad, message", [
    (dict(rate_wpm=(60, 200)), "rate range 60..200"),
    (dict(strength=(1.5, 1.0)), "strength range"),
    (dict(limit=0), "--limit 0"),
    (dict(blend=2.0), "blend probability 2.0"),
])
def test_bad_settings_name_the_value(model, references, bad, message) -> None:
    with pytest.raises(Text2LipsError, match=message):
        build_corpus(model, SENTENCES, references, replace(CorpusSettings(), **bad))


def test_cli_is_reproducible_from_its_seed(tmp_path, data_dir) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "lines").write_text("\n%\n".join(SENTENCES) + "\n")

    def build(name: str, seed: int) -> Path:
        out = tmp_path / name
        subprocess.run(
            [sys.executable, "-m", "text2lips.cli", "corpus", "--source", str(src), "--data",
             str(data_dir), "--seed", str(seed), "--limit", "4", "--out", str(out)],
            check=True, capture_output=True, text=True,
        )
        return out

    ca, cb = load_corpus(build("a.npz", 1)), load_corpus(build("b.npz", 1))
    assert len(ca) == 4
    # Each build is a fresh process making the same espeak calls: identical, bit for bit.
    for x, y in zip(ca, cb, strict=True):
        assert (x.clip_id, x.rate_wpm, x.strength, x.speaker) == (y.clip_id, y.rate_wpm,
                                                                  y.strength, y.speaker)
        np.testing.assert_array_equal(x.frames, y.frames)


@pytest.mark.slow
def test_the_fortunes_package_gives_over_20000_sentences() -> None:
    if not SOURCE_DIR.is_dir():
        pytest.fail(f"{SOURCE_DIR} missing: apt-get install fortunes (make sysdeps does)")
    sentences = read_sentences()
    assert len(sentences) >= 20_000
    assert len(set(sentences)) == len(sentences)
    assert all(clean_sentence(s) == s for s in sentences[::100])  # each passes the rules
