"""structlog set up for the sidecar: one JSON object per line on stderr, with utterance ids
and timings as fields, so logs can be filtered without parsing prose."""

from __future__ import annotations

import sys
from typing import Any, TextIO

import structlog

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


def configure(level: str = "info", stream: TextIO | None = None) -> None:
    """JSON lines with an ISO timestamp and the level; `level` filters below it."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level.lower()]),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(**fields: Any) -> Any:
    """A logger with `fields` bound to every event."""
    return structlog.get_logger("text2lips.sidecar").bind(**fields)
