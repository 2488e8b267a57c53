"""What every profile decodes: the shipped sentences, the frame count rule, and how much of it
a run does (`Plan`: the full default run or `--quick`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from text2lips import FRAME_RATE

SENTENCES_FILE = Path(__file__).with_name("sentences.txt")
FRAME_MS = 1000.0 / FRAME_RATE
"""12.5 ms: the real-time budget of one decoder step at batch 1."""
FRAMES_PER_CHAR = 6
"""Fixed decode length per character (LRS3 speech runs about 5-7 frames per character): ours
and the reference decode exactly this many frames, so an untrained gate changes nothing."""


def load_sentences(path: Path = SENTENCES_FILE) -> list[str]:
    """The shipped sentences, one per line (blank lines and `#` comments skipped)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def frames_for(text: str, cap: int | None = None) -> int:
    """Frames decoded for `text`: FRAMES_PER_CHAR per character, optionally capped."""
    n = FRAMES_PER_CHAR * len(text)
    return min(n, cap) if cap else n


def spread(sentences: list[str], fractions: tuple[float, ...]) -> list[str]:
    """Sentences at the given quantiles of length (short to long), without repeats."""
    by_len = sorted(sentences, key=len)
    picked: list[str] = []
    for f in fractions:
        s = by_len[min(len(by_len) - 1, round(f * (len(by_len) - 1)))]
        if s not in picked:
            picked.append(s)
    return picked


@dataclass(frozen=True)
class Plan:
    """How much work one variant gets; budgets keep `make bench` bounded on a busy machine."""

    quick: bool
    """One short sentence, a few frames: wiring check for the smoke test."""
    ttff_sentences: list[str]
    """Time to first frame is taken over these (first frame only, so all 50 are cheap)."""
    pair_sentences: list[str]
    """Decoded in full, ours then the reference, pair by pair (a length-spread subset)."""
    frame_cap: int | None
    """Upper bound on frames per decode (quick mode only)."""
    stream_counts: tuple[int, ...]
    """Concurrent utterances tried in the BatchDecoder sweep."""
    stream_steps: int
    """Timed decoder steps per batch size (after one warm-up step that runs the encoder)."""
    ttff_budget_s: float
    """Stop the time-to-first-frame sweep after this long (the figures say how many ran)."""
    pair_budget_s: float
    """Stop pairing after this long, once at least one pair is done."""
    stream_budget_s: float
    """Stop the streams sweep after this long."""
    grpc_realtime_sentences: list[str]
    """Streamed with realtime pacing for jitter (cancelled after `grpc_realtime_frames`)."""
    grpc_realtime_frames: int
    """Frames read per realtime call: bounds the wall time at frames x 12.5 ms."""

    def frames(self, text: str) -> int:
        return frames_for(text, self.frame_cap)

    @classmethod
    def make(
        cls, quick: bool, sentences: list[str] | None = None, pairs: int | None = None
    ) -> Plan:
        sents = sentences or load_sentences()
        if quick:
            short = min(sents, key=len)
            return cls(
                quick=True,
                ttff_sentences=[short],
                pair_sentences=[short],
                frame_cap=16,
                stream_counts=(1, 2),
                stream_steps=2,
                ttff_budget_s=30.0,
                pair_budget_s=30.0,
                stream_budget_s=30.0,
                grpc_realtime_sentences=[short],
                grpc_realtime_frames=16,
            )
        # Three lengths (short, middle, long) by default keep the paper-size reference, which
        # runs two full decoders per frame, within the 10-minute budget on two cores.
        n = pairs or 3
        fractions = (0.5,) if n == 1 else tuple(0.15 + 0.7 * i / (n - 1) for i in range(n))
        return cls(
            quick=False,
            ttff_sentences=sents,
            pair_sentences=spread(sents, fractions),
            frame_cap=None,
            stream_counts=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            stream_steps=10,
            ttff_budget_s=25.0,
            pair_budget_s=45.0,
            stream_budget_s=15.0,
            grpc_realtime_sentences=spread(sents, (0.3, 0.6, 0.9)),
            grpc_realtime_frames=240,
        )
