"""Sidecar settings: one dataclass, filled from command-line flags, then TEXT2LIPS_* environment
variables, then defaults (flags win)."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from text2lips import Text2LipsError


class ConfigError(Text2LipsError):
    """A setting that cannot be used (bad number, missing TLS file, ...)."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything `text2lips serve` can be told."""

    host: str = "127.0.0.1"
    """Address to bind; loopback by default so nothing is exposed unless asked for."""
    port: int = 50051
    """gRPC port; 0 picks a free one (tests)."""
    model: str = "models/default"
    """Model directory, or a model's name looked up in $TEXT2LIPS_MODELS, then the checkout's
    models/ (`default`, `viseme`; a leading `models/` is ignored)."""
    backend: str = "torch-cpu"
    """Runtime backend, one of text2lips.runtime.BACKENDS."""
    threads: int | None = 1
    """Intra-op threads of the decode loop's backend. One by default: the per-step ops of a
    lip decoder are too small to split, and on a shared 2-core box a second thread measured
    4-9x slower per step (text2lips speak, 59 characters, models/default: RTF 0.045 on one
    thread, 0.397 on two while another process used a core)."""
    token: str | None = None
    """Bearer token clients must send (`authorization: Bearer <token>`); None: no auth."""
    tls_cert: str | None = None
    """PEM certificate chain; with tls_key, serve TLS instead of plaintext."""
    tls_key: str | None = None
    """PEM private key matching tls_cert."""
    metrics_port: int | None = None
    """Serve Prometheus metrics on host:metrics_port; None: off."""
    max_batch: int = 32
    """Utterances decoded together (one batch decoder step advances all of them)."""
    max_queue: int = 64
    """Utterances that may wait for a batch slot; beyond batch + queue: RESOURCE_EXHAUSTED."""
    max_text_chars: int = 2000
    """Longest text accepted (also capped by the model's own limit)."""
    max_symbols: int = 4000
    """Work budget: most symbols a text may normalise to (digits spelled out, CJK
    transliterated); over it: INVALID_ARGUMENT naming the limit."""
    max_frames: int = 12_000
    """Work budget: most native frames one utterance may last (150 s at 80 fps)."""
    max_message_bytes: int = 1 << 20
    """Largest gRPC message accepted or sent."""
    converse_queue: int = 32
    """Utterances one Converse stream may have queued."""
    send_timeout_s: float = 10.0
    """A streamed call whose client accepts nothing for this long is cut off
    (RESOURCE_EXHAUSTED): a reader that stalls frees its place."""
    grace_s: float = 10.0
    """On SIGTERM/SIGINT: seconds live utterances get to finish before they are cancelled."""
    log_level: str = "info"
    """structlog level: debug, info, warning, error."""
    voice: str = ""
    """SpeakVoiced's default voice (joe, espeak, none); empty: joe where installed, else espeak.
    A voice whose package is missing stops the server at startup, naming the extra."""
    max_voiced: int = 16
    """SpeakVoiced streams served at once (RESOURCE_EXHAUSTED beyond)."""
    preload_voice: int = 1
    """1: load the default voice at startup, in the background, so the first SpeakVoiced does
    not wait for it (joe: ~3 s); 0: on the first SpeakVoiced that needs it."""

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_text_chars", "max_message_bytes", "converse_queue",
                     "max_symbols", "max_frames", "max_voiced"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)}: must be >= 1")
        if self.preload_voice not in (0, 1):
            raise ConfigError(f"preload_voice={self.preload_voice}: use 1 (at startup) or 0 "
                              "(on first use)")
        voices = ("joe", "espeak", "none")  # text2lips.voice.VOICES (not imported: config is light)
        if self.voice and self.voice not in voices:
            raise ConfigError(f"voice={self.voice!r}: choose one of {', '.join(voices)}")
        for name in ("port", "metrics_port"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 65535:
                raise ConfigError(f"{name}={value}: not a TCP port (0..65535)")
        if self.max_queue < 0:
            raise ConfigError(f"max_queue={self.max_queue}: must be >= 0")
        if not (math.isfinite(self.send_timeout_s) and self.send_timeout_s > 0):
            raise ConfigError(f"send_timeout_s={self.send_timeout_s}: must be > 0 seconds")
        if not (math.isfinite(self.grace_s) and self.grace_s >= 0):
            raise ConfigError(f"grace_s={self.grace_s}: must be a non-negative number of seconds")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("TLS needs both --tls-cert and --tls-key")
        if self.log_level.lower() not in ("debug", "info", "warning", "error"):
            raise ConfigError(f"log_level={self.log_level!r}: use debug, info, warning or error")

    def model_path(self) -> Path:
        """The model directory to load; ModelNotFound (one line: where it looked, how to get
        a model) when there is none."""
        from text2lips.runtime.locate import resolve_model

        return resolve_model(self.model)

    def replace(self, **changes: Any) -> ServerConfig:
        return dataclasses.replace(self, **changes)


# field -> (flag, environment variable, help). Flags default to None so that "not given"
# can fall through to the environment and then to the dataclass default.
_SETTINGS: dict[str, tuple[str, str]] = {
    "host": ("--host", "address to bind (default 127.0.0.1)"),
    "port": ("--port", "gRPC port (default 50051; 0 = any free port)"),
    "model": ("--model", "model directory or name, looked up in $TEXT2LIPS_MODELS, then the "
              "checkout's models/ (default models/default)"),
    "backend": ("--backend", "runtime backend (default torch-cpu)"),
    "threads": ("--threads", "backend intra-op threads (default 1)"),
    "token": ("--token", "require 'authorization: Bearer <token>' metadata"),
    "tls_cert": ("--tls-cert", "PEM certificate chain (TLS on, with --tls-key)"),
    "tls_key": ("--tls-key", "PEM private key"),
    "metrics_port": ("--metrics-port", "serve Prometheus metrics on this port"),
    "max_batch": ("--max-batch", "utterances decoded together (default 32)"),
    "max_queue": ("--max-queue", "utterances waiting for a batch slot (default 64)"),
    "max_text_chars": ("--max-text-chars", "longest text accepted (default 2000)"),
    "max_symbols": ("--max-symbols", "most symbols a text may normalise to (default 4000)"),
    "max_frames": ("--max-frames", "most frames one utterance may last (default 12000)"),
    "max_message_bytes": ("--max-message-bytes", "largest gRPC message (default 1 MiB)"),
    "converse_queue": ("--converse-queue", "utterances queued per Converse stream (default 32)"),
    "send_timeout_s": ("--send-timeout", "seconds a client may read nothing before its call "
                       "is cut off (default 10)"),
    "grace_s": ("--grace", "seconds live utterances get on shutdown (default 10)"),
    "log_level": ("--log-level", "debug, info, warning or error (default info)"),
    "voice": ("--voice", "SpeakVoiced's default voice: joe, espeak or none (default joe where "
              "installed)"),
    "max_voiced": ("--max-voiced", "SpeakVoiced streams at once (default 16)"),
    "preload_voice": ("--preload-voice", "1: load the default voice at startup, in the "
                      "background (default); 0: on the first SpeakVoiced"),
}


def env_name(field: str) -> str:
    """TEXT2LIPS_<FIELD>; --grace is TEXT2LIPS_GRACE, --send-timeout TEXT2LIPS_SEND_TIMEOUT."""
    return "TEXT2LIPS_" + field.removesuffix("_s").upper()


def _field_types() -> dict[str, Any]:
    types = {f.name: f.type for f in fields(ServerConfig)}
    return {
        name: int if "int" in t else float if "float" in t else str for name, t in types.items()
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting; each names its environment variable in --help."""
    types = _field_types()
    for name, (flag, help_text) in _SETTINGS.items():
        parser.add_argument(flag, dest=name, type=types[name], default=None,
                            help=f"{help_text} [env {env_name(name)}]")


def from_args(args: argparse.Namespace | None = None,
              environ: Mapping[str, str] | None = None) -> ServerConfig:
    """Flags, then environment, then defaults."""
    env = os.environ if environ is None else environ
    types = _field_types()
    values: dict[str, Any] = {}
    for name in _SETTINGS:
        flag_value = getattr(args, name, None) if args is not None else None
        if flag_value is not None:
            values[name] = flag_value
            continue
        raw = env.get(env_name(name))
        if raw is None or raw == "":
            continue
        try:
            values[name] = types[name](raw)
        except ValueError:
            raise ConfigError(
                f"{env_name(name)}={raw!r}: expected {types[name].__name__}"
            ) from None
    return ServerConfig(**values)
