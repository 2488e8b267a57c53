"""The LipSync servicer: validates, translates messages to core calls and back, maps errors to
status codes, and logs/counts each utterance. The logic lives in utterance, converse and
scheduler."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import grpc

from sidecar import wire
from sidecar.converse import CancelAll, ConverseSession
from sidecar.errors import error_code
from sidecar.guard import MalformedMessage, RateLimitedLog
from sidecar.logging import get_logger
from sidecar.metrics import Metrics
from sidecar.prepare import Preparer
from sidecar.scheduler import Scheduler
from sidecar.utterance import (
    MAX_ID_CHARS,
    InvalidRequest,
    PacingClock,
    SpeakSpec,
    Utterance,
    validate,
)
from sidecar.voiced import VoicedService, with_id
from text2lips.runtime import ModelInfo
from text2lips.v1 import lipsync_pb2 as pb
from text2lips.v1 import lipsync_pb2_grpc as pb_grpc

_STATUS = {code.value[0]: code for code in grpc.StatusCode}


def status_code(exc: BaseException) -> grpc.StatusCode:
    return _STATUS[error_code(exc)]


class LipSyncServicer(pb_grpc.LipSyncServicer):
    def __init__(self, scheduler: Scheduler, info: ModelInfo, *, max_text_chars: int,
                 converse_queue: int, metrics: Metrics, preparer: Preparer | None = None,
                 voiced: VoicedService | None = None, clock: PacingClock | None = None) -> None:
        self.scheduler = scheduler
        self.clock = clock
        """Paces realtime utterances; None: the wall clock."""
        self.preparer = preparer
        self.info = info
        # The stricter of the server's and the model's limits.
        self.max_text_chars = min(max_text_chars, info.max_text_chars)
        self.converse_queue = converse_queue
        self.metrics = metrics
        self.voiced = voiced
        self._model_info = wire.model_info(
            info, self.max_text_chars, *((voiced.names, voiced.default) if voiced else ()))
        self._reject_log = RateLimitedLog()

    # --- core calls shared by Speak and Converse ----------------------------------------

    def _validate(self, spec: SpeakSpec) -> SpeakSpec:
        return validate(spec, self.info, self.max_text_chars)

    async def _start(self, spec: SpeakSpec) -> Utterance:
        return await Utterance.start(spec, self.scheduler, self.info.frame_rate, self.preparer,
                                     self.clock)

    def _failed(self, rpc: str, exc: BaseException, log: Any) -> None:
        code = status_code(exc)
        self.metrics.errors.labels(rpc, code.name).inc()
        if code == grpc.StatusCode.INTERNAL:
            log.info("failed", code=code.name, error=str(exc))
            return
        # Rejections are the client's doing: a flood of them must not flood the log.
        suppressed = self._reject_log.allow()
        if suppressed is not None:
            log.info("rejected", code=code.name, error=str(exc)[:300],
                     **({"suppressed_before": suppressed} if suppressed else {}))

    def _ended(self, rpc: str, utt: Utterance, error: BaseException | None, log: Any) -> None:
        """Log and count one utterance that was submitted to the scheduler."""
        st = utt.handle.stats
        outcome = "error" if error is not None else "ok" if utt.finished else "cancelled"
        if error is not None:
            self._failed(rpc, error, log)
        m = self.metrics
        m.utterances.labels(rpc, outcome).inc()
        m.frames.labels(rpc).inc(utt.sent)
        ttff = st.time_to_first_frame_s
        if ttff is not None:
            m.time_to_first_frame.observe(ttff)
        if outcome == "ok" and st.rtf is not None:
            m.rtf.observe(st.rtf)
        log.info(
            "utterance", outcome=outcome, frames_sent=utt.sent, frames_decoded=st.frames,
            text_chars=len(utt.spec.text),
            time_to_first_frame_ms=None if ttff is None else round(ttff * 1e3, 2),
            decode_ms=round(st.decode_s * 1e3, 2),
            rtf=None if st.rtf is None else round(st.rtf, 4),
            frame_rate=utt.spec.output_rate, target_duration_s=utt.spec.target_duration_s or None,
            realtime=utt.spec.realtime,
        )

    # --- RPCs ----------------------------------------------------------------------------

    async def Speak(self, request: pb.SpeakRequest,
                    context: grpc.aio.ServicerContext) -> AsyncIterator[pb.LipFrame]:
        spec = wire.speak_spec(request)
        spec = replace(spec, utterance_id=spec.utterance_id or str(uuid.uuid4()))
        log = get_logger(rpc="Speak", utterance_id=spec.utterance_id[:MAX_ID_CHARS])
        try:
            self._validate(spec)
            utt = await self._start(spec)
        except Exception as exc:  # noqa: BLE001 -- mapped to a status, never a crash
            self._failed("Speak", exc, log)
            await context.abort(status_code(exc), str(exc))
        error: BaseException | None = None
        try:
            async for frame in utt.frames():
                yield wire.lip_frame(frame)
        except Exception as exc:  # noqa: BLE001
            error = exc
        finally:
            # Runs on client cancel and deadline too (CancelledError): frees the batch slot.
            utt.cancel()
            self._ended("Speak", utt, error, log)
        if error is not None:
            await context.abort(status_code(error), str(error))

    async def Converse(self, request_iterator: AsyncIterator[pb.ConverseRequest],
                       context: grpc.aio.ServicerContext) -> AsyncIterator[pb.ConverseEvent]:
        stream_id = uuid.uuid4().hex[:12]
        log = get_logger(rpc="Converse", stream=stream_id)

        def on_end(utt: Utterance, error: BaseException | None) -> None:
            self._ended("Converse", utt, error, log.bind(utterance_id=utt.spec.utterance_id))

        def bound(spec: SpeakSpec) -> Any:
            return log.bind(utterance_id=spec.utterance_id[:MAX_ID_CHARS])

        def checked(call: Any) -> Any:
            # Rejections inside the stream are counted and logged like Speak's.
            def wrapped(spec: SpeakSpec) -> Any:
                try:
                    return call(spec)
                except Exception as exc:
                    self._failed("Converse", exc, bound(spec))
                    raise
            return wrapped

        async def start(spec: SpeakSpec) -> Utterance:
            try:
                return await self._start(spec)
            except Exception as exc:
                self._failed("Converse", exc, bound(spec))
                raise

        session = ConverseSession(checked(self._validate), start,
                                  self.converse_queue, on_end)

        malformed: list[MalformedMessage] = []

        async def read() -> None:
            try:
                async for req in request_iterator:
                    session.request(wire.converse_action(req))
            except asyncio.CancelledError:
                raise
            except MalformedMessage as exc:
                # Bad bytes end the call with INVALID_ARGUMENT; nothing after them is spoken.
                malformed.append(exc)
                session.request(CancelAll())
            except Exception as exc:  # noqa: BLE001 -- a broken client stream ends the input
                log.info("converse input ended", error=repr(exc)[:300])
            finally:
                session.input_closed()

        log.info("converse opened")
        reader = asyncio.create_task(read())
        runner = asyncio.create_task(session.run())
        try:
            async for event in session.events():
                yield wire.converse_event(event)
        finally:
            session.close()
            reader.cancel()
            runner.cancel()
            await asyncio.gather(reader, runner, return_exceptions=True)
            log.info("converse closed")
        if malformed:
            self._failed("Converse", malformed[0], log)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(malformed[0]))

    async def SpeakVoiced(self, request: pb.SpeakVoicedRequest,
                          context: grpc.aio.ServicerContext) -> AsyncIterator[pb.VoicedEvent]:
        """Validation as Speak's, then sidecar.voiced does the work."""
        spec = wire.voiced_spec(request)
        spec = with_id(spec, spec.speak.utterance_id or str(uuid.uuid4()))
        log = get_logger(rpc="SpeakVoiced", utterance_id=spec.speak.utterance_id[:MAX_ID_CHARS])
        error: BaseException | None = None
        try:
            if self.voiced is None:
                raise InvalidRequest("this server has no voices")
            self._validate(spec.speak)
            voice = self.voiced.check(spec)
            async for item in self.voiced.stream(spec, voice):
                yield wire.voiced_event(item)
        except Exception as exc:  # noqa: BLE001 -- mapped to a status, never a crash
            error = exc
            self._failed("SpeakVoiced", exc, log)
        log.info("utterance", outcome="error" if error else "ok", voice=spec.voice)
        if error is not None:
            await context.abort(status_code(error), str(error))

    async def GetModelInfo(self, request: pb.GetModelInfoRequest,
                           context: grpc.aio.ServicerContext) -> pb.ModelInfo:
        return self._model_info
