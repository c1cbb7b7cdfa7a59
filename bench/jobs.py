"""Benchmark: face-detection / face-search job speed against the decode-only ceiling, and face-track recall.

Run from the repository root: `.venv/bin/python bench/jobs.py`. It runs a real videolens server (uvicorn,
in this process) on a temporary data directory, uploads the inputs with boto3, starts
`StartFaceDetection` and `StartFaceSearch` jobs with a notification channel and receives the SNS-shaped
completion message on a local webhook. Inputs: the 9.2 s hamilton clip and a 1080p 60 s video made with
ffmpeg into `bench/out/` (the hamilton clip upscaled and looped). Figures per input and job setting:
- speed: video duration / job processing time (claim → SUCCEEDED, model loading excluded by a warm-up job);
- the decode-only ceiling (every frame decoded, no pixel conversion) measured in the same run, and the
  ratio speed / ceiling (the machine is shared: the ratio is the figure that survives the noise);
- end-to-end: video duration / (start_face_detection call → notification received);
- notification latency: webhook receive time − the job's completion time;
- face-track recall of the job's pipeline configuration against a detector look at every frame.
It ends with the issue-11 targets, each marked met or not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import RunningServer, free_port, make_settings  # noqa: E402
from tests.jobs.conftest import aws_client  # noqa: E402
from tests.jobs.webhook import WebhookReceiver  # noqa: E402
from videolens.container import Container  # noqa: E402

OUT = REPO / "bench" / "out"
MEDIA = REPO.parent / "shared" / "media"
#: detector sides compared by --side-trade (VIDEOLENS_JOB_DETECT_MAX_SIDE's default is 640)
SIDES = (640, 960, 1280)


def make_1080p(src: Path, seconds: int = 60) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    dst = OUT / f"hamilton_1080p_{seconds}s.mp4"
    if not dst.exists():
        subprocess.run(
            [
                "ffmpeg",
                "-y",
                "-loglevel",
                "error",
                "-stream_loop",
                "-1",
                "-i",
                str(src),
                "-t",
                str(seconds),
                "-vf",
                "scale=1920:1080:flags=bicubic",
                "-r",
                "30",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "20",
                "-an",
                str(dst),
            ],
            check=True,
        )
    return dst


def decode_only_x_realtime(path: Path) -> float:
    """The ceiling: how many times real time PyAV decodes every frame of `path` (no pixel conversion)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = float(container.duration or 0) / 1e6
        start = time.perf_counter()
        for _ in container.decode(stream):
            pass
        return duration / (time.perf_counter() - start)


def recall_of_default(server: RunningServer, path: Path, until_s: float | None) -> tuple[float, int, str]:
    """Face-track recall of the default job sampling against a look at every frame (same detector)."""
    from videolens.services.video_analysis.faces import (
        JOB_DETECT_MAX_SIDE,
        SamplingConfig,
        face_track_recall,
        track_faces,
    )

    detector = server.container.models.detector.with_max_input_side(JOB_DETECT_MAX_SIDE)

    def no_detail(image: object, det: object) -> None:
        return None

    ref = track_faces(path, detector, no_detail, sampling=SamplingConfig.every_frame(), until_s=until_s)
    fast = track_faces(path, detector, no_detail, sampling=SamplingConfig(), until_s=until_s)
    r = face_track_recall(ref, fast, 500)
    span = f"first {until_s:.0f} s" if until_s else "whole video"
    return r.recall, r.reference_steps, span


def detect_side_trade(
    server: RunningServer, path: Path, until_s: float | None
) -> list[tuple[int, float, int, float]]:
    """What the job's detector side costs in accuracy: recall of the default (adaptive) path at each
    side against a look at every frame at 1280 px (the finest side measured), and its wall time.

    Rows: (side, recall, reference face-steps, seconds of the fast path over the span).
    """
    from videolens.services.video_analysis.faces import SamplingConfig, face_track_recall, track_faces

    base = server.container.models.detector

    def no_detail(image: object, det: object) -> None:
        return None

    ref = track_faces(
        path,
        base.with_max_input_side(1280),
        no_detail,
        sampling=SamplingConfig.every_frame(),
        until_s=until_s,
    )
    rows = []
    for side in SIDES:
        started = time.perf_counter()
        fast = track_faces(
            path, base.with_max_input_side(side), no_detail, sampling=SamplingConfig(), until_s=until_s
        )
        elapsed = time.perf_counter() - started
        r = face_track_recall(ref, fast, 500)
        rows.append((side, r.recall, r.reference_steps, elapsed))
    return rows


def run_case(
    server: RunningServer, hook: WebhookReceiver, topic_arn: str, key: str, kind: str = "detection"
) -> dict[str, float]:
    rekognition = aws_client("rekognition", server.url)
    before = len(hook.received)
    t0 = time.time()
    video = {"S3Object": {"Bucket": "bench", "Name": key}}
    channel = {"SNSTopicArn": topic_arn, "RoleArn": "arn:aws:iam::000000000000:role/bench"}
    if kind == "search":
        job_id = rekognition.start_face_search(
            Video=video, CollectionId="bench", NotificationChannel=channel
        )["JobId"]
    else:
        job_id = rekognition.start_face_detection(Video=video, NotificationChannel=channel)["JobId"]
    while True:
        notes = [
            r for r in hook.received[before:] if r.headers.get("x-amz-sns-message-type") == "Notification"
        ]
        if notes:
            break
        time.sleep(0.01)
    note = notes[0]
    message = json.loads(note.doc["Message"])
    assert message["JobId"] == job_id and message["Status"] == "SUCCEEDED", message
    job = server.container.jobs.get(job_id)
    assert job.started_at is not None and job.completed_at is not None and job.video_metadata is not None
    duration = job.video_metadata["duration_ms"] / 1000
    processing = (job.completed_at - job.started_at).total_seconds()
    return {
        "duration_s": duration,
        "frames": float(job.output["frames"]) if job.output else 0.0,
        "processing_s": processing,
        "speed_x_realtime": duration / processing,
        "end_to_end_x_realtime": duration / (note.at - t0),
        "notification_latency_ms": (note.at - job.completed_at.timestamp()) * 1000,
        "results": float(job.result_count),
    }


def enroll(server: RunningServer) -> None:
    """A collection for the face-search jobs: the enrolment photos of the shared media."""
    rekognition = aws_client("rekognition", server.url)
    rekognition.create_collection(CollectionId="bench")
    for person in sorted(p for p in (MEDIA / "faces").iterdir() if p.is_dir() and not p.name.startswith("_")):
        for photo in sorted(person.iterdir())[:2]:
            rekognition.index_faces(
                CollectionId="bench",
                Image={"Bytes": photo.read_bytes()},
                ExternalImageId=person.name,
                MaxFaces=1,
            )


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--detect-every",
        type=int,
        nargs="+",
        default=[0],
        help="job settings to measure (VIDEOLENS_JOB_DETECT_EVERY: 0 = adaptive, default; 1 = every frame)",
    )
    parser.add_argument("--seconds", type=int, default=60, help="length of the 1080p video")
    parser.add_argument("--skip-1080p", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument(
        "--recall-seconds",
        type=float,
        default=20.0,
        help="recall on the 1080p video over its first N s (0: all)",
    )
    parser.add_argument(
        "--side-trade",
        action="store_true",
        help="also measure recall and time of the 1080p job path at detector sides 640 / 960 / 1280",
    )
    args = parser.parse_args()

    hamilton = MEDIA / "video" / "short_hamilton_clip.mp4"
    inputs = {"hamilton 640x360 9.2 s": hamilton}
    if not args.skip_1080p:
        inputs[f"1080p {args.seconds} s"] = make_1080p(hamilton, args.seconds)
    targets = {"hamilton 640x360 9.2 s": 10.0, f"1080p {args.seconds} s": 3.0}

    rows = []
    recalls: dict[str, tuple[float, int, str]] = {}
    for stride in args.detect_every:
        with tempfile.TemporaryDirectory() as tmp:
            settings = make_settings(Path(tmp) / "data", port=free_port(), job_detect_every=stride)
            container = Container(settings)
            server = RunningServer(container).start()
            hook = WebhookReceiver()
            try:
                sns = aws_client("sns", server.url)
                s3 = aws_client("s3", server.url)
                topic_arn = sns.create_topic(Name="bench")["TopicArn"]
                sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=hook.url)
                hook.confirmed.wait(30)
                s3.create_bucket(Bucket="bench")
                for path in inputs.values():
                    s3.upload_file(str(path), "bench", path.name)
                if not args.skip_search:
                    enroll(server)
                run_case(server, hook, topic_arn, hamilton.name)  # warm-up: loads the models
                kinds = ["detection"] if args.skip_search else ["detection", "search"]
                for name, path in inputs.items():
                    # the ceiling right before the job: the two see the same machine load
                    ceiling = decode_only_x_realtime(path)
                    for kind in kinds:
                        result = run_case(server, hook, topic_arn, path.name, kind)
                        rows.append((name, stride, kind, ceiling, result))
                        speed = result["speed_x_realtime"]
                        print(
                            f"{name:24s} {kind:9s} setting {stride}: {speed:.2f}x real time "
                            f"({result['frames']:.0f} frames decoded in {result['processing_s']:.1f} s), "
                            f"decode-only ceiling {ceiling:.2f}x, ratio {speed / ceiling:.2f}; "
                            f"end to end {result['end_to_end_x_realtime']:.2f}x, notification "
                            f"{result['notification_latency_ms']:.0f} ms after completion",
                            flush=True,
                        )
                if not recalls:
                    for name, path in inputs.items():
                        until = (
                            args.recall_seconds if name.startswith("1080p") and args.recall_seconds else None
                        )
                        recalls[name] = recall_of_default(server, path, until)
                        r, steps, span = recalls[name]
                        print(f"{name:24s} face-track recall {r * 100:.2f} % of {steps} face-steps ({span})")
                    if args.side_trade and not args.skip_1080p:
                        name = f"1080p {args.seconds} s"
                        until = args.recall_seconds or None
                        for side, r, steps, elapsed in detect_side_trade(server, inputs[name], until):
                            span = f"first {until:.0f} s" if until else "whole video"
                            print(
                                f"{name:24s} detector side {side:4d}: recall {r * 100:.2f} % of {steps} "
                                f"face-steps of every-frame detection at 1280 ({span}), {elapsed:.1f} s",
                                flush=True,
                            )
            finally:
                hook.close()
                server.stop()
                container.close()
    print()
    print(
        "| input | job | setting | frames decoded | processing s | x real time | decode-only x "
        "| job / decode-only | end-to-end x | notification ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, stride, kind, ceiling, r in rows:
        print(
            f"| {name} | {kind} | {stride} | {r['frames']:.0f} | {r['processing_s']:.1f} "
            f"| {r['speed_x_realtime']:.2f} | {ceiling:.2f} | {r['speed_x_realtime'] / ceiling:.2f} "
            f"| {r['end_to_end_x_realtime']:.2f} | {r['notification_latency_ms']:.0f} |"
        )
    print()
    print("targets (issue 11), default setting:")
    for name, stride, kind, ceiling, r in rows:
        if stride != 0:
            continue
        speed = r["speed_x_realtime"]
        if kind == "detection":
            goal = targets.get(name, 3.0)
            print(
                f"  face detection {name}: {speed:.2f}x >= {goal:.0f}x real time: {verdict(speed >= goal)} "
                f"(ceiling {ceiling:.2f}x in this run, ratio {speed / ceiling:.2f})"
            )
        else:
            detection = next(x for x in rows if x[0] == name and x[1] == stride and x[2] == "detection")[4]
            rel = speed / detection["speed_x_realtime"]
            print(
                f"  face search {name}: {rel * 100:.0f} % of the detection job's speed: {verdict(rel >= 0.8)}"
            )
    for name, (recall, steps, span) in recalls.items():
        print(f"  face-track recall {name} ({span}, {steps} face-steps): {recall * 100:.2f} % >= 99 %: "
              f"{verdict(recall >= 0.99)}")  # fmt: skip


if __name__ == "__main__":
    main()
