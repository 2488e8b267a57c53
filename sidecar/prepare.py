"""A request's text work before it may decode, away from the event loop and the decode thread:
normalise once, hold the result to a work budget, and time it with espeak-ng (timed models).

Normalisation can multiply a text (unidecode of CJK, long digit strings spelled out: about
13x) and it and espeak-ng are Python/C work that holds a core for up to a second on a
2,000-character attack. It therefore runs in worker processes (their own GIL, and espeak-ng's
global lock is theirs too), short texts in one and long texts in another, so an honest line
never waits behind an expanding one. The budget is checked on the normalised text before
espeak-ng runs, and on the frames after.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from text2lips import FRAME_RATE, Text2LipsError

SHORT_TEXT = 256
"""Texts up to this many characters go to the short-text worker."""


class BudgetExceeded(Text2LipsError):
    """A request over the work budget (INVALID_ARGUMENT): the message names the limit."""


@dataclass(frozen=True)
class WorkBudget:
    """The most work one request may ask for, measured after normalisation."""

    max_symbols: int = 4000
    """Characters of normalised text (about 2x the longest English text allowed raw)."""
    max_frames: int = 12_000
    """Native frames of one utterance (150 s at 80 fps)."""


@dataclass(frozen=True)
class Prepared:
    """A text ready for the decoder."""

    text: str
    """The normalised text (normalising it again changes nothing)."""
    timeline: Any = None
    """espeak-ng's PhonemeTimeline of it (timed models); None for models that time themselves."""
    frames: int = 0
    """Native frames the timeline lasts (0 when not timed)."""


def prepare_text(text: str, budget: WorkBudget, rate_wpm: int | None) -> Prepared:
    """Normalise, check the budget, time the text when `rate_wpm` is given (timed models)."""
    from text2lips.text.normalize import has_speakable, normalize

    spoken = normalize(text)
    if len(spoken) > budget.max_symbols:
        raise BudgetExceeded(
            f"text normalises to {len(spoken)} symbols ({len(text)} characters as sent); the "
            f"limit is {budget.max_symbols} ({len(spoken) - budget.max_symbols} over)"
        )
    if not has_speakable(spoken):
        preview = repr(text if len(text) <= 40 else text[:40] + "...")
        raise Text2LipsError(f"nothing speakable in text {preview}")
    if rate_wpm is None:
        return Prepared(spoken)
    from text2lips.text.timeline import espeak_timeline

    timeline = espeak_timeline(spoken, rate_wpm=rate_wpm)
    frames = max(int(timeline.n_frames), 1)
    if frames > budget.max_frames:
        raise BudgetExceeded(
            f"text lasts {frames} frames ({frames / FRAME_RATE:.1f} s); the limit is "
            f"{budget.max_frames} ({frames - budget.max_frames} over)"
        )
    return Prepared(spoken, timeline, frames)


LONG_TEXT_NICE = 10
"""Niceness of the long-text worker: its CPU (an attacker's expanding text, most often) yields
to the server's decode thread and event loop on a busy machine."""


def _warm() -> None:
    prepare_text("Hello 2.", WorkBudget(), 175)


def _lower_priority() -> None:
    try:
        os.nice(LONG_TEXT_NICE)
    except OSError:  # not allowed here: run at the same priority
        pass


class Preparer:
    """Two worker processes (short and long texts) running `prepare_text`."""

    def __init__(self, budget: WorkBudget, rate_wpm: int | None) -> None:
        self.budget = budget
        self.rate_wpm = rate_wpm
        if rate_wpm is not None:
            # Results carry timelines: unpickling them must not import the text front end
            # (seconds) on the event loop at the first request.
            import text2lips.text.timeline  # noqa: F401
        # forkserver: the server has gRPC threads running, which a plain fork does not carry
        # safely; the fork server imports the text front end once per process (inflect alone
        # takes ~3 s), and every worker after that forks from it ready to run.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["sidecar.prepare", "text2lips.text.normalize",
                                    "text2lips.text.timeline"])
        self._short = ProcessPoolExecutor(1, mp_context=ctx)
        self._long = ProcessPoolExecutor(1, mp_context=ctx, initializer=_lower_priority)
        # Load espeak-ng in each worker now, not on the first request.
        self._warming = [pool.submit(_warm) for pool in (self._short, self._long)]

    async def ready(self) -> None:
        """Wait until both workers have run once (the server says SERVING after this)."""
        await asyncio.gather(*(asyncio.wrap_future(f) for f in self._warming))

    async def prepare(self, text: str) -> Prepared:
        pool = self._short if len(text) <= SHORT_TEXT else self._long
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, prepare_text, text, self.budget, self.rate_wpm)

    def close(self) -> None:
        for pool in (self._short, self._long):
            pool.shutdown(wait=False, cancel_futures=True)
