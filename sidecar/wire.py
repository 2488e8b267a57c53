"""Translation between protobuf messages and the sidecar's typed values: the only module
(with the servicer) that touches *_pb2 objects."""

from __future__ import annotations

import numpy as np

from sidecar.converse import Cancel, CancelAll, Event, Failed, Finished, FrameOut, Started
from sidecar.utterance import OUTPUT_RATES, OutFrame, SpeakSpec
from sidecar.voiced import AudioOut, FramesOut, VoicedSpec
from text2lips import __version__
from text2lips.blendshapes import BLENDSHAPE_NAMES
from text2lips.runtime import ModelInfo
from text2lips.v1 import lipsync_pb2 as pb

LANDMARK_INDICES = tuple(range(48, 68))


def speak_spec(req: pb.SpeakRequest) -> SpeakSpec:
    """SpeakRequest -> SpeakSpec (not yet validated)."""
    return SpeakSpec(
        text=req.text,
        utterance_id=req.utterance_id,
        speaker=req.speaker,
        reference=np.asarray(req.reference, dtype=np.float32) if len(req.reference) else None,
        frame_rate=float(req.frame_rate),
        target_duration_s=float(req.target_duration_s),
        realtime=req.pacing == pb.PACING_REALTIME,
        pacing=int(req.pacing),
    )


def voiced_spec(req: pb.SpeakVoicedRequest) -> VoicedSpec:
    """SpeakVoicedRequest -> VoicedSpec (not yet validated)."""
    return VoicedSpec(speak_spec(req.speak), voice=req.voice,
                      marks_format=req.marks.format, marks=req.marks.data,
                      frame_batches=req.frame_batches)


def voiced_event(item: AudioOut | OutFrame | FramesOut) -> pb.VoicedEvent:
    if isinstance(item, AudioOut):
        return pb.VoicedEvent(audio=pb.AudioChunk(
            utterance_id=item.utterance_id, pcm16=item.pcm16, sample_rate=item.sample_rate,
            start_s=item.start_s,
        ))
    if isinstance(item, FramesOut):
        return pb.VoicedEvent(frames=pb.LipFrames(frames=[lip_frame(f) for f in item.frames]))
    return pb.VoicedEvent(frame=lip_frame(item))


def lip_frame(frame: OutFrame) -> pb.LipFrame:
    return pb.LipFrame(
        utterance_id=frame.utterance_id, index=frame.index, time_s=frame.time_s,
        landmarks=frame.landmarks.tolist(), blendshapes=frame.blendshapes.tolist(),
        last=frame.last,
    )


def converse_action(req: pb.ConverseRequest) -> SpeakSpec | Cancel | CancelAll | None:
    """ConverseRequest -> what it asks for; None for a request with no action set."""
    kind = req.WhichOneof("action")
    if kind == "speak":
        return speak_spec(req.speak)
    if kind == "cancel":
        return Cancel(req.cancel)
    if kind == "cancel_all":
        return CancelAll() if req.cancel_all else None
    return None


def converse_event(event: Event) -> pb.ConverseEvent:
    if isinstance(event, FrameOut):
        return pb.ConverseEvent(frame=lip_frame(event.frame))
    if isinstance(event, Started):
        return pb.ConverseEvent(started=pb.UtteranceStarted(utterance_id=event.utterance_id))
    if isinstance(event, Finished):
        return pb.ConverseEvent(finished=pb.UtteranceFinished(
            utterance_id=event.utterance_id, frames=event.frames, cancelled=event.cancelled,
        ))
    assert isinstance(event, Failed)
    return pb.ConverseEvent(error=pb.UtteranceError(
        utterance_id=event.utterance_id, code=event.code, message=event.message,
    ))


def model_info(info: ModelInfo, max_text_chars: int, voices: tuple[str, ...] = (),
               default_voice: str = "") -> pb.ModelInfo:
    return pb.ModelInfo(
        model_name=info.name,
        model_version=info.version,
        licence=info.licence,
        frame_rate=info.frame_rate,
        landmark_indices=LANDMARK_INDICES,
        blendshape_names=BLENDSHAPE_NAMES,
        speakers=[
            pb.Speaker(name=name, reference=np.asarray(ref, dtype=np.float32).tolist())
            for name, ref in sorted(info.speakers.items())
        ],
        default_speaker=info.default_speaker,
        max_text_chars=max_text_chars,
        frame_rates=OUTPUT_RATES,
        server_version=__version__,
        voices=voices,
        default_voice=default_voice,
    )
