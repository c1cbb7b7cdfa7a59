"""Single frames of a video file at given times (seek to the key frame before, decode up to the time).

For the few stills an analysis wants after its scan (a face track's best look as its thumbnail): one
seek and at most one GOP of decoding per time, instead of decoding the whole video again.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.error
import numpy as np

from videolens.media.errors import MediaError


def frames_at(path: str | Path, times_s: list[float]) -> list[np.ndarray | None]:
    """BGR frames at `times_s` (seconds from the video's first frame), None where none decodes."""
    out: list[np.ndarray | None] = []
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                return [None] * len(times_s)
            stream = container.streams.video[0]
            tb = float(stream.time_base) if stream.time_base else 1 / 90000
            first = _first_pts(container, stream)
            for t in times_s:
                target = first + round(t / tb)
                container.seek(target, stream=stream, backward=True, any_frame=False)
                found: np.ndarray | None = None
                for frame in container.decode(stream):
                    # half a millisecond of slack: sample times are rounded to whole milliseconds
                    if frame.pts is not None and frame.pts >= target - round(0.0005 / tb):
                        found = frame.to_ndarray(format="bgr24")
                        break
                out.append(found)
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{Path(path).name}: cannot read a frame ({exc})") from exc
    return out


def _first_pts(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    """The pts of the first decoded frame (what frame_source counts times from)."""
    for frame in container.decode(stream):
        if frame.pts is not None:
            return int(frame.pts)
    return 0
