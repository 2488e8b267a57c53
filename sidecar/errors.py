"""Which google.rpc status code each failure maps to: one table for Speak's status and for
Converse's per-utterance error events."""

from __future__ import annotations

from sidecar.scheduler import CapacityError, SchedulerClosed
from sidecar.utterance import InvalidRequest
from text2lips import Text2LipsError

INVALID_ARGUMENT = 3
RESOURCE_EXHAUSTED = 8
INTERNAL = 13
UNAVAILABLE = 14


def error_code(exc: BaseException) -> int:
    """google.rpc.Code for an exception raised while serving an utterance."""
    if isinstance(exc, CapacityError):
        return RESOURCE_EXHAUSTED
    if isinstance(exc, SchedulerClosed):
        return UNAVAILABLE
    if isinstance(exc, (InvalidRequest, Text2LipsError)):
        # Any other user error the runtime raises (text it cannot encode, a speaker it does
        # not know) is still about the request.
        return INVALID_ARGUMENT
    return INTERNAL
