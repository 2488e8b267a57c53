"""Piper's IPA phonemes (one code point each, timed by the voice) -> the espeak-ng mnemonics
our lip models read ('tʃ' -> 'tS', 'eɪ' -> 'eI'), keeping the voice's durations."""

from __future__ import annotations

from dataclasses import dataclass

from text2lips.text.phonemes import PAUSE

# Longest match first: espeak-ng en-us writes diphthongs and r-coloured vowels as several
# IPA code points that it says as one phoneme.
IPA_TO_MNEMONIC: dict[str, str] = {
    "aɪə": "aI@", "aɪɚ": "aI3", "ɑːɹ": "A@", "ɔːɹ": "O@", "oːɹ": "o@", "ʊɹ": "U@",
    "ɛɹ": "e@", "ɪɹ": "i@", "iə": "i@", "eɪ": "eI", "aɪ": "aI", "aʊ": "aU", "oʊ": "oU",
    "ɔɪ": "OI", "tʃ": "tS", "dʒ": "dZ", "ɜː": "3:", "ɑː": "A:", "ɔː": "O:", "uː": "u:",
    "iː": "i:", "n̩": "n-", "l̩": "@L",
    "p": "p", "b": "b", "m": "m", "f": "f", "v": "v", "θ": "T", "ð": "D", "t": "t",
    "d": "d", "n": "n", "ɾ": "t#", "ʔ": "?", "l": "l", "ɫ": "l", "s": "s", "z": "z",
    "ʃ": "S", "ʒ": "Z", "k": "k", "ɡ": "g", "g": "g", "ŋ": "N", "h": "h", "x": "x",
    "ɹ": "r", "r": "r", "w": "w", "j": "j", "i": "i", "ɪ": "I", "ᵻ": "I#", "ɛ": "E",
    "e": "E", "æ": "a", "a": "a", "ɐ": "a#", "ə": "@", "ɚ": "3", "ɜ": "3", "ʌ": "V",
    "ɑ": "A:", "ɒ": "0", "ɔ": "O:", "o": "oU", "ʊ": "U", "u": "u:",
}  # fmt: skip
_LONGEST = max(len(k) for k in IPA_TO_MNEMONIC)
_STRESS = {"ˈ": 1, "ˌ": 2}
_SILENT = {"^", "$", ",", ".", "!", "?", ";", ":", "(", ")", "-", "\"", "'", "…"}
"""Symbols the voice says as silence (sentence bounds and punctuation)."""


@dataclass(frozen=True)
class Segment:
    """One phoneme of ours on the voice's clock: samples from the chunk start."""

    phoneme: str
    start: int
    end: int
    word_index: int
    stress: int = 0


def to_mnemonics(symbols: list[str], samples: list[int]) -> list[Segment]:
    """Piper's (symbol, sample count) pairs -> segments. Stress marks give their time to the
    phoneme after them, the length mark and unknown symbols to the one before; a space ends
    a word (its time goes to the phoneme before); punctuation and bounds are pauses."""
    out: list[Segment] = []
    t, i, word, in_word, stress, carry = 0, 0, 0, False, 0, 0
    n = len(symbols)
    while i < n:
        s = symbols[i]
        if s in _STRESS:
            stress, carry = _STRESS[s], carry + samples[i]
            t += samples[i]
            i += 1
            continue
        if s == " " or s in _SILENT:
            if in_word:
                word += 1
                in_word = False
            if s == " ":
                _extend(out, samples[i])
                t += samples[i]
                i += 1
                continue
            _add(out, Segment(PAUSE, t - carry, t + samples[i], -1))
            t, carry, stress = t + samples[i], 0, 0
            i += 1
            continue
        for k in range(min(_LONGEST, n - i), 0, -1):
            key = "".join(symbols[i : i + k])
            if key in IPA_TO_MNEMONIC:
                width = sum(samples[i : i + k])
                out.append(Segment(IPA_TO_MNEMONIC[key], t - carry, t + width, word, stress))
                in_word, carry, stress = True, 0, 0
                t += width
                i += k
                break
        else:  # 'ː', a combining mark, a symbol we do not map: it lengthens the phoneme before
            _extend(out, samples[i])
            t += samples[i]
            i += 1
    if carry:
        _extend(out, carry)
    return out


def _extend(out: list[Segment], width: int) -> None:
    if out:
        last = out[-1]
        out[-1] = Segment(last.phoneme, last.start, last.end + width, last.word_index, last.stress)
    else:
        out.append(Segment(PAUSE, 0, width, -1))


def _add(out: list[Segment], seg: Segment) -> None:
    if out and out[-1].phoneme == PAUSE and seg.phoneme == PAUSE:
        out[-1] = Segment(PAUSE, out[-1].start, seg.end, -1)
    else:
        out.append(seg)
