"""MediaLive EncoderSettings read into an OutputPlan: HLS group, renditions, sizes, bitrate, GOP, audio."""

from __future__ import annotations

from typing import Any

from videolens.services.channels.audio import AAC_RATES
from videolens.services.channels.errors import UnprocessableSettingsError
from videolens.services.channels.models import AudioSpec, OutputPlan, Rendition

#: MediaLive's defaults where the settings say nothing
DEFAULT_SEGMENT_S = 10.0
DEFAULT_INDEX_SEGMENTS = 10
DEFAULT_BITRATE = 2_000_000
#: the frame rate assumed for GOP sizes given in seconds before the input's own rate is known
NOMINAL_FPS = 30.0
#: AacSettings.CodingMode → channels (the others keep the input's: mono stays mono, more become stereo)
CODING_MODES = {"CODING_MODE_1_0": 1, "CODING_MODE_1_1": 2, "CODING_MODE_2_0": 2}


def _h264(description: dict[str, Any]) -> dict[str, Any]:
    codec = description.get("CodecSettings") or {}
    settings: dict[str, Any] = codec.get("H264Settings") or codec.get("H265Settings") or {}
    return settings


def _audio_spec(description: dict[str, Any], path: str, errors: list[tuple[str, str]]) -> AudioSpec:
    """AacSettings' Bitrate, SampleRate and CodingMode; any other codec is carried as AAC too."""
    aac = (description.get("CodecSettings") or {}).get("AacSettings")
    if not aac:
        return AudioSpec()  # PassThroughSettings, none, or a codec we do not make: AAC (copied if it is)
    bitrate = aac.get("Bitrate")
    if bitrate is not None and not 8_000 <= float(bitrate) <= 576_000:
        errors.append((f"{path}.codecSettings.aacSettings.bitrate", "must be within 8000..576000"))
    rate = aac.get("SampleRate")
    if rate is not None and int(float(rate)) not in AAC_RATES:
        errors.append((f"{path}.codecSettings.aacSettings.sampleRate", f"must be one of {list(AAC_RATES)}"))
    return AudioSpec(
        int(float(bitrate)) if bitrate is not None else None,
        int(float(rate)) if rate is not None else None,
        CODING_MODES.get(str(aac.get("CodingMode"))),
    )


def _audio_for(
    names: list[str], audios: dict[str, dict[str, Any]], path: str, errors: list[tuple[str, str]]
) -> AudioSpec | None:
    """The spec of the first named audio description (one audio track per rendition); None if unknown."""
    for name in names[:1]:
        if name not in audios:
            errors.append((f"{path}.audioDescriptionNames", f"no audio description named {name!r}"))
            return None
        return _audio_spec(audios[name], f"audioDescriptions[{name}]", errors)
    return AudioSpec()


def plan_output(encoder: dict[str, Any], destination_ids: list[str]) -> OutputPlan:
    """The plan, or UnprocessableSettingsError listing every element that cannot be carried out."""
    errors: list[tuple[str, str]] = []
    videos = {str(v.get("Name")): v for v in encoder.get("VideoDescriptions") or []}
    audios = {str(a.get("Name")): a for a in encoder.get("AudioDescriptions") or []}
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
    # an audio-only output (MediaLive's shared audio rendition) gives the audio of the video outputs
    # that name none: it is muxed into each of their segments (no separate audio playlist)
    shared = [
        (j, [str(n) for n in o.get("AudioDescriptionNames") or []])
        for j, o in enumerate(group.get("Outputs") or [])
        if o.get("VideoDescriptionName") is None and o.get("AudioDescriptionNames")
    ]
    shared_audio = (
        _audio_for(shared[0][1], audios, f"{path}.outputs[{shared[0][0]}]", errors) if shared else None
    )
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
        names = [str(n) for n in output.get("AudioDescriptionNames") or []]
        audio = _audio_for(names, audios, out_path, errors) if names else (shared_audio or AudioSpec())
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
                audio,
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
