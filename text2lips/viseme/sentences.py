"""Sentences for the synthetic corpus: short plain English from the Debian `fortunes` package,
split, cleaned and de-duplicated."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from text2lips import Text2LipsError
from text2lips.text import normalize
from text2lips.text.phonemes import split_words

SOURCE_PACKAGE = "fortunes"
"""Debian package whose text files the sentences come from (it pulls in fortunes-min)."""
SOURCE_DIR = Path("/usr/share/games/fortunes")
# Pictures drawn in ASCII, and a file of non-English text to translate: nothing to say.
SKIP_FILES = frozenset({"art", "ascii-art", "translate-me"})

# A fortune file holds entries separated by lines of "%"; quotes end in "-- Author" lines.
_ENTRY_BREAK = re.compile(r"^%\s*$", re.MULTILINE)
_ATTRIBUTION = re.compile(r"^\s*--")
# Candidate sentence ends: . ! ? (with closing quotes or brackets), space, then a capital
# (possibly after an opening quote). Abbreviations and initials are rejected in _split.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]*[A-Z])")
_NOT_A_STOP = re.compile(
    r"(?:\b(?:mr|mrs|ms|dr|drs|st|jr|sr|prof|capt|sgt|lt|col|gen|rev|vs|etc|no|vol|fig|"
    r"inc|ltd|co|mt|ft|e\.g|i\.e)|\b[A-Za-z])\.[\"')\]]*$",
    re.IGNORECASE,
)
_QA_LABEL = re.compile(r"^[QA]:\s*")
# Program text, markup, ASCII art and e-mail headers: not something a character says.
_NOT_SPEECH = re.compile(r"[<>{}\[\]|\\/_=*#@~^`+]")
_WHITESPACE = re.compile(r"\s+")


def _split(paragraph: str) -> Iterator[str]:
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        head = paragraph[start : m.start()]
        if _NOT_A_STOP.search(head):  # "Mr. Smith", "J. R. R. Tolkien"
            continue
        yield head
        start = m.end()
    yield paragraph[start:]


def _clean(raw: str, min_words: int, max_words: int) -> tuple[str, str] | None:
    """(sentence, its spoken words) or None; see `clean_sentence`."""
    s = _QA_LABEL.sub("", _WHITESPACE.sub(" ", raw).strip())
    if not s or _NOT_SPEECH.search(s):
        return None
    spoken = normalize(s)
    if not spoken.isascii() or not re.search("[a-z]", spoken):
        return None
    words = split_words(spoken)
    if not min_words <= len(words) <= max_words:
        return None
    return s, " ".join(words)


def clean_sentence(raw: str, min_words: int = 3, max_words: int = 25) -> str | None:
    """The sentence with whitespace collapsed, or None when it is not short plain English:
    markup or code characters, no letters, non-ASCII after normalisation, or a word count
    (after normalisation, so numbers count as spoken) outside min_words..max_words."""
    cleaned = _clean(raw, min_words, max_words)
    return cleaned[0] if cleaned else None


def read_sentences(
    source: str | Path = SOURCE_DIR, *, min_words: int = 3, max_words: int = 25
) -> list[str]:
    """Distinct clean sentences of every fortune file in `source`, in file then text order."""
    source = Path(source)
    files = (
        sorted(
            p
            for p in source.glob("*")
            if p.is_file()
            and not p.is_symlink()
            and p.suffix != ".dat"
            and p.name not in SKIP_FILES
        )
        if source.is_dir()
        else []
    )
    if not files:
        raise Text2LipsError(
            f"{source}: no fortune files; install the Debian package {SOURCE_PACKAGE} "
            f"(apt-get install {SOURCE_PACKAGE}) or pass --source DIR"
        )
    out: list[str] = []
    seen: set[str] = set()
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for entry in _ENTRY_BREAK.split(text):
            lines = [ln for ln in entry.splitlines() if not _ATTRIBUTION.match(ln)]
            for raw in _split(" ".join(ln.strip() for ln in lines)):
                cleaned = _clean(raw, min_words, max_words)
                if cleaned is None:
                    continue
                # Case and punctuation do not change what the lips do: the words are the key.
                s, key = cleaned
                if key not in seen:
                    seen.add(key)
                    out.append(s)
    return out
