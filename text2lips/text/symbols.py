"""The input symbol table: NVIDIA tacotron2's 148 symbols, in its order, so that its
checkpoints' embedding tables load unchanged."""

from __future__ import annotations

PAD = "_"
"""Padding symbol, id 0; never produced from text."""

SPECIAL = "-"
PUNCTUATION = "!'(),.:;? "
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

ARPABET: tuple[str, ...] = (
    "AA", "AA0", "AA1", "AA2", "AE", "AE0", "AE1", "AE2", "AH", "AH0", "AH1", "AH2",
    "AO", "AO0", "AO1", "AO2", "AW", "AW0", "AW1", "AW2", "AY", "AY0", "AY1", "AY2",
    "B", "CH", "D", "DH", "EH", "EH0", "EH1", "EH2", "ER", "ER0", "ER1", "ER2", "EY",
    "EY0", "EY1", "EY2", "F", "G", "HH", "IH", "IH0", "IH1", "IH2", "IY", "IY0", "IY1",
    "IY2", "JH", "K", "L", "M", "N", "NG", "OW", "OW0", "OW1", "OW2", "OY", "OY0",
    "OY1", "OY2", "P", "R", "S", "SH", "T", "TH", "UH", "UH0", "UH1", "UH2", "UW",
    "UW0", "UW1", "UW2", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip
"""CMUdict phone set (keithito/NVIDIA `cmudict.valid_symbols`), in upstream order."""

# The '@' prefix keeps ARPAbet symbols apart from the upper-case letters ('B' vs '@B').
SYMBOLS: tuple[str, ...] = (
    (PAD,) + tuple(SPECIAL) + tuple(PUNCTUATION) + tuple(LETTERS) + tuple("@" + s for s in ARPABET)
)
"""All 148 input symbols; a symbol's index is its embedding id."""

SYMBOL_TO_ID: dict[str, int] = {s: i for i, s in enumerate(SYMBOLS)}

TEXT_CHARACTERS = frozenset(SPECIAL + PUNCTUATION + LETTERS)
"""Characters that normalised text may contain (the pad and ARPAbet symbols never come from
plain text)."""
