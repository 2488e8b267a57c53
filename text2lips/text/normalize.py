"""Text normalisation ("cleaning") before symbol lookup: NVIDIA's english_cleaners extended
for TED transcripts (LRS3) and game dialogue — money, times, years, ordinals, abbreviations."""

from __future__ import annotations

import re
from collections.abc import Callable

import inflect
from unidecode import unidecode

from text2lips.text.symbols import TEXT_CHARACTERS

_inflect = inflect.engine()

# LRS3 marks non-speech in braces ("{NS} I WANTED ..."); they are not words to say.
_ANNOTATION = re.compile(r"\{[^{}]*\}")

_NUMBER = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"  # "1,234,567" or "1234567"
_SCALE = r"thousand|million|billion|trillion"

# Currency symbols are matched before unidecode, which would turn "£" into "PS".
_CURRENCY_UNITS: dict[str, tuple[str, str, str, str]] = {
    # symbol: (unit, units, subunit, subunits)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "sen", "sen"),
}
_MONEY_PREFIX = re.compile(
    rf"(?P<sym>[$£€¥])\s?(?P<num>{_NUMBER})(?:\.(?P<frac>\d+))?"
    rf"(?:\s?(?P<scale>{_SCALE}|bn|[mk])\b)?",
    re.IGNORECASE,
)
_MONEY_SUFFIX = re.compile(rf"(?P<num>{_NUMBER})(?:\.(?P<frac>\d+))?\s?(?P<sym>[€£¢])")

# A dash between digits is a range ("1990–2000"); elsewhere an em or en dash is a pause.
_DIGIT_RANGE_DASH = re.compile(r"(?<=\d)\s*[\u2013\u2014]\s*(?=\d)")
_PAUSE_DASH = re.compile(r"\s*(?:[\u2012-\u2015]|(?<!-)--+(?!-)|(?<=\s)-(?=\s))\s*")

# (pattern, replacement); case-insensitive, applied to ASCII text before lower-casing.
_ABBREVIATIONS: list[tuple[str, str]] = [
    (r"mrs\.?", "missus"),
    (r"mr\.?", "mister"),
    (r"ms\.", "miz"),
    (r"drs\.", "doctors"),
    (r"dr\.?", "doctor"),
    (r"prof\.", "professor"),
    (r"jr\.", "junior"),
    (r"sr\.", "senior"),
    (r"capt\.", "captain"),
    (r"sgt\.", "sergeant"),
    (r"lt\.", "lieutenant"),
    (r"col\.", "colonel"),
    (r"gen\.", "general"),
    (r"maj\.", "major"),
    (r"rev\.", "reverend"),
    (r"hon\.", "honorable"),
    (r"esq\.", "esquire"),
    (r"vs\.?", "versus"),
    (r"etc\.?", "et cetera"),
    (r"e\.g\.?", "for example"),
    (r"i\.e\.?", "that is"),
    (r"approx\.", "approximately"),
    (r"dept\.", "department"),
    (r"inc\.", "incorporated"),
    (r"ltd\.", "limited"),
    (r"co\.", "company"),
    (r"no\.(?=\s?\d)", "number"),
]
_ABBREVIATION_RES = [
    (re.compile(rf"(?<![\w.]){pattern}(?![\w])", re.IGNORECASE), words)
    for pattern, words in _ABBREVIATIONS
]
# "St. Louis" (a capitalised name follows) is a saint; "Baker St." is a street.
_SAINT = re.compile(r"\bSt\.?(?=\s+[A-Z])")
_STREET = re.compile(r"\bst\.", re.IGNORECASE)

_TIME = re.compile(
    r"\b(?P<h>\d{1,2}):(?P<m>\d{2})(?::\d{2})?(?:\s?(?P<ampm>[ap])\.?m\b\.?)?", re.IGNORECASE
)
_HOUR_AMPM = re.compile(r"\b(?P<h>\d{1,2})\s?(?P<ampm>[ap])\.?m\b\.?", re.IGNORECASE)
_PERCENT = re.compile(r"\s?%")
_DECADE = re.compile(r"'?\b(?P<num>\d{2}|\d{4})'?s\b")
_ORDINAL = re.compile(r"\b(?P<num>\d+)(?P<suffix>st|nd|rd|th)\b")
_FRACTION = re.compile(r"(?<![\d/])(?P<num>\d{1,2})/(?P<den>\d{1,2})(?![\d/])")
_RANGE = re.compile(r"(?<![\d\-.,])(?P<a>\d+)-(?P<b>\d+)(?![\d\-.,])")  # "10-20 minutes"
_NEGATIVE = re.compile(r"(?<![\w\-.])-(?=\.?\d)")
_DECIMAL = re.compile(rf"(?P<int>{_NUMBER})?\.(?P<frac>\d+)")
_INTEGER = re.compile(_NUMBER)
_SYMBOL_WORDS = [
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"\s*\+\s*"), " plus "),
    (re.compile(r"\s*@\s*"), " at "),
    (re.compile(r"#(?=\d)"), "number "),
    (re.compile(r"\s+=\s+"), " equals "),
]
_TIDY = [
    (re.compile(r"\[|\{"), "("),
    (re.compile(r"\]|\}"), ")"),
    (re.compile(r"\s+"), " "),
    (re.compile(r" (?=[,.!?;:)])"), ""),  # "word ," left by dropped characters
    (re.compile(r"\( "), "("),
    (re.compile(r",(?:\s*,)+"), ","),
    (re.compile(r"^[\s,.;:]+"), ""),  # a leading pause says nothing
]


def _words(n: int) -> str:
    """Cardinal in words, spaced like LRS3 transcripts ("twenty one", no hyphens or commas)."""
    if len(str(n)) > 15:  # card and serial numbers are read digit by digit
        return _digits(str(n))
    text = _inflect.number_to_words(n, andword="")
    return text.replace(",", "").replace("-", " ")


def _digits(digits: str) -> str:
    return " ".join(_words(int(d)) for d in digits)


def _year(n: int) -> str:
    """Four-digit numbers from 1000 to 2999 read as years: 1999, 1900, 2005, 2015."""
    if n % 1000 == 0 or 2000 < n < 2010 or 1000 < n < 1010:
        return _words(n)
    if n % 100 == 0:
        return f"{_words(n // 100)} hundred"
    tens = n % 100
    rest = _words(tens) if tens >= 10 else f"oh {_words(tens)}"
    return f"{_words(n // 100)} {rest}"


def _integer(token: str) -> str:
    """A bare integer token; grouping commas mark a quantity rather than a year."""
    if "," in token:
        return _words(int(token.replace(",", "")))
    if len(token) > 1 and token.startswith("0"):
        return _digits(token)  # "007", zip codes
    n = int(token)
    if len(token) == 4 and 1000 <= n < 3000:
        return _year(n)
    return _words(n)


def _spaced(words: str) -> str:
    return f" {words} "


def _money(match: re.Match[str]) -> str:
    unit, units, subunit, subunits = _CURRENCY_UNITS.get(match["sym"], ("", "", "cent", "cents"))
    whole = int(match["num"].replace(",", ""))
    frac = match["frac"]
    if match["sym"] == "¢":
        return _spaced(f"{_words(whole)} {'cent' if whole == 1 and not frac else 'cents'}")
    scale = (match.groupdict().get("scale") or "").lower()
    scale = {"k": "thousand", "m": "million", "bn": "billion"}.get(scale, scale)
    if scale:  # "$2.5 million" is two point five million dollars
        amount = _words(whole) + (f" point {_digits(frac)}" if frac else "")
        return _spaced(f"{amount} {scale} {units}")
    if frac and len(frac) > 2:
        return _spaced(f"{_words(whole)} point {_digits(frac)} {units}")
    cents = int(frac.ljust(2, "0")) if frac else 0
    parts = []
    if whole or not cents:
        parts.append(f"{_words(whole)} {unit if whole == 1 else units}")
    if cents:
        parts.append(f"{_words(cents)} {subunit if cents == 1 else subunits}")
    return _spaced(" and ".join(parts))


def _time(match: re.Match[str]) -> str:
    hours, minutes = int(match["h"]), int(match["m"])
    if hours > 24 or minutes > 59:
        return match[0]  # not a clock time (a score or a ratio): leave to the number rules
    ampm = f" {match['ampm'].lower()} m" if match["ampm"] else ""
    if minutes == 0:
        said = _words(hours) + ("" if ampm else " o'clock")
    elif minutes < 10:
        said = f"{_words(hours)} oh {_words(minutes)}"
    else:
        said = f"{_words(hours)} {_words(minutes)}"
    return _spaced(said + ampm)


def _hour_ampm(match: re.Match[str]) -> str:
    return _spaced(f"{_words(int(match['h']))} {match['ampm'].lower()} m")


def _decade(match: re.Match[str]) -> str:
    token = match["num"]
    said = _year(int(token)) if len(token) == 4 else _words(int(token))
    *head, last = said.split()
    return _spaced(" ".join([*head, _inflect.plural(last)]))


def _ordinal(match: re.Match[str]) -> str:
    return _spaced(_inflect.ordinal(_words(int(match["num"]))).replace("-", " "))


def _fraction(match: re.Match[str]) -> str:
    num, den = int(match["num"]), int(match["den"])
    if den == 0:
        return f"{match['num']} / {match['den']}"
    if den == 1:
        return _spaced(f"{_words(num)} over one")
    if den == 2:
        name = "half" if num == 1 else "halves"
    elif den == 4:
        name = "quarter" if num == 1 else "quarters"
    else:
        name = _inflect.ordinal(_words(den)).replace("-", " ")
        name = name if num == 1 else _inflect.plural(name)
    return _spaced(f"{_words(num)} {name}")


def _decimal(match: re.Match[str]) -> str:
    whole = _words(int(match["int"].replace(",", ""))) if match["int"] else ""
    return _spaced(f"{whole} point {_digits(match['frac'])}".strip())


def expand_money(text: str) -> str:
    """Currency amounts in words: "$3.50" → "three dollars and fifty cents", "5¢" → "five cents"."""
    text = _MONEY_PREFIX.sub(_money, text)
    return _MONEY_SUFFIX.sub(_money, text)


def expand_abbreviations(text: str) -> str:
    """Titles and Latin abbreviations in words: "Dr." → "doctor", "e.g." → "for example"."""
    text = _SAINT.sub("saint", text)
    text = _STREET.sub(lambda m: _keep_final_stop(m, "street"), text)
    for pattern, words in _ABBREVIATION_RES:
        text = pattern.sub(lambda m, words=words: _keep_final_stop(m, words), text)
    return text


def _keep_final_stop(match: re.Match[str], words: str) -> str:
    """An abbreviation's period also ends the text when nothing follows ("..., etc.")."""
    at_end = not match.string[match.end() :].strip()
    return words + "." if at_end and match[0].endswith(".") else words


def expand_numbers(text: str) -> str:
    """Digits in words: times, percentages, decades, ordinals, fractions, negatives, decimals,
    years (1999 → nineteen ninety nine) and cardinals."""
    steps: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
        (_TIME, _time),
        (_HOUR_AMPM, _hour_ampm),
        (_PERCENT, " percent "),
        (_DECADE, _decade),
        (_ORDINAL, _ordinal),
        (_FRACTION, _fraction),
        (_RANGE, r"\g<a> to \g<b>"),
        (_NEGATIVE, " minus "),
        (_DECIMAL, _decimal),
        (_INTEGER, lambda m: _spaced(_integer(m[0]))),
    ]
    for pattern, replacement in steps:
        text = pattern.sub(replacement, text)
    return text


def _clean(text: str) -> str:
    """One pass of the cleaner."""
    text = _ANNOTATION.sub(" ", text)
    text = expand_money(text)
    text = _DIGIT_RANGE_DASH.sub(" to ", text)
    text = _PAUSE_DASH.sub(", ", text)
    text = unidecode(text)
    text = expand_abbreviations(text)
    text = text.lower()
    for pattern, words in _SYMBOL_WORDS:
        text = pattern.sub(words, text)
    text = expand_numbers(text)
    # Brackets survive to become parentheses; anything else outside the table separates words.
    text = "".join(c if c in TEXT_CHARACTERS or c in "[]{}" else " " for c in text)
    for pattern, replacement in _TIDY:
        text = pattern.sub(replacement, text)
    return text.strip()


def normalize(text: str) -> str:
    """The full cleaner: ASCII, lower case, numbers and abbreviations in words, only symbol-table
    characters, whitespace collapsed. "Dr. Smith paid $3.50" → "doctor smith paid three dollars
    and fifty cents"."""
    # Dropping a symbol can expose an abbreviation ("MS$." → "ms."), so clean to a fixed point:
    # normalised text must normalise to itself, as phoneme_timings() re-normalises its input.
    for _ in range(4):
        cleaned = _clean(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def has_speakable(text: str) -> bool:
    """Whether `text` leaves at least one letter after normalisation (emoji-only or symbol-only
    text does not, and has nothing to animate)."""
    return any(c.isalpha() for c in normalize(text))
