"""Read MediaLive EncoderSettings into an OutputPlan: the HLS group, its renditions, sizes, bitrates, GOP."""

from __future__ import annotations

from typing import Any

from videolens.services.channels.errors import UnprocessableSettingsError
from videolens.services.channels.models import OutputPlan, Rendition

#: MediaLive's defaults where the settings say nothing
DEFAULT_SEGMENT_S = 10.0
DEFAULT_INDEX_SEGMENTS = 10
DEFAULT_BITRATE = 2_000_000
#: the frame rate assumed for GOP sizes given in seconds before the input's own rate is known
NOMINAL_FPS = 30.0


def _h264(description: dict[str, Any]) -> dict[str, Any]:
    codec = description.get("CodecSettings") or {}
    settings: dict[str, Any] = codec.get("H264Settings") or codec.get("H265Settings") or {}
    return settings


def plan_output(encoder: dict[str, Any], destination_ids: list[str]) -> OutputPlan:
    """The plan, or UnprocessableSettingsError listing every element that cannot be carried out."""
    errors: list[tuple[str, str]] = []
    videos = {str(v.get("Name")): v for v in encoder.get("VideoDescriptions") or []}
    groups = encoder.get("OutputGroups") or []
    hls_groups = [
        (i, g)
        for i, g in enumerate(groups)
        if (g.get("OutputGroupSettings") or {}).get("HlsGroupSettings") is not None
    ]
    if not hls_groups:
        errors.append(("encoderSettings.outputGroups", "an HLS output group is required (HlsGroupSettings)"))
        raise UnprocessableSettingsError("Failed Create Channel validation", errors)
    index, group = hls_groups[0]
    hls = group["OutputGroupSettings"]["HlsGroupSettings"]
    path = f"encoderSettings.outputGroups[{index}]"
    destination = str((hls.get("Destination") or {}).get("DestinationRefId") or "")
    if destination not in destination_ids:
        errors.append(
            (
                f"{path}.outputGroupSettings.hlsGroupSettings.destination",
                f"unknown destination {destination!r}",
            )
        )
    segment = float(hls.get("SegmentLength") or DEFAULT_SEGMENT_S)
    if not 1 <= segment <= 60:
        errors.append((f"{path}.outputGroupSettings.hlsGroupSettings.segmentLength", "must be within 1..60"))
    index_n = int(hls.get("IndexNSegments") or DEFAULT_INDEX_SEGMENTS)
    renditions: list[Rendition] = []
    modifiers: set[str] = set()
    for j, output in enumerate(group.get("Outputs") or []):
        out_path = f"{path}.outputs[{j}]"
        name = output.get("VideoDescriptionName")
        if name is None:
            continue  # an audio-only output: not produced (docs/channels.md)
        video = videos.get(str(name))
        if video is None:
            errors.append((f"{out_path}.videoDescriptionName", f"no video description named {name!r}"))
            continue
        settings = (output.get("OutputSettings") or {}).get("HlsOutputSettings") or {}
        modifier = str(settings.get("NameModifier") or f"_{j + 1}")
        if modifier in modifiers:
            errors.append((f"{out_path}.outputSettings.hlsOutputSettings.nameModifier", "must be unique"))
        modifiers.add(modifier)
        width, height = video.get("Width"), video.get("Height")
        for field, value in (("width", width), ("height", height)):
            if value is not None and (not 32 <= int(value) <= 4096 or int(value) % 2):
                errors.append((f"videoDescriptions[{name}].{field}", "must be even and within 32..4096"))
        h264 = _h264(video)
        bitrate = int(h264.get("Bitrate") or h264.get("MaxBitrate") or DEFAULT_BITRATE)
        if not 100_000 <= bitrate <= 50_000_000:
            errors.append((f"videoDescriptions[{name}].codecSettings.h264Settings.bitrate", "out of range"))
        gop = h264.get("GopSize")
        gop_frames: int | None = None
        if gop is not None:
            units = h264.get("GopSizeUnits", "FRAMES")
            gop_frames = max(1, round(float(gop) * (NOMINAL_FPS if units == "SECONDS" else 1)))
        renditions.append(
            Rendition(
                modifier,
                int(width) if width is not None else None,
                int(height) if height is not None else None,
                bitrate,
                gop_frames,
            )
        )
    if not renditions and not errors:
        errors.append((f"{path}.outputs", "the HLS group needs at least one output with video"))
    if errors:
        raise UnprocessableSettingsError("Failed Create Channel validation", errors)
    return OutputPlan(tuple(renditions), segment, max(1, index_n), destination)


def default_encoder_settings(destination_id: str, segment_s: int = 2) -> dict[str, Any]:
    """A one-rendition HLS channel at the input's size (the native API's default)."""
    return {
        "AudioDescriptions": [],
        "VideoDescriptions": [
            {"Name": "video", "CodecSettings": {"H264Settings": {"Bitrate": DEFAULT_BITRATE}}}
        ],
        "OutputGroups": [
            {
                "OutputGroupSettings": {
                    "HlsGroupSettings": {
                        "Destination": {"DestinationRefId": destination_id},
                        "SegmentLength": segment_s,
                    }
                },
                "Outputs": [
                    {
                        "VideoDescriptionName": "video",
                        "OutputSettings": {"HlsOutputSettings": {"NameModifier": "_main", "HlsSettings": {}}},
                    }
                ],
            }
        ],
        "TimecodeConfig": {"Source": "SYSTEMCLOCK"},
    }
