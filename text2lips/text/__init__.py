"""Text front end: normalisation and the symbol ids fed to the model (NVIDIA tacotron2's table),
plus espeak-ng phoneme timing in `text2lips.text.phonemes`."""

from __future__ import annotations

import re
from collections.abc import Iterable

from text2lips import Text2LipsError
from text2lips.text.normalize import has_speakable, normalize
from text2lips.text.symbols import ARPABET, SYMBOL_TO_ID, SYMBOLS

__all__ = ["SYMBOLS", "has_speakable", "normalize", "sequence_to_text", "text_to_sequence"]

# As in NVIDIA's text_to_sequence, "{HH AH0 L OW1}" spells a word in ARPAbet; braces holding
# anything else (LRS3's "{NS}" noise marks) are annotations and say nothing.
_BRACES = re.compile(r"\{([^{}]*)\}")
_ARPABET = frozenset(ARPABET)


def text_to_sequence(text: str) -> list[int]:
    """Symbol ids of `text` after `normalize`; characters outside the table are dropped."""
    ids: list[int] = []
    pieces = _BRACES.split(text)
    for i, piece in enumerate(pieces):
        if i % 2:
            phones = piece.split()
            if phones and all(p in _ARPABET for p in phones):
                ids.extend(SYMBOL_TO_ID["@" + p] for p in phones)
            continue
        cleaned = normalize(piece)
        if not cleaned:
            continue
        # Keep the word break that normalize() strips where a piece meets an ARPAbet word.
        if i > 0 and ids and piece[:1].isspace():
            cleaned = " " + cleaned
        if i < len(pieces) - 1 and piece[-1:].isspace():
            cleaned += " "
        ids.extend(SYMBOL_TO_ID[c] for c in cleaned if c in SYMBOL_TO_ID)
    return ids


def sequence_to_text(ids: Iterable[int]) -> str:
    """Inverse of `text_to_sequence`: ARPAbet runs come back in braces, "{HH AH0 L OW1}"."""
    out: list[str] = []
    for raw in ids:
        i = int(raw)
        if not 0 <= i < len(SYMBOLS):
            raise Text2LipsError(f"symbol id {i} is outside the table (0..{len(SYMBOLS) - 1})")
        s = SYMBOLS[i]
        out.append("{" + s[1:] + "}" if s.startswith("@") else s)
    return "".join(out).replace("}{", " ")
