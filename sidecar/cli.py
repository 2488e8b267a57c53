"""`text2lips serve`'s command line: the settings and the model are checked before the server
and its heavy imports (grpc, the text front end) load, so a bad start fails at once."""

from __future__ import annotations

import argparse

from sidecar import config as config_mod


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config_mod.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    cfg = config_mod.from_args(args)
    cfg.model_path()  # ModelNotFound: one line naming where it looked and how to get a model
    from sidecar.server import serve

    return serve(cfg)
