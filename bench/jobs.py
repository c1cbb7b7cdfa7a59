"""Benchmark: face-detection job speed (multiple of real time) and notification latency after completion.

Run from the repository root: `.venv/bin/python bench/jobs.py`. It runs a real videolens server (uvicorn,
in this process) on a temporary data directory, uploads the inputs with boto3, starts
`StartFaceDetection` jobs with a notification channel and receives the SNS-shaped completion message
on a local webhook. Inputs: the 10 s hamilton clip and a 1080p 60 s video made with ffmpeg into
`bench/out/` (the hamilton clip upscaled and looped). Figures per input and detector stride:
- speed: video duration / job processing time (claim → SUCCEEDED, model loading excluded by a warm-up job);
- end-to-end: video duration / (start_face_detection call → notification received);
- notification latency: webhook receive time − the job's completion time.
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
    """The ceiling: how many times real time PyAV decodes every frame of `path` to BGR arrays."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = float(container.duration or 0) / 1e6
        start = time.perf_counter()
        for frame in container.decode(stream):
            frame.to_ndarray(format="bgr24")
        return duration / (time.perf_counter() - start)


def run_case(server: RunningServer, hook: WebhookReceiver, topic_arn: str, key: str) -> dict[str, float]:
    rekognition = aws_client("rekognition", server.url)
    before = len(hook.received)
    t0 = time.time()
    job_id = rekognition.start_face_detection(
        Video={"S3Object": {"Bucket": "bench", "Name": key}},
        NotificationChannel={"SNSTopicArn": topic_arn, "RoleArn": "arn:aws:iam::000000000000:role/bench"},
    )["JobId"]
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--detect-every",
        type=int,
        nargs="+",
        default=[1, 3],
        help="detector strides to measure (1 = every frame, the default of the server)",
    )
    parser.add_argument("--seconds", type=int, default=60, help="length of the 1080p video")
    parser.add_argument("--skip-1080p", action="store_true")
    args = parser.parse_args()

    hamilton = MEDIA / "video" / "short_hamilton_clip.mp4"
    inputs = {"hamilton 640x360 9.2 s": hamilton}
    if not args.skip_1080p:
        inputs[f"1080p {args.seconds} s"] = make_1080p(hamilton, args.seconds)

    ceilings = {name: decode_only_x_realtime(path) for name, path in inputs.items()}
    for name, ceiling in ceilings.items():
        print(f"{name:24s} decode only (the ceiling): {ceiling:.2f}x real time", flush=True)

    rows = []
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
                run_case(server, hook, topic_arn, hamilton.name)  # warm-up: loads the models
                for name, path in inputs.items():
                    result = run_case(server, hook, topic_arn, path.name)
                    rows.append((name, stride, result))
                    print(
                        f"{name:24s} detect every {stride}: {result['speed_x_realtime']:.2f}x real time "
                        f"({result['frames']:.0f} frames in {result['processing_s']:.1f} s), end to end "
                        f"{result['end_to_end_x_realtime']:.2f}x, notification "
                        f"{result['notification_latency_ms']:.0f} ms after completion; "
                        f"{result['speed_x_realtime'] / ceilings[name]:.2f} of the decode-only ceiling",
                        flush=True,
                    )
            finally:
                hook.close()
                server.stop()
                container.close()
    print()
    print(
        "| input | detector stride | frames | processing s | x real time | end-to-end x | notification ms "
        "| decode-only x real time | job / decode-only |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, stride, r in rows:
        print(
            f"| {name} | {stride} | {r['frames']:.0f} | {r['processing_s']:.1f} "
            f"| {r['speed_x_realtime']:.2f} | {r['end_to_end_x_realtime']:.2f} "
            f"| {r['notification_latency_ms']:.0f} | {ceilings[name]:.2f} "
            f"| {r['speed_x_realtime'] / ceilings[name]:.2f} |"
        )


if __name__ == "__main__":
    main()
