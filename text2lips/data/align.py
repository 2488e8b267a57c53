"""Sharper training timing: re-align each word's phonemes (and the clip's audio-to-lips lead)
to the lips themselves. LRS3 gives word times from the audio; where each phoneme falls inside a
word is only espeak-ng's guess, and lips lead the sound by a speaker- and recording-dependent
amount. A segmental Viterbi pass over each word, scored against per-phoneme lip targets, puts
the boundaries where the lips say they are. For training targets only: a model is evaluated on
the unrefined timing, as a game would give it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from text2lips import FRAME_RATE
from text2lips.text.phonemes import PAUSE
from text2lips.text.timeline import PhonemeTimeline

LEADS_S = (-0.05, 0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2)
"""Candidate lip-ahead-of-word-time offsets searched per clip."""
DURATION_WEIGHT = 2.0
"""Penalty per squared log-ratio of a phoneme's frames to espeak's estimate, in units of the
mean per-frame fit cost: keeps boundaries near espeak's proportions unless the lips disagree."""


def _segment_dp(
    y: np.ndarray, mus: np.ndarray, expect: np.ndarray, scale: float
) -> tuple[float, list[int]]:
    """Split frames y (T, D) into len(mus) contiguous non-empty segments minimising the squared
    distance to each segment's target plus a duration prior. Returns (cost, boundaries)."""
    t, k = len(y), len(mus)
    if k == 0 or t < k:
        return np.inf, []
    s1 = np.concatenate([np.zeros((1, y.shape[1])), np.cumsum(y, 0)])  # (T+1, D)
    s2 = np.concatenate([[0.0], np.cumsum((y**2).sum(1))])  # (T+1,)
    inf = np.inf
    d = np.full((k + 1, t + 1), inf)
    back = np.zeros((k + 1, t + 1), np.int64)
    d[0, 0] = 0.0
    starts = np.arange(t + 1)
    for j in range(1, k + 1):
        mu = mus[j - 1]
        mu2 = float(mu @ mu)
        proj = s1 @ mu  # (T+1,)
        for e in range(j, t - (k - j) + 1):
            s = starts[j - 1 : e]  # segment [s, e)
            n = e - s
            fit = (s2[e] - s2[s]) - 2 * (proj[e] - proj[s]) + n * mu2
            prior = DURATION_WEIGHT * scale * np.log(n / expect[j - 1]) ** 2
            total = d[j - 1, s] + fit + prior
            i = int(np.argmin(total))
            d[j, e] = total[i]
            back[j, e] = s[i]
    bounds = [t]
    for j in range(k, 0, -1):
        bounds.append(int(back[j, bounds[-1]]))
    return float(d[k, t]), bounds[::-1]


def refine_timeline(
    timeline: PhonemeTimeline,
    lips: np.ndarray,
    target_of: Callable[[str], np.ndarray],
    leads_s: Sequence[float] = LEADS_S,
) -> tuple[PhonemeTimeline, float]:
    """(timeline re-aligned to the lips, the lead chosen). `lips` (T, D) is the clip's lip
    displacement; `target_of(phoneme)` its (D,) target. Every word moves `lead` seconds earlier
    (one lead per clip, where the lips say the word) keeping its length, and its phonemes are
    re-split by Viterbi; pauses fill what is left."""
    y = lips - lips.mean(0)
    phones = list(timeline.phonemes)
    centre = np.mean([target_of(p.phoneme) for p in phones], axis=0)
    n = len(y)
    groups: list[list[int]] = []  # runs of consecutive phoneme indices of one word
    for i, p in enumerate(phones):
        if p.phoneme == PAUSE or p.word_index < 0:
            continue
        if groups and phones[groups[-1][-1]].word_index == p.word_index and groups[-1][-1] == i - 1:
            groups[-1].append(i)
        else:
            groups.append([i])
    scale = float((y**2).sum(1).mean()) or 1.0
    best: tuple[float, float, dict[int, tuple[float, float]]] = (np.inf, 0.0, {})
    for lead in leads_s:
        total, spans = 0.0, {}
        for g in groups:
            a = int(round((phones[g[0]].start_s - lead) * FRAME_RATE))
            b = int(round((phones[g[-1]].end_s - lead) * FRAME_RATE))
            a, b = max(a, 0), min(b, n)
            if b - a < len(g):
                continue
            mus = np.stack([target_of(phones[i].phoneme) - centre for i in g])
            expect = np.array([(phones[i].end_s - phones[i].start_s) * FRAME_RATE for i in g])
            expect = np.maximum(expect * (b - a) / max(expect.sum(), 1e-9), 0.5)
            cost, bounds = _segment_dp(y[a:b], mus, expect, scale)
            total += cost
            for i, s, e in zip(g, bounds[:-1], bounds[1:], strict=True):
                spans[i] = ((a + s) / FRAME_RATE, (a + e) / FRAME_RATE)
        if total < best[0]:
            best = (total, lead, spans)
    _, lead, spans = best
    out = [replace(p, start_s=spans[i][0], end_s=spans[i][1]) if i in spans else p
           for i, p in enumerate(phones)]
    return PhonemeTimeline.from_segments(out, timeline.words), lead
