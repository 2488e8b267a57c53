"""Where to cut a line so the first audio comes early: Piper says a sentence in one pass, so
a long first sentence is split at its first clause boundary and that clause said alone."""

from __future__ import annotations

import re

FIRST_CLAUSE_MIN_CHARS = 12
"""A first clause shorter than this is kept with what follows (a lone "Well," sounds odd)."""
SPLIT_ABOVE_CHARS = 40
"""Text up to this long is said in one piece (it is fast enough already)."""

_BOUNDARY = re.compile(r"[,;:.!?](?=\s)|\s(?:and|but|or|so|because|which|while)\s")


def first_clause(text: str) -> tuple[str, str]:
    """(head, rest): the first clause and the remainder ('' when the text stays whole)."""
    text = text.strip()
    if len(text) <= SPLIT_ABOVE_CHARS:
        return text, ""
    for m in _BOUNDARY.finditer(text):
        cut = m.end() if m.group().strip() in ",;:.!?" else m.start()
        head, rest = text[:cut].strip(), text[cut:].strip()
        if len(head) >= FIRST_CLAUSE_MIN_CHARS and rest:
            return head, rest
    return text, ""
