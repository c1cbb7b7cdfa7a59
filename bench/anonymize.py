"""Benchmark: videolens anonymize vs deface (CenterFace on every frame) — fps, ratio, ceiling, coverage.

Run from the repository root: `.venv/bin/python bench/anonymize.py`. The script creates its own
virtual environment `bench/.venv-deface` and installs `deface` (with onnxruntime, so deface runs on
its fastest backend) from PyPI on first use, makes a 1080p upscale of the hamilton clip and a
synthetic ground-truth video under `bench/out/`, then runs deface and videolens one after the other
on each input (both as their command-line tools, start-up and model loading included), then
videolens in-process (the `AnonymizeService` of this process, model already loaded) alternating with
the decode+encode ceiling (an in-process pass-through transcode with the output's encoder settings),
`--reps` times each, medians reported. The machine is shared: the ratios within one run are the
figures to read.

The issue-11 target (>= 50 % of the decode+encode ceiling at 640x360 and at 1080p) is judged on the
in-process figure: the ceiling is a per-frame cost measured in-process, and the CLI adds a fixed
start-up (Python imports + ONNX model load, ~1-2 s) that on a 9 s clip is most of its time and says
nothing about the per-frame pipeline. The CLI figure is printed beside it (and the start-up it
implies), since that is what a user of `videolens anonymize` waits for; deface is compared CLI to CLI.
The script ends with the targets (plus ground-truth coverage >= 99.5 % with no face visible), each
marked met or not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.anonymize import synthetic  # noqa: E402
from videolens.media.video_transcode import EncodeOptions, Frame, probe_video, transcode_video  # noqa: E402
from videolens.services.anonymize.options import AnonymizeOptions  # noqa: E402
from videolens.services.anonymize.service import AnonymizeService  # noqa: E402

BENCH = REPO / "bench"
OUT = BENCH / "out"
DEFACE_VENV = BENCH / ".venv-deface"
VIDEOLENS = Path(sys.executable).parent / "videolens"
COLUMNS = ("input", "size", "frames", "deface_fps", "videolens_cli_fps", "videolens_fps", "ceiling_fps")


def media_dir() -> Path:
    env = os.environ.get("VIDEOLENS_TEST_MEDIA")
    return Path(env) if env else REPO.parent / "shared" / "media"


def ensure_deface() -> Path:
    exe = DEFACE_VENV / "bin" / "deface"
    if not exe.exists():
        print(f"creating {DEFACE_VENV} and installing deface from PyPI ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(DEFACE_VENV)
        pip = DEFACE_VENV / "bin" / "pip"
        subprocess.run([str(pip), "install", "-q", "deface", "onnx", "onnxruntime"], check=True)
    return exe


def make_inputs(media: Path, seconds_1080p: float) -> dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    hamilton = media / "video" / "short_hamilton_clip.mp4"
    hd = OUT / "hamilton_1080p.mp4"
    if not hd.exists():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(hamilton), "-t", str(seconds_1080p),
             "-vf", "scale=1920:1080:flags=lanczos", "-c:v", "libx264", "-crf", "18", "-preset", "veryfast",
             "-c:a", "copy", str(hd)],
            check=True,
        )  # fmt: skip
    return {
        "hamilton 640x360": hamilton,
        "hamilton 1080p": hd,
        "Megamind 720x528": media / "video" / "Megamind.avi",
    }


def frame_count(path: Path) -> int:
    import av

    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def run_timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def deface_cmd(exe: Path, src: Path, dst: Path, extra: list[str]) -> list[str]:
    return [
        str(exe),
        str(src),
        "-o",
        str(dst),
        "--keep-audio",
        "--ffmpeg-config",
        '{"codec": "libx264"}',
        *extra,
    ]


def videolens_cmd(src: Path, dst: Path, extra: list[str]) -> list[str]:
    return [str(VIDEOLENS), "anonymize", str(src), "-o", str(dst), *extra]


class Passthrough:
    def push(self, frame: Frame) -> list[Frame]:
        return [frame]

    def flush(self) -> list[Frame]:
        return []


def ceiling_fps(src: Path, dst: Path) -> float:
    started = time.perf_counter()
    result = transcode_video(src, dst, Passthrough(), EncodeOptions())
    return result.frames / (time.perf_counter() - started)


def in_process_fps(service: AnonymizeService, src: Path, dst: Path) -> float:
    """The CLI's own call (`--mode blur`, every other option at its default) without process start-up."""
    started = time.perf_counter()
    result = service.anonymize_file(src, dst, AnonymizeOptions(mode="blur"))
    return result.frames / (time.perf_counter() - started)


def side_by_side(
    service: AnonymizeService, src: Path, slug: str, suffix: str, reps: int
) -> tuple[float, float]:
    """Median in-process anonymization fps and median ceiling fps, measured alternately."""
    ours, ceiling = [], []
    for _ in range(reps):
        ceiling.append(ceiling_fps(src, OUT / f"{slug}_ceiling{suffix}"))
        ours.append(in_process_fps(service, src, OUT / f"{slug}_inprocess{suffix}"))
    return statistics.median(ours), statistics.median(ceiling)


def dark_coverage(
    scene: synthetic.Scene, out_frames: list[np.ndarray], tolerance: int = 40
) -> tuple[float, int]:
    """Coverage for solid black masks (deface's only solid colour): GT pixels that turned black.

    Face pixels that are already near black in the input (hair, pupils) are left out of the count,
    so neither tool gets credit for them.
    """
    covered = total = exposed = 0
    for i, out in enumerate(out_frames):
        src = scene.frames[i]
        out_dark = out.max(axis=2) <= tolerance
        src_dark = src.max(axis=2) <= tolerance
        for k, ft in enumerate(scene.truth[i], start=1):
            gt = (scene.labels[i] == k) & ~src_dark
            n = int(np.count_nonzero(gt))
            if n == 0:
                continue
            c = int(np.count_nonzero(gt & out_dark))
            covered, total = covered + c, total + n
            if ft.visible_pixels >= 0.3 * ft.box_pixels and c / n < 0.5:
                exposed += 1
    return covered / max(total, 1), exposed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-1080p", type=float, default=5.0, help="length of the 1080p upscale")
    parser.add_argument("--skip-deface", action="store_true", help="only videolens and the ceiling")
    parser.add_argument("--reps", type=int, default=3, help="in-process / ceiling repetitions per input")
    args = parser.parse_args()
    media = media_dir()
    exe = None if args.skip_deface else ensure_deface()
    inputs = make_inputs(media, args.seconds_1080p)
    service = AnonymizeService()
    service.detector(AnonymizeOptions().detect_max_side)  # load the model once, as a server does
    rows = []
    for name, src in inputs.items():
        frames = frame_count(src)
        info = probe_video(src)
        suffix = ".mp4" if src.suffix == ".mp4" else ".mkv"
        slug = name.split()[0].lower() + "_" + name.split()[1]
        deface_fps = None
        if exe is not None:
            # deface's default filter is blur: compare like with like
            t = run_timed(deface_cmd(exe, src, OUT / f"{slug}_deface{suffix}", []))
            deface_fps = frames / t
        t = run_timed(videolens_cmd(src, OUT / f"{slug}_videolens{suffix}", ["--mode", "blur"]))
        cli_fps = frames / t
        vl_fps, ceiling = side_by_side(service, src, slug, suffix, args.reps)
        rows.append((name, f"{info.width}x{info.height}", frames, deface_fps, cli_fps, vl_fps, ceiling))
        print(f"{name}: {frames} frames; deface {deface_fps or 0:.1f} fps, videolens CLI {cli_fps:.1f} fps "
              f"(start-up ~{t - frames / vl_fps:.1f} s), in-process {vl_fps:.1f} fps, "
              f"decode+encode ceiling {ceiling:.1f} fps", flush=True)  # fmt: skip

    scene = synthetic.standard_scene(media)
    syn = synthetic.write_video(OUT / "synthetic.mp4", scene)
    coverage: dict[str, tuple[float, int]] = {}
    if exe is not None:
        run_timed(deface_cmd(exe, syn, OUT / "synthetic_deface.mp4", ["--replacewith", "solid"]))
        coverage["deface"] = dark_coverage(scene, synthetic.read_frames(OUT / "synthetic_deface.mp4"))
    run_timed(videolens_cmd(syn, OUT / "synthetic_videolens.mp4", ["--mode", "solid", "--color", "#000000"]))
    coverage["videolens"] = dark_coverage(scene, synthetic.read_frames(OUT / "synthetic_videolens.mp4"))

    print()
    print(
        f"{'input':<20} {'size':>10} {'frames':>6} {'deface fps':>11} {'CLI fps':>8} {'vs deface':>9} "
        f"{'in-process fps':>14} {'ceiling fps':>12} {'of ceiling':>10} {'CLI of ceiling':>14}"
    )
    for name, size, frames, d, cli, v, c in rows:
        ratio = f"{cli / d:8.1f}x" if d else f"{'n/a':>9}"
        dtext = f"{d:11.1f}" if d else f"{'n/a':>11}"
        print(
            f"{name:<20} {size:>10} {frames:>6} {dtext} {cli:8.1f} {ratio:>9} {v:14.1f} {c:12.1f} "
            f"{v / c * 100:8.1f} % {cli / c * 100:12.1f} %"
        )
    print()
    print(f"ground-truth coverage on {syn.name} ({len(scene.frames)} frames, {scene.width}x{scene.height}):")
    for tool, (fraction, exposed) in coverage.items():
        print(
            f"  {tool:<10} {fraction * 100:7.3f} % of face pixels hidden, "
            f"faces visible (<50 % hidden): {exposed}"
        )
    print()
    print("targets (issue 11):")
    for name, _size, _frames, _d, cli, v, c in rows:
        if name in ("hamilton 640x360", "hamilton 1080p"):
            share = v / c
            verdict = "MET" if share >= 0.5 else "NOT MET"
            print(
                f"  anonymize {name}: in-process {share * 100:.0f} % of the decode+encode ceiling >= 50 %: "
                f"{verdict} (CLI with start-up: {cli / c * 100:.0f} %)"
            )
    if "videolens" in coverage:
        fraction, exposed = coverage["videolens"]
        verdict = "MET" if fraction >= 0.995 and exposed == 0 else "NOT MET"
        print(f"  coverage: {fraction * 100:.2f} % of face pixels hidden, {exposed} visible: {verdict}")
    (OUT / "results.json").write_text(
        json.dumps(
            {
                "rows": [dict(zip(COLUMNS, r, strict=True)) for r in rows],
                "coverage": {k: {"fraction": v[0], "visible_faces": v[1]} for k, v in coverage.items()},
                "cpus": os.cpu_count(),
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
