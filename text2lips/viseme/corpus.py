"""Synthetic pretraining corpus: English sentences from the Debian `fortunes` package, rendered
to lip tracks by the viseme model with a seeded rate, articulation strength and speaker each."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from text2lips import FRAME_DIM, FRAME_RATE, N_LIP_POINTS, Text2LipsError
from text2lips.data.transcripts import WordTiming
from text2lips.files import atomic_path
from text2lips.text.phonemes import RATE_MAX_WPM, RATE_MIN_WPM, phoneme_timings
from text2lips.viseme.model import VisemeModel
from text2lips.viseme.sentences import SOURCE_DIR, SOURCE_PACKAGE, read_sentences

FORMAT = "text2lips.corpus"
VERSION = 1
"""Bump when sentence cleaning or rendering changes, so default cache names change too."""

LICENCE = (
    "Targets rendered by the viseme model fitted on LRS3 (CC BY-NC-ND 4.0): non-commercial use "
    "only. Sentences from the Debian fortunes package."
)


@dataclass(frozen=True)
class CorpusSettings:
    """How sentences are chosen and rendered; stored in the corpus file and part of its name."""

    seed: int = 0
    """Seeds the sentence order and every utterance's variation."""
    limit: int | None = None
    """Render only the first N sentences of the seeded order (small corpora, tests)."""
    min_words: int = 3
    """Shortest sentence kept, in words after normalisation."""
    max_words: int = 25
    """Longest sentence kept, in words after normalisation."""
    rate_wpm: tuple[int, int] = (140, 220)
    """Speaking rate range (espeak words per minute), drawn uniformly per utterance."""
    strength: tuple[float, float] = (0.8, 1.6)
    """Articulation strength range, drawn uniformly: the fitted model under-articulates (its
    averaged targets are smaller than any one speaker's movements), so most draws exceed 1."""
    blend: float = 0.5
    """Probability that an utterance's speaker is a random blend of the real speakers rather
    than one of them."""


@dataclass(frozen=True)
class SyntheticClip:
    """One rendered sentence, usable wherever a real clip trains (`clip_id`, `text`, `target`)."""

    clip_id: str
    """`synthetic/<n>`: n is the sentence's index in the cleaned source list."""
    text: str
    """The sentence as written in the source."""
    speaker: str
    """The real training speaker whose shape it was rendered for, or `blend`."""
    rate_wpm: int
    """espeak speaking rate it was timed at."""
    strength: float
    """Articulation strength it was rendered with."""
    reference: np.ndarray
    """(20, 3) float32 centred neutral shape of the speaker (or blend)."""
    frames: np.ndarray
    """(T, 60) float16 displacements as stored (0.01 mm steps are far below the error)."""

    @property
    def target(self) -> np.ndarray:
        """(T, 60) float32 displacement from the reference: the model's output space."""
        return self.frames.astype(np.float32)

    @property
    def lips(self) -> np.ndarray:
        """(T, 20, 3) float32 centred lip shape (reference + displacement)."""
        return self.target.reshape(-1, N_LIP_POINTS, 3) + self.reference

    @property
    def words(self) -> tuple:
        """No word timings: training keeps synthetic clips whole."""
        return ()

    def word_timings(self) -> tuple[WordTiming, ...]:
        """When each word is said in this clip, as espeak-ng times the text at its rate
        (again: timings move by ~10 ms between processes). A phrase espeak says as one word
        ("so much") comes back as one timing."""
        utt = phoneme_timings(self.text, rate_wpm=self.rate_wpm)
        spans: dict[int, list[float]] = {}
        for p in utt.phonemes:
            if p.word_index >= 0:
                span = spans.setdefault(p.word_index, [p.start_s, p.end_s])
                span[1] = p.end_s
        out: list[WordTiming] = []
        for i, word in enumerate(utt.words):
            if i in spans:
                out.append(WordTiming(word, *spans[i]))
            elif out:  # said with the word before it
                out[-1] = WordTiming(f"{out[-1].word} {word}", out[-1].start_s, out[-1].end_s)
        return tuple(out)

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def duration_s(self) -> float:
        return self.n_frames / FRAME_RATE


# ---- rendering ----------------------------------------------------------------------------


def _check_settings(settings: CorpusSettings) -> None:
    lo, hi = settings.rate_wpm
    if not RATE_MIN_WPM <= lo <= hi <= RATE_MAX_WPM:
        raise Text2LipsError(
            f"rate range {lo}..{hi} wpm must be ordered and inside espeak-ng's "
            f"{RATE_MIN_WPM}..{RATE_MAX_WPM}"
        )
    lo_s, hi_s = settings.strength
    if not 0 <= lo_s <= hi_s or not np.isfinite(hi_s):
        raise Text2LipsError(f"strength range {lo_s}..{hi_s} must be ordered, finite and >= 0")
    if not 0 <= settings.blend <= 1:
        raise Text2LipsError(f"blend probability {settings.blend} must be within 0..1")
    if settings.limit is not None and settings.limit < 1:
        raise Text2LipsError(f"--limit {settings.limit}: must be >= 1")
    if not 1 <= settings.min_words <= settings.max_words:
        raise Text2LipsError(
            f"word range {settings.min_words}..{settings.max_words} must be ordered and >= 1"
        )


def build_corpus(
    model: VisemeModel,
    sentences: Sequence[str],
    references: dict[str, np.ndarray],
    settings: CorpusSettings = CorpusSettings(),
    progress: Callable[[int, int, float], None] | None = None,
) -> list[SyntheticClip]:
    """Render sentences in a seeded order (the first `settings.limit` of it), each with its own
    rate, strength and speaker drawn from a generator seeded by (seed, sentence index), so an
    utterance does not depend on the limit. `references`: speaker -> (20, 3) centred neutral
    shape. `progress(done, total, seconds_of_speech)` is called as clips are made.

    espeak-ng's timings move by ~10 ms with the calls made before in the same process, so a
    build is reproducible from a fresh process (as `text2lips corpus` runs), not inside one.
    """
    _check_settings(settings)
    if not references:
        raise Text2LipsError("no speaker references to render the corpus for")
    names = sorted(references)
    refs = np.stack([np.asarray(references[n], np.float32).reshape(N_LIP_POINTS, 3) for n in names])
    # A speaker with a wider mouth moves it further: scale each axis by the reference's spread.
    model_spread = model.reference.std(axis=0)  # (3,)
    order = np.random.default_rng(settings.seed).permutation(len(sentences))
    if settings.limit is not None:
        order = order[: settings.limit]
    clips: list[SyntheticClip] = []
    seconds = 0.0
    for done, index in enumerate(order.tolist(), start=1):
        rng = np.random.default_rng([settings.seed, index])
        rate = int(rng.integers(settings.rate_wpm[0], settings.rate_wpm[1] + 1))
        strength = round(float(rng.uniform(*settings.strength)), 3)
        if rng.random() < settings.blend:
            weights = rng.dirichlet(np.ones(len(names)))
            speaker, reference = "blend", np.tensordot(weights, refs, axes=1)  # (20, 3)
        else:
            k = int(rng.integers(len(names)))
            speaker, reference = names[k], refs[k]
        scale = (reference.std(axis=0) / model_spread).astype(np.float32)  # (3,)
        disp = model.synthesize(sentences[index], rate_wpm=rate, strength=strength)  # (T, 60)
        disp = (disp.reshape(-1, N_LIP_POINTS, 3) * scale).reshape(-1, FRAME_DIM)
        clips.append(
            SyntheticClip(
                clip_id=f"synthetic/{index:05d}",
                text=sentences[index],
                speaker=speaker,
                rate_wpm=rate,
                strength=strength,
                reference=reference.astype(np.float32),
                frames=disp.astype(np.float16),
            )
        )
        seconds += len(disp) / FRAME_RATE
        if progress is not None:
            progress(done, len(order), seconds)
    return clips


# ---- files --------------------------------------------------------------------------------


def corpus_key(
    model_path: Path,
    sentences: Sequence[str],
    references: dict[str, np.ndarray],
    settings: CorpusSettings,
) -> str:
    """16 hex digits naming everything the corpus depends on (a default cache file name)."""
    h = hashlib.sha256(f"{FORMAT}|v{VERSION}|{json.dumps(asdict(settings))}".encode())
    h.update(Path(model_path).read_bytes())
    h.update("\n".join(sentences).encode())
    for name in sorted(references):
        h.update(name.encode() + np.asarray(references[name], np.float32).tobytes())
    return h.hexdigest()[:16]


def write_corpus(path: str | Path, clips: Sequence[SyntheticClip], header: dict) -> Path:
    """One .npz: concatenated float16 frames, offsets, references and JSON metadata, written
    to a temporary file and renamed, so a crash never leaves half a corpus."""
    if not clips:
        raise Text2LipsError("no clips to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    offsets = np.cumsum([0] + [c.n_frames for c in clips]).astype(np.int64)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        **header,
        "clips": [
            {
                "clip_id": c.clip_id,
                "text": c.text,
                "speaker": c.speaker,
                "rate_wpm": c.rate_wpm,
                "strength": c.strength,
            }
            for c in clips
        ],
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(
            f,
            frames=np.concatenate([c.frames for c in clips]),
            offsets=offsets,
            references=np.stack([c.reference for c in clips]),
            meta=np.array(json.dumps(meta)),
        )
    return path


def read_header(path: str | Path) -> dict:
    """The corpus file's JSON metadata (settings, source, model, one entry per clip)."""
    path = Path(path)
    try:
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError) as exc:
        raise Text2LipsError(f"{path}: cannot read synthetic corpus: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise Text2LipsError(f"{path}: not a synthetic corpus (format is not {FORMAT!r})")
    if meta.get("version") != VERSION:
        raise Text2LipsError(
            f"{path}: corpus version {meta.get('version')!r}, this text2lips reads {VERSION}; "
            "rebuild it with `text2lips corpus`"
        )
    return meta


def load_corpus(path: str | Path) -> list[SyntheticClip]:
    """The clips of a corpus file written by `write_corpus` (or `text2lips corpus`)."""
    path = Path(path)
    meta = read_header(path)
    try:
        with np.load(path) as z:
            frames, offsets, refs = z["frames"], z["offsets"], z["references"]
        entries = meta["clips"]
        if len(offsets) != len(entries) + 1 or len(refs) != len(entries):
            raise ValueError(f"{len(entries)} clips but {len(offsets)} offsets")
        return [
            SyntheticClip(
                clip_id=e["clip_id"],
                text=e["text"],
                speaker=e["speaker"],
                rate_wpm=int(e["rate_wpm"]),
                strength=float(e["strength"]),
                reference=refs[i],
                frames=frames[offsets[i] : offsets[i + 1]],
            )
            for i, e in enumerate(entries)
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise Text2LipsError(f"{path}: malformed synthetic corpus: {exc}") from exc


# ---- command line: `text2lips corpus` ------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = CorpusSettings()
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="corpus .npz to write (default: the cache dir, "
        "$TEXT2LIPS_CACHE or ~/.cache/text2lips, corpus-<hash>.npz)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="viseme model JSON (default models/viseme/viseme.json)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="shared data folder, for the real speakers' references",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=SOURCE_DIR,
        help=f"fortune files to take sentences from (default {SOURCE_DIR})",
    )
    parser.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    parser.add_argument("--limit", type=int, default=None, help="render only N sentences")
    parser.add_argument(
        "--rate",
        type=int,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=d.rate_wpm,
        help=f"speaking rate range, wpm (default {d.rate_wpm[0]} {d.rate_wpm[1]})",
    )
    parser.add_argument(
        "--strength",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=d.strength,
        help=f"articulation strength range (default {d.strength[0]} {d.strength[1]})",
    )
    parser.add_argument(
        "--blend",
        type=float,
        default=d.blend,
        help=f"probability of a blended speaker (default {d.blend})",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if the file exists")


def run(args: argparse.Namespace) -> int:
    """Build the corpus (or find it already built) and print a JSON summary."""
    from text2lips.data.dataset import cache_dir, speaker_references
    from text2lips.viseme.runtime import default_model_file

    settings = CorpusSettings(
        seed=args.seed,
        limit=args.limit,
        rate_wpm=tuple(args.rate),
        strength=tuple(args.strength),
        blend=args.blend,
    )
    _check_settings(settings)
    model_path = args.model or default_model_file()
    model = VisemeModel.load(model_path)
    sentences = read_sentences(
        args.source, min_words=settings.min_words, max_words=settings.max_words
    )
    references = speaker_references(args.data, "lrs3")
    key = corpus_key(model_path, sentences, references, settings)
    out = args.out or cache_dir() / f"corpus-{key}.npz"
    if out.exists() and not args.force:
        clips = load_corpus(out)
        print(json.dumps(_summary(out, clips, None)))
        return 0

    t0 = time.perf_counter()

    def progress(done: int, total: int, seconds: float) -> None:
        if done % 1000 == 0 or done == total:
            rate = done / (time.perf_counter() - t0)
            print(
                f"corpus: {done}/{total} clips, {seconds / 3600:.2f} h of speech, "
                f"{rate:.1f} clips/s",
                file=sys.stderr,
                flush=True,
            )

    clips = build_corpus(model, sentences, references, settings, progress)
    header = {
        "licence": LICENCE,
        "settings": asdict(settings),
        "source": {
            "package": SOURCE_PACKAGE,
            "dir": str(args.source),
            "sentences_available": len(sentences),
        },
        "model": {
            "path": str(model_path),
            "sha256": hashlib.sha256(Path(model_path).read_bytes()).hexdigest(),
        },
        "speakers": sorted(references),
    }
    write_corpus(out, clips, header)
    print(json.dumps(_summary(out, clips, time.perf_counter() - t0)))
    return 0


def _summary(path: Path, clips: Sequence[SyntheticClip], build_s: float | None) -> dict:
    frames = sum(c.n_frames for c in clips)
    out = {
        "out": str(path),
        "clips": len(clips),
        "frames": frames,
        "hours": round(frames / FRAME_RATE / 3600, 3),
    }
    if build_s is not None:
        out |= {"build_s": round(build_s, 1), "clips_per_s": round(len(clips) / build_s, 2)}
    return out
