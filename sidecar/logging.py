"""structlog set up for the sidecar: one JSON object per line on stderr, with utterance ids
and timings as fields, so logs can be filtered without parsing prose."""

from __future__ import annotations

import logging
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
    # gRPC and asyncio log through the standard library (a handler cancelled when the grace
    # period runs out, say): render those as JSON lines too, tracebacks inside the object,
    # so one multi-line traceback cannot break a log reader.
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_text2lips", False)]:
        root.removeHandler(old)
    handler._text2lips = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(_LEVELS[level.lower()])


def get_logger(**fields: Any) -> Any:
    """A logger with `fields` bound to every event."""
    return structlog.get_logger("text2lips.sidecar").bind(**fields)
