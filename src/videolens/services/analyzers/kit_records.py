"""The record an analyzer publishes per analysed frame: the KVS inference template's (KIT) JSON + ours.

KIT's members, exactly as its Java code writes them, so consumers written for it run unchanged:
- `streamName`;
- `fragmentMetaData`: the KVS parser library's `FragmentMetadata.toString()` (Lombok style), whose first
  two comma-separated fields are `fragmentNumberString=<n>` and ` serverSideTimestampMillis=<ms>` (the
  consumer in docs/analyzers.md slices `[17:-1]` and splits on "," and "=");
- `frameMetaData`: the parser's `Frame.toString()`;
- `sageMakerOutput`: base64 of the model's raw answer bytes.
Beside them, the same facts as plain JSON (our extension, for new code): numbers are numbers, the model's
answer is parsed when it is JSON.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from videolens.services.models.models import ModelAnswer
from videolens.services.streams.models import FragmentInfo


def fragment_metadata(fragment: FragmentInfo) -> str:
    n = fragment.fragment_number
    return (
        f"FragmentMetadata(fragmentNumberString={n}, "
        f"serverSideTimestampMillis={round(fragment.server_ts * 1000)}, "
        f"producerSideTimestampMillis={round(fragment.producer_ts * 1000)}, "
        f"fragmentNumber={n}, success=true, errorId=0, errorCode=null, "
        "millisBehindNow=Optional.empty, continuationToken=Optional.empty)"
    )


def frame_metadata(index: int, offset_ms: int, key: bool) -> str:
    return (
        f"Frame(trackNumber=1, timeCode={offset_ms}, keyFrame={str(key).lower()}, invisible=false, "
        f"discardable=false, lacing=NO, frameIndex={index})"
    )


def kit_record(
    *,
    analyzer: str,
    model: str,
    stream: str,
    fragment: FragmentInfo,
    frame_index: int,
    offset_s: float,
    key_frame: bool,
    answer: ModelAnswer,
) -> bytes:
    offset_ms = round(offset_s * 1000)
    doc: dict[str, Any] = {
        "streamName": stream,
        "fragmentMetaData": fragment_metadata(fragment),
        "frameMetaData": frame_metadata(frame_index, offset_ms, key_frame),
        "sageMakerOutput": base64.b64encode(answer.body).decode(),
        # plain JSON (our extension)
        "analyzer": analyzer,
        "model": model,
        "fragmentNumber": fragment.fragment_number,
        "serverTimestampMillis": round(fragment.server_ts * 1000),
        "producerTimestampMillis": round(fragment.producer_ts * 1000),
        "frameIndex": frame_index,
        "frameOffsetMillis": offset_ms,
        "frameProducerTimestampMillis": round(fragment.producer_ts * 1000) + offset_ms,
        "keyFrame": key_frame,
        "contentType": answer.content_type,
        "output": answer.json,
    }
    return json.dumps(doc, separators=(",", ":")).encode()
