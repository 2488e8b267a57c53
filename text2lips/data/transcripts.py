"""Transcripts: LRS3 annotation files and RAVDESS file names -> text and word timings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from text2lips import Text2LipsError

RAVDESS_STATEMENTS = {
    "01": "KIDS ARE TALKING BY THE DOOR",
    "02": "DOGS ARE SITTING BY THE DOOR",
}
RAVDESS_FPS = 30000 / 1001
"""RAVDESS source videos run at 29.97 frames per second."""


@dataclass(frozen=True)
class WordTiming:
    """One word and when it is spoken, in seconds from the start of the clip."""

    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Transcript:
    text: str
    """The spoken text as annotated (LRS3: upper case)."""
    words: tuple[WordTiming, ...] = ()
    """Word timings when the source has them (LRS3 pretrain split)."""


def read_lrs3_transcript(path: str | Path) -> Transcript:
    """Parse an LRS3 v0.4 annotation: the `Text:` line and, if present, the WORD table."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise Text2LipsError(f"{path}: cannot read transcript: {exc.strerror or exc}") from exc
    text = next((ln[len("Text:"):].strip() for ln in lines if ln.startswith("Text:")), None)
    if not text:
        raise Text2LipsError(f"{path}: no 'Text:' line in LRS3 transcript")
    words: list[WordTiming] = []
    if "WORD START END ASDSCORE" in (ln.strip() for ln in lines):
        start = [ln.strip() for ln in lines].index("WORD START END ASDSCORE") + 1
        for ln in lines[start:]:
            parts = ln.split()
            if len(parts) < 3:
                continue
            try:
                words.append(WordTiming(parts[0], float(parts[1]), float(parts[2])))
            except ValueError as exc:
                raise Text2LipsError(f"{path}: bad word timing line {ln!r}") from exc
    return Transcript(text=text, words=tuple(words))


_RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)(?:-\d\d)*$")


def ravdess_statement(name: str) -> str:
    """RAVDESS file stem (`02-01-08-01-SS-RR-AA`) -> the statement spoken."""
    m = _RAVDESS_NAME.match(Path(name).stem)
    if not m:
        raise Text2LipsError(f"{name}: not a RAVDESS file name (expected MM-VV-EE-II-SS-RR-AA)")
    statement = m.group(5)
    if statement not in RAVDESS_STATEMENTS:
        raise Text2LipsError(f"{name}: unknown RAVDESS statement {statement!r}")
    return RAVDESS_STATEMENTS[statement]
