"""`text2lips render`: lip frames as a strip (PNG), an animation (GIF/MP4) or weight plots.

The strip follows the paper's Fig. 7/9: evenly spaced frames, lips drawn as outer and inner
contours. With `--clip`, the prediction is drawn beside the real track of that clip.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from text2lips import FRAME_RATE, Text2LipsError
from text2lips.data import lips as L
from text2lips.files import atomic_path

OUTER = list(range(12)) + [0]  # points 48..59, closed
INNER = list(range(12, 20)) + [12]  # points 60..67, closed
ANIMATION_FPS = 25.0


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _draw(ax, shape: np.ndarray, colour: str, limits: tuple) -> None:
    """One (20, 3) lip shape, front view (x right, y down as in the image)."""
    ax.fill(shape[OUTER, 0], shape[OUTER, 1], color=colour, alpha=0.25, lw=0)
    ax.plot(shape[OUTER, 0], shape[OUTER, 1], color=colour, lw=1.6)
    ax.plot(shape[INNER, 0], shape[INNER, 1], color=colour, lw=1.2)
    ax.set_xlim(*limits[0])
    ax.set_ylim(limits[1][1], limits[1][0])  # image convention: y grows downwards
    ax.set_aspect("equal")
    ax.axis("off")


def _limits(*tracks: np.ndarray) -> tuple:
    pts = np.concatenate([t.reshape(-1, 3) for t in tracks])
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.1 * (hi - lo).max()
    return (lo[0] - pad, hi[0] + pad), (lo[1] - pad, hi[1] + pad)


def render_strip(tracks: dict[str, np.ndarray], out: Path, title: str, n: int = 10) -> None:
    """PNG: one row per track ((T, 20, 3) each), `n` evenly spaced frames."""
    plt = _mpl()
    colours = ["tab:red", "tab:blue", "tab:green"]
    T = min(len(t) for t in tracks.values())
    idx = np.linspace(0, T - 1, n).round().astype(int)
    lim = _limits(*tracks.values())
    fig, axes = plt.subplots(
        len(tracks), n, figsize=(1.6 * n, 1.3 * len(tracks) + 0.6), squeeze=False
    )
    for r, (name, track) in enumerate(tracks.items()):
        for c, i in enumerate(idx):
            _draw(axes[r, c], track[i], colours[r % 3], lim)
            if r == 0:
                axes[r, c].set_title(f"{i / FRAME_RATE:.2f}s", fontsize=8)
        axes[r, 0].text(
            -0.1, 0.5, name, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=9
        )
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save_figure(fig, out)
    plt.close(fig)


def render_animation(tracks: dict[str, np.ndarray], out: Path, title: str) -> None:
    """GIF or MP4 at real speed (frames resampled from 80 fps to 25 fps)."""
    import imageio.v2 as imageio

    plt = _mpl()
    res = {k: L.resample_frames(v, FRAME_RATE, ANIMATION_FPS) for k, v in tracks.items()}
    T = min(len(t) for t in res.values())
    lim = _limits(*tracks.values())
    fig, axes = plt.subplots(1, len(res), figsize=(3.2 * len(res), 2.4), dpi=100, squeeze=False)
    images = []
    for i in range(T):
        for ax, (name, track), colour in zip(
            axes[0], res.items(), ["tab:red", "tab:blue"], strict=False
        ):
            ax.clear()
            _draw(ax, track[i], colour, lim)
            ax.set_title(name, fontsize=9)
        fig.suptitle(f"{title}  {i / ANIMATION_FPS:.2f}s", fontsize=9)
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    with atomic_path(out) as tmp:
        if out.suffix == ".gif":
            imageio.mimsave(tmp, images, format="GIF", duration=1000 / ANIMATION_FPS, loop=0)
        else:
            imageio.mimsave(
                tmp, images, format="FFMPEG", fps=ANIMATION_FPS, codec="libx264", macro_block_size=8
            )


def _save_figure(fig, out: Path) -> None:
    # A failed render never leaves half a PNG.
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format=out.suffix.lstrip("."))


def plot_blendshapes(
    weights: np.ndarray, names: Sequence[str], out_path: str | Path, frame_rate: float = FRAME_RATE,
    title: str | None = None,
) -> Path:
    """Blend-shape weights as a heat map: (T, K) weights over time, one row per blend
    shape, saved to out_path.

    The format follows the suffix (.png, .pdf, .svg). Used by `text2lips render --blendshapes`.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise Text2LipsError(
            "plotting blend shapes needs matplotlib: pip install 'text2lips[render]'"
        ) from exc
    w = np.asarray(weights, dtype=np.float32)
    if w.ndim != 2 or w.shape[1] != len(names):
        raise Text2LipsError(f"weights of shape {w.shape} do not match {len(names)} names")
    fig, ax = plt.subplots(figsize=(max(6.0, min(24.0, w.shape[0] / 40)), 0.22 * len(names) + 1.5))
    try:
        im = ax.imshow(
            w.T, aspect="auto", origin="upper", vmin=0.0, vmax=1.0, cmap="magma",
            interpolation="nearest", extent=(0.0, w.shape[0] / frame_rate, len(names) - 0.5, -0.5),
        )
        ax.set_yticks(range(len(names)), labels=list(names), fontsize=7)
        ax.set_xlabel("time (s)")
        if title:
            ax.set_title(title)
        fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01, label="weight")
        fig.tight_layout()
        out_path = Path(out_path)
        fig.savefig(out_path, dpi=120)
    finally:
        plt.close(fig)
    return out_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "text",
        nargs="?",
        default=None,
        help="what to say (optional with --clip: the clip's transcript)",
    )
    parser.add_argument("-o", "--out", type=Path, required=True, help="out.png, out.gif or out.mp4")
    parser.add_argument(
        "--model",
        default="models/default",
        help="model directory, or 'viseme' for the viseme baseline",
    )
    parser.add_argument(
        "--clip",
        default=None,
        help="a real clip id (e.g. trainval/0FkuRwU8HFc/00002): draw the truth too",
    )
    parser.add_argument("--data", type=Path, default=None, help="shared data folder")
    parser.add_argument(
        "--blendshapes",
        action="store_true",
        help="plot blend-shape weights over time instead of lips",
    )
    parser.add_argument("--frames", type=int, default=10, help="frames in a PNG strip")
    from text2lips.voice.cli import add_voice_arguments

    add_voice_arguments(parser)  # with a voice, an .mp4 carries the audio too


def _find_clip(data: Path | None, clip_id: str):
    from text2lips.data.dataset import load_clips

    clips = load_clips(data, "lrs3")
    key = clip_id.removeprefix("lrs3/")
    found = [c for c in clips if c.clip_id.removeprefix("lrs3/").endswith(key)]
    if len(found) != 1:
        raise Text2LipsError(
            f"clip {clip_id!r} matches {len(found)} clips; e.g. {clips[0].clip_id}"
        )
    return found[0]


def run(args: argparse.Namespace) -> int:
    from text2lips.runtime import SynthesisOptions, Synthesizer

    if args.out.suffix not in (".png", ".gif", ".mp4"):
        raise Text2LipsError(f"{args.out}: use a .png, .gif or .mp4 file name")
    clip = _find_clip(args.data, args.clip) if args.clip else None
    text = args.text or (clip.text if clip else None)
    if not text:
        raise Text2LipsError("give a text to say, or --clip")
    from text2lips.voice.cli import voice_from_args

    voice = voice_from_args(args)
    if voice is not None and clip is not None:
        raise Text2LipsError("--clip draws the clip's own timing; drop --voice/--marks")
    synth = Synthesizer.load(args.model)
    opts = SynthesisOptions()
    if clip is not None:  # same length and reference as the truth, so frames line up
        ref = clip.reference.reshape(-1)
        opts = SynthesisOptions(reference=ref, max_frames=clip.n_frames, stop=False)
    audio = None
    if voice is not None:
        from text2lips.voice.lips import speak_all

        audio, rate, _, frames = speak_all(synth, voice, text, opts)
        pred = L.as_points(frames)  # (T, 20, 3) on the voice's clock
    else:
        pred = L.as_points(synth.synthesize(text, opts))  # (T, 20, 3)
    tracks = {f"predicted ({synth.info.name})": pred}
    if clip is not None:
        tracks["ground truth"] = L.centre(clip.lips)
    if args.blendshapes:
        from text2lips.blendshapes import BLENDSHAPE_NAMES, default_calibration
        from text2lips.blendshapes import solve as solve_blendshapes

        weights = solve_blendshapes(pred, default_calibration())
        if args.out.suffix != ".png":
            raise Text2LipsError("--blendshapes draws a .png plot")
        plot_blendshapes(weights, BLENDSHAPE_NAMES, args.out)
    elif args.out.suffix == ".png":
        render_strip(tracks, args.out, text, n=args.frames)
    elif audio is not None and len(audio) and args.out.suffix == ".mp4":
        from text2lips.voice.cli import mux, write_wav

        args.out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=args.out.parent) as tmp:
            video, wav = Path(tmp) / "video.mp4", Path(tmp) / "audio.wav"
            render_animation(tracks, video, text)
            write_wav(wav, audio, rate)
            mux(video, wav, args.out)
    else:
        render_animation(tracks, args.out, text)
    print(f"{args.out}: {len(pred)} frames ({len(pred) / FRAME_RATE:.2f} s)")
    return 0
