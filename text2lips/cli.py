"""The `text2lips` command: one subcommand per stage, each living beside the code it drives."""

from __future__ import annotations

import argparse
import importlib
import sys

from text2lips import Text2LipsError, __version__

# name -> (module, help). Each module exposes add_arguments(parser) and run(args) -> int;
# modules are imported only when their subcommand runs, so `text2lips --help` stays fast
# and a missing optional dependency only affects the command that needs it.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("text2lips.data.cli", "inspect and preprocess the real OpenFace/LRS3/RAVDESS data"),
    "train": ("text2lips.train", "train the lip decoder on the real clips"),
    "pretrain": ("text2lips.pretrain", "pretrain the lip decoder on the synthetic viseme corpus"),
    "phoneme": ("text2lips.phoneme.cli", "train or cross-validate the phoneme-timed lip model"),
    "viseme": ("text2lips.viseme.model", "fit the viseme baseline on the real training split"),
    "corpus": ("text2lips.viseme.corpus", "build the synthetic text-to-lips pretraining corpus"),
    "eval": ("text2lips.evaluate", "free-running evaluation against the real clips"),
    "openings": ("text2lips.opening_plot", "plot inner-lip opening, truth against models"),
    "closure": ("text2lips.closure", "check that the lips close on every p/b/m of unseen text"),
    "speak": ("text2lips.runtime.cli", "synthesise lip frames for a text and print or save them"),
    "bake": ("text2lips.bake", "render dialogue lines into clips engines play with no sidecar"),
    "render": ("text2lips.render", "draw lip frames as a strip, an animation or weight plots"),
    "export": ("engine_build.export", "export encoder and decoder step to ONNX"),
    "build-engine": ("engine_build.tensorrt", "build TensorRT engines from exported ONNX graphs"),
    "serve": ("sidecar.cli", "run the gRPC sidecar"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `command`'s module is imported (the others just list their help)."""
    parser = argparse.ArgumentParser(prog="text2lips", description=__doc__)
    parser.add_argument("--version", action="version", version=f"text2lips {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name != command:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise
            p.set_defaults(_missing=f"'{name}' is not available in this build ({module} missing)")
            p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            continue
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "_missing", None):
        print(f"text2lips: error: {args._missing}", file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except Text2LipsError as exc:
        print(f"text2lips {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
