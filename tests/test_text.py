"""Text normalisation and the NVIDIA-compatible symbol table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from text2lips import Text2LipsError
from text2lips.text import (
    SYMBOLS,
    has_speakable,
    normalize,
    sequence_to_text,
    text_to_sequence,
)


def test_symbol_table_matches_nvidia_tacotron2() -> None:
    assert len(SYMBOLS) == 148
    assert len(set(SYMBOLS)) == 148
    # [_pad] + list(_special) + list(_punctuation) + list(_letters) + _arpabet
    assert SYMBOLS[:12] == ("_", "-", "!", "'", "(", ")", ",", ".", ":", ";", "?", " ")
    assert SYMBOLS[12] == "A" and SYMBOLS[37] == "Z" and SYMBOLS[38] == "a" and SYMBOLS[63] == "z"
    assert SYMBOLS[64] == "@AA"
    assert SYMBOLS[64:68] == ("@AA", "@AA0", "@AA1", "@AA2")
    assert SYMBOLS[88] == "@B"
    assert SYMBOLS[106] == "@HH"
    assert SYMBOLS[118] == "@M"
    assert SYMBOLS[129] == "@P"
    assert SYMBOLS[-1] == "@ZH"
    assert all(s.startswith("@") for s in SYMBOLS[64:])


def test_hello_world_ids_match_nvidia() -> None:
    assert text_to_sequence("Hello World!") == [45, 42, 49, 49, 52, 11, 60, 52, 55, 49, 41, 2]


def test_sequence_round_trip_and_arpabet_braces() -> None:
    assert sequence_to_text(text_to_sequence("Hello World!")) == "hello world!"
    ids = text_to_sequence("say {HH AH0 L OW1} now")
    assert ids[4:8] == [SYMBOLS.index(s) for s in ("@HH", "@AH0", "@L", "@OW1")]
    assert sequence_to_text(ids) == "say {HH AH0 L OW1} now"


def test_non_arpabet_braces_are_annotations() -> None:
    # LRS3 marks noise as {NS}; it is not text to say.
    assert sequence_to_text(text_to_sequence("{NS} I WANTED")) == "i wanted"
    assert normalize("{NS} I WANTED TO {LG} BRING") == "i wanted to bring"


def test_sequence_to_text_rejects_unknown_ids() -> None:
    with pytest.raises(Text2LipsError, match="148"):
        sequence_to_text([45, 148])


def test_unknown_characters_are_dropped() -> None:
    ids = text_to_sequence('a "b" ~c~ d_e')
    assert SYMBOLS.index("_") not in ids
    assert sequence_to_text(ids) == "a b c d e"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I have 5 apples", "i have five apples"),
        ("0", "zero"),
        ("42", "forty two"),
        ("1,000,000 people", "one million people"),
        ("500000", "five hundred thousand"),
        ("3.14", "three point one four"),
        ("-5 degrees", "minus five degrees"),
        ("-0.5", "minus zero point five"),
        ("007", "zero zero seven"),
        ("10-20 minutes", "ten to twenty minutes"),
        ("1/2 cup", "one half cup"),
        ("3/4", "three quarters"),
    ],
)
def test_numbers(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1st", "first"),
        ("2nd", "second"),
        ("3rd", "third"),
        ("22nd", "twenty second"),
        ("101st", "one hundred first"),
        ("THE 21ST CENTURY", "the twenty first century"),
    ],
)
def test_ordinals(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1999", "nineteen ninety nine"),
        ("2005", "two thousand five"),
        ("2000", "two thousand"),
        ("1900", "nineteen hundred"),
        ("2015", "twenty fifteen"),
        ("1905", "nineteen oh five"),
        ("IN THE 1980S", "in the nineteen eighties"),
        ("the '90s", "the nineties"),
        # grouping commas mark a quantity, not a year
        ("1,999 votes", "one thousand nine hundred ninety nine votes"),
    ],
)
def test_years(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$3.50", "three dollars and fifty cents"),
        ("$1", "one dollar"),
        ("$0.50", "fifty cents"),
        ("$0.01", "one cent"),
        ("$1,200", "one thousand two hundred dollars"),
        ("$2.5 million", "two point five million dollars"),
        ("£5", "five pounds"),
        ("£3.50", "three pounds and fifty pence"),
        ("€10", "ten euros"),
        ("€1", "one euro"),
        ("5¢", "five cents"),
        ("1¢", "one cent"),
        ("it costs $5.", "it costs five dollars."),
    ],
)
def test_currency(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50%", "fifty percent"),
        ("3.5 %", "three point five percent"),
        ("10:30", "ten thirty"),
        ("10:05", "ten oh five"),
        ("10:00", "ten o'clock"),
        ("10:30pm", "ten thirty p m"),
        ("at 7 a.m. sharp", "at seven a m sharp"),
    ],
)
def test_percentages_and_times(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith", "mister smith"),
        ("Mrs. Jones", "missus jones"),
        ("Dr. Who", "doctor who"),
        ("HIS PARTNER DR MEGAN", "his partner doctor megan"),
        ("St. Louis", "saint louis"),
        ("221B Baker St.", "two hundred twenty one b baker street."),
        ("cats vs. dogs", "cats versus dogs"),
        ("apples, pears, etc.", "apples, pears, et cetera."),
        ("fruit, e.g. apples", "fruit, for example apples"),
        ("one, i.e. this", "one, that is this"),
        ("No. 5", "number five"),
        ("rock & roll", "rock and roll"),
    ],
)
def test_abbreviations(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_abbreviation_needs_a_word_boundary() -> None:
    assert normalize("drop the stick") == "drop the stick"
    assert normalize("Mister") == "mister"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("café", "cafe"),
        ("naïve résumé", "naive resume"),
        ("it\u2019s \u201cfine\u201d", "it's fine"),
        ("wait\u2014what", "wait, what"),
        ("1990\u20132000", "nineteen ninety to two thousand"),
        ("hello -- world", "hello, world"),
    ],
)
def test_unicode_to_ascii(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_lrs3_example() -> None:
    assert (
        normalize("WE UNDERSTAND THE HAZARDS OF 1 OF THEM")
        == "we understand the hazards of one of them"
    )


def test_whitespace_and_case() -> None:
    assert normalize("  Hello \t\n  WORLD  ") == "hello world"
    assert normalize("Hi , there .") == "hi, there."
    assert normalize("") == ""


def test_output_stays_in_the_symbol_table() -> None:
    text = "Ça va? «Oui» — 3½ km/h, 100° @ 5:45 AM… ✓ [sic] {NS} x_y #2 +1 😀"
    out = normalize(text)
    assert set(out) <= set(SYMBOLS[1:64])
    assert out == out.strip() and "  " not in out


@pytest.mark.parametrize(
    ("text", "speakable"),
    [
        ("hello", True),
        ("42", True),
        ("hi 😀", True),
        ("😀🎉", False),
        ("!!! ...", False),
        ("   ", False),
        ("", False),
        ("{NS}", False),
    ],
)
def test_has_speakable(text: str, speakable: bool) -> None:
    assert has_speakable(text) is speakable


def _lrs3_lines(transcripts: Path) -> list[tuple[str, str]]:
    lines = []
    for path in sorted(transcripts.glob("**/*.txt")):
        for line in path.read_text().splitlines():
            if line.startswith("Text:"):
                lines.append((str(path.relative_to(transcripts)), line[len("Text:") :]))
    return lines


def test_real_lrs3_transcripts_normalise_to_words(data_dir: Path) -> None:
    lines = _lrs3_lines(data_dir / "lrs3_ted93" / "transcripts")
    assert len(lines) == 93
    for name, text in lines:
        out = normalize(text)
        assert re.fullmatch(r"[a-z' ]+", out), (name, text, out)
        assert not out.startswith(" ") and "  " not in out, (name, out)
    spelled = dict(lines)
    numbers = [normalize(t) for t in spelled.values() if re.search(r"\d", t)]
    assert any("nineteen eighties" in n for n in numbers)
    assert any("twenty first century" in n for n in numbers)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_normalize_output_is_clean_and_stable(text: str) -> None:
    out = normalize(text)
    assert set(out) <= set(SYMBOLS[1:64])
    assert out == out.strip() and "  " not in out
    assert normalize(out) == out
