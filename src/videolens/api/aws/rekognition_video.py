"""Rekognition stored-video ops: StartFaceDetection, GetFaceDetection, StartFaceSearch, GetFaceSearch.

Merged into the Rekognition facade through `VIDEO_HANDLERS` (see rekognition.py); job state lives in
the jobs service, this module only maps parameters and encodes the job documents in Rekognition's shapes.
"""

from __future__ import annotations

from typing import Any

from videolens.api.aws.registry import AwsContext
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.jobs.models import Job, ResultPage


def _video(p: dict[str, Any]) -> tuple[str, str]:
    s3 = (p.get("Video") or {}).get("S3Object") or {}
    bucket, name = s3.get("Bucket"), s3.get("Name")
    if not bucket or not name:
        raise InvalidParameterError("Video.S3Object must have a Bucket and a Name")
    return str(bucket), str(name)


def _channel(p: dict[str, Any]) -> tuple[str | None, str | None]:
    channel = p.get("NotificationChannel")
    if not channel:
        return None, None
    return channel.get("SNSTopicArn"), channel.get("RoleArn")


def _start(ctx: AwsContext, p: dict[str, Any], job_type: str, params: dict[str, Any]) -> dict[str, Any]:
    bucket, key = _video(p)
    topic_arn, role_arn = _channel(p)
    job = ctx.container.jobs.start(
        job_type,
        bucket,
        key,
        params=params,
        job_tag=p.get("JobTag"),
        topic_arn=topic_arn,
        role_arn=role_arn,
        client_request_token=p.get("ClientRequestToken"),
        api=ctx.operation,
    )
    return {"JobId": job.job_id}


def start_face_detection(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return _start(ctx, p, "face-detection", {"attributes": p.get("FaceAttributes", "DEFAULT")})


def start_face_search(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"collection_id": p["CollectionId"]}
    if p.get("FaceMatchThreshold") is not None:
        params["threshold"] = float(p["FaceMatchThreshold"])
    return _start(ctx, p, "face-search", params)


def _page(ctx: AwsContext, p: dict[str, Any], job_type: str, sort_by: str = "TIMESTAMP") -> ResultPage:
    jobs = ctx.container.jobs
    job = jobs.get(p["JobId"])
    if job.job_type != job_type:
        raise NotFoundError(f"job {job.job_id} is not a {job_type} job")
    page: ResultPage = jobs.results(job.job_id, p.get("MaxResults"), p.get("NextToken"), sort_by)
    return page


def _envelope(job: Job, next_token: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "JobStatus": "FAILED" if job.status == "CANCELLED" else job.status,
        "JobId": job.job_id,
        "Video": {"S3Object": {"Bucket": job.bucket, "Name": job.key}},
    }
    if job.status_message:
        out["StatusMessage"] = job.status_message
    if job.video_metadata:
        m = job.video_metadata
        out["VideoMetadata"] = {
            "Codec": m["codec"],
            "DurationMillis": m["duration_ms"],
            "Format": m["format"],
            "FrameRate": m["frame_rate"],
            "FrameHeight": m["frame_height"],
            "FrameWidth": m["frame_width"],
            "ColorRange": m["color_range"],
        }
    if job.job_tag is not None:
        out["JobTag"] = job.job_tag
    if next_token:
        out["NextToken"] = next_token
    return out


def _box(b: dict[str, Any]) -> dict[str, float]:
    return {"Width": b["width"], "Height": b["height"], "Left": b["left"], "Top": b["top"]}


def _face_detail(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "BoundingBox": _box(d["bounding_box"]),
        "Confidence": d["confidence"],
        "Landmarks": [{"Type": lm["type"], "X": lm["x"], "Y": lm["y"]} for lm in d["landmarks"]],
        "Pose": {"Roll": d["pose"]["roll"], "Yaw": d["pose"]["yaw"], "Pitch": d["pose"]["pitch"]},
        "Quality": {"Brightness": d["quality"]["brightness"], "Sharpness": d["quality"]["sharpness"]},
    }
    if d.get("eyes_open"):
        out["EyesOpen"] = {"Value": d["eyes_open"]["value"], "Confidence": d["eyes_open"]["confidence"]}
    if d.get("mouth_open"):
        out["MouthOpen"] = {"Value": d["mouth_open"]["value"], "Confidence": d["mouth_open"]["confidence"]}
    return out


def _stored_face(f: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "FaceId": f["face_id"],
        "BoundingBox": _box(f["bounding_box"]),
        "ImageId": f["image_id"],
        "Confidence": f["confidence"],
    }
    if f.get("external_image_id"):
        out["ExternalImageId"] = f["external_image_id"]
    return out


def get_face_detection(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    page = _page(ctx, p, "face-detection")
    out = _envelope(page.job, page.next_token)
    out["Faces"] = [{"Timestamp": d["timestamp_ms"], "Face": _face_detail(d["face"])} for d in page.items]
    return out


def get_face_search(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    page = _page(ctx, p, "face-search", p.get("SortBy") or "TIMESTAMP")
    out = _envelope(page.job, page.next_token)
    out["Persons"] = [
        {
            "Timestamp": d["timestamp_ms"],
            "Person": {
                "Index": d["person_index"],
                "BoundingBox": _box(d["face"]["bounding_box"]),
                "Face": _face_detail(d["face"]),
            },
            "FaceMatches": [
                {"Similarity": m["similarity"], "Face": _stored_face(m["face"])} for m in d["matches"]
            ],
        }
        for d in page.items
    ]
    return out


VIDEO_HANDLERS = {
    "StartFaceDetection": start_face_detection,
    "GetFaceDetection": get_face_detection,
    "StartFaceSearch": start_face_search,
    "GetFaceSearch": get_face_search,
}
