"""Articulation metrics: does the mouth move the way a person sees a real one move? Ratios of
opening std, velocity and syllable-rate (2-7 Hz) power against the truth, opening correlation
(at true timing, or after DTW at the model's own), and closures on p/b/m."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from text2lips import FRAME_RATE
from text2lips.text.phonemes import PhonemeTiming
from text2lips.viseme.model import phoneme_class

LOWPASS_HZ = 10.0
"""Openings are low-passed here before velocity and band power, so tracking jitter (which a
viewer does not read as speech) does not count."""
BAND_HZ = (2.0, 7.0)
"""Syllable rate."""
CLOSURE_FRACTION = 0.25
"""A closure: the inner opening at or below this fraction of the clip's range (from its min)."""
CLOSURE_WINDOW_S = 0.050
"""How far around a p/b/m's span the closure may fall."""
DTW_BAND_S = 0.150
"""How far DTW may move a frame from the (length-scaled) diagonal."""
BILABIALS = frozenset({"p", "b", "m"})


def lowpass(x: np.ndarray, cutoff_hz: float = LOWPASS_HZ, rate: float = FRAME_RATE) -> np.ndarray:
    """Zero-phase low-pass: the spectrum above cutoff removed (mean-padded to cut edge ringing)."""
    x = np.asarray(x, np.float64)
    n = len(x)
    if n < 4:
        return x.copy()
    pad = min(n, int(rate))  # one second of reflection each side
    y = np.pad(x, pad, mode="reflect")
    spec = np.fft.rfft(y)
    freqs = np.fft.rfftfreq(len(y), 1.0 / rate)
    spec[freqs > cutoff_hz] = 0.0
    return np.fft.irfft(spec, len(y))[pad : pad + n]


def velocity_rms(opening: np.ndarray, rate: float = FRAME_RATE) -> float:
    """RMS of d(opening)/dt (mm/s) of the low-passed opening."""
    v = np.diff(lowpass(opening, rate=rate)) * rate
    return float(np.sqrt(np.mean(v**2))) if len(v) else 0.0


def band_power(opening: np.ndarray, rate: float = FRAME_RATE, band=BAND_HZ) -> float:
    """Power (mm^2 per frame) of the low-passed, mean-removed, Hann-windowed opening between
    band[0] and band[1] Hz; per frame, so clips of different lengths compare."""
    x = lowpass(opening, rate=rate)
    x = (x - x.mean()) * np.hanning(len(x))
    spec = np.abs(np.fft.rfft(x)) ** 2 / max(len(x), 1) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    sel = (freqs >= band[0]) & (freqs <= band[1])
    return float(spec[sel].sum()) if sel.any() else 0.0


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r; 0 when either side does not move (a flat prediction explains nothing)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or a.std() < 1e-6 or b.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def dtw_path(a: np.ndarray, b: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (ia, ib) of the cheapest monotone alignment of 1-D a and b (squared cost of
    z-scored values) staying within `band` frames of the length-scaled diagonal."""
    za = (a - a.mean()) / (a.std() + 1e-9)
    zb = (b - b.mean()) / (b.std() + 1e-9)
    n, m = len(za), len(zb)
    inf = np.inf
    cost = np.full((n + 1, m + 1), inf)
    cost[0, 0] = 0.0
    centre = (np.arange(n) * (m - 1) / max(n - 1, 1)).round().astype(int)
    lo = np.maximum(centre - band, 0)
    hi = np.minimum(centre + band + 1, m)
    for i in range(1, n + 1):
        js = np.arange(lo[i - 1], hi[i - 1])
        d = (za[i - 1] - zb[js]) ** 2
        best_prev = np.minimum(cost[i - 1, js], cost[i - 1, js + 1])  # diagonal, vertical
        row = d + best_prev
        # horizontal moves within the row: a running minimum
        for k in range(1, len(js)):
            row[k] = min(row[k], d[k] + row[k - 1])
        cost[i, js + 1] = row
    ia, ib = [n - 1], [m - 1]
    i, j = n, m
    while (i, j) != (1, 1):
        moves = []
        if i > 1 and j > 1:
            moves.append((cost[i - 1, j - 1], i - 1, j - 1))
        if i > 1:
            moves.append((cost[i - 1, j], i - 1, j))
        if j > 1:
            moves.append((cost[i, j - 1], i, j - 1))
        _, i, j = min(moves)
        ia.append(i - 1)
        ib.append(j - 1)
    return np.array(ia[::-1]), np.array(ib[::-1])


def dtw_r(pred: np.ndarray, true: np.ndarray, band_s: float = DTW_BAND_S) -> float:
    """Opening correlation after aligning pred to true by DTW within +-band_s of the diagonal."""
    if len(pred) < 2 or len(true) < 2:
        return 0.0
    ia, ib = dtw_path(np.asarray(pred, np.float64), np.asarray(true, np.float64),
                      max(int(round(band_s * FRAME_RATE)), 1))
    return pearson(np.asarray(pred)[ia], np.asarray(true)[ib])


def closures(
    opening: np.ndarray, phonemes: Sequence[PhonemeTiming], rate: float = FRAME_RATE
) -> dict[str, int]:
    """Counts of p/b/m that close (opening <= CLOSURE_FRACTION of its range within
    CLOSURE_WINDOW_S of the phoneme's span) and of open vowels that close at their middle
    (false closures: the opening within +-1 frame of the vowel's centre at or below the same
    threshold)."""
    op = np.asarray(opening, np.float64)
    lo, hi = float(op.min()), float(op.max())
    thresh = lo + CLOSURE_FRACTION * (hi - lo)
    n = len(op)
    out = {"bilabials": 0, "closed": 0, "open_vowels": 0, "false_closures": 0}
    if hi - lo < 1e-6:
        thresh = -np.inf  # a still mouth never closes
    for p in phonemes:
        if p.phoneme in BILABIALS:
            a = int(np.floor((p.start_s - CLOSURE_WINDOW_S) * rate))
            b = int(np.ceil((p.end_s + CLOSURE_WINDOW_S) * rate)) + 1
            a, b = max(a, 0), min(b, n)
            if a >= b:
                continue
            out["bilabials"] += 1
            out["closed"] += int(op[a:b].min() <= thresh)
        elif phoneme_class(p.phoneme) == "open":
            c = int(round((p.start_s + p.end_s) / 2 * rate))
            a, b = max(c - 1, 0), min(c + 2, n)
            if a >= b:
                continue
            out["open_vowels"] += 1
            out["false_closures"] += int(op[a:b].max() <= thresh)
    return out


def ratio(pred: float, true: float) -> float:
    return float(pred / true) if true > 1e-12 else float("nan")


def motion_ratios(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """How much a predicted opening moves against the true one, prediction over truth: its
    std, RMS velocity and 2-7 Hz power (length-free, so at any timing)."""
    return {
        "motion_ratio": ratio(float(np.std(pred)), float(np.std(true))),
        "velocity_ratio": ratio(velocity_rms(pred), velocity_rms(true)),
        "band_ratio": ratio(band_power(pred), band_power(true)),
    }


def opening_metrics(pred: np.ndarray, true: np.ndarray, *, same_timing: bool) -> dict[str, float]:
    """Articulation of a predicted opening against the true one. `same_timing`: frame i of
    both is the same moment (true timing); else pred is at the model's own timing, compared
    after DTW and by length-free ratios."""
    out = {**motion_ratios(pred, true), "opening_r_dtw": dtw_r(pred, true)}
    if same_timing:
        out["opening_r"] = pearson(pred, true)
    return out
