"""Bags of experience steps → one LeRobotDataset v3.0 (parquet + mp4), nothing of the steps lost.

    python -m rig_trainer.export_lerobot BAG [BAG ...] --out DIR [--task TEXT] [--fps N] [--codec libx264]

One row per control step (`rig_interfaces/ExperienceStep` on /policy/experience): the camera frame (as video,
`observation.images.camera`), the end-effector pose (`observation.state`: x y z qx qy qz qw), the action, the
episode's latent goal (`observation.goal`), is_demo, is_last (the episode's final observation, action zeros),
the bag (index into meta/rig_source.json), its stamp, episode and t (`rig.bag`, `rig.stamp_ns`, `rig.episode`,
`rig.t`), plus LeRobot's timestamp / frame_index
/ episode_index / index / task_index. Every (bag, episode) becomes a dataset episode; a gap in t (lost
messages) splits it, since LeRobot's timestamps must advance by 1 / fps. The dataset is built in a temporary
directory beside DIR and renamed at the end: on bad input (empty bag, no experience topic, steps without
images, DIR already holding something) it prints one line, exits 1 and leaves DIR as it was.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rig_core.errors import RigError
from rig_trainer import lerobot_v3 as lr
from rig_trainer.bag_dataset import ExperienceStepView, read_steps
from rig_trainer.bags import EXPERIENCE_TOPIC, BagError

CAMERA_KEY = "observation.images.camera"
STATE_NAMES = ["x", "y", "z", "qx", "qy", "qz", "qw"]


class ExportError(RigError):
    """The bags cannot become one dataset, or the output directory is taken; one line."""


@dataclass
class Step:
    bag: int
    episode: int
    t: int
    stamp_ns: int
    image: np.ndarray
    state: np.ndarray
    action: np.ndarray | None
    goal: np.ndarray
    is_demo: bool
    is_last: bool

    @classmethod
    def from_message(cls, bag: int, msg: ExperienceStepView, rgb: np.ndarray) -> Step:
        p, q = msg.ee_pose.position, msg.ee_pose.orientation
        return cls(bag, int(msg.episode), int(msg.t), int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec),
                   rgb, np.array([p.x, p.y, p.z, q.x, q.y, q.z, q.w], np.float32),
                   None if msg.is_last else np.asarray(msg.action, np.float32), np.asarray(msg.goal, np.float32),
                   bool(msg.is_demo), bool(msg.is_last))


def runs(steps: list[Step]) -> list[list[Step]]:
    """One episode's steps ordered by t, split where t does not advance by one (duplicates dropped)."""
    out: list[list[Step]] = []
    for step in sorted(steps, key=lambda s: s.t):
        if out and step.t == out[-1][-1].t:
            continue
        if not out or step.t != out[-1][-1].t + 1 or out[-1][-1].is_last:
            out.append([])
        out[-1].append(step)
    return out


def estimate_fps(steps: list[Step]) -> int | None:
    """The control rate from the stamps of consecutive steps (median period), or None with too few steps."""
    periods = np.diff([s.stamp_ns for s in steps]) / 1e9
    periods = periods[periods > 0]
    return max(1, round(1 / float(np.median(periods)))) if len(periods) else None


class Exporter:
    """Collects steps per (bag, episode) and writes each finished episode into the dataset at `root`."""

    def __init__(self, root: Path, bags: Sequence[str | Path], task: str, fps: int | None, codec: str, pix_fmt: str,
                 crf: int, gop: int, robot_type: str, data_mb: float, video_mb: float) -> None:
        self.root, self.bags, self.task, self.fps = root, [str(b) for b in bags], task, fps
        self.codec, self.pix_fmt, self.crf, self.gop, self.robot_type = codec, pix_fmt, crf, gop, robot_type
        self.data_mb, self.video_mb = data_mb, video_mb
        self.open: dict[tuple[int, int], list[Step]] = {}
        self.features: dict[str, dict] | None = None
        self.episodes = lr.EpisodeTable()
        self.frames = 0
        self.gaps = 0
        self.columns: dict[str, list[np.ndarray]] = {}
        self.histogram = np.zeros((3, 256), np.int64)

    # ---- steps in ------------------------------------------------------------------------------
    def add(self, step: Step) -> None:
        key = (step.bag, step.episode)
        self.open.setdefault(key, []).append(step)
        if step.is_last:
            self.flush(key)

    def flush_bag(self, bag: int) -> None:
        for key in [k for k in self.open if k[0] == bag]:
            self.flush(key)

    def flush(self, key: tuple[int, int]) -> None:
        parts = runs(self.open.pop(key))
        self.gaps += len(parts) - 1
        for part in parts:
            self.write_episode(part)

    # ---- one dataset episode -------------------------------------------------------------------
    def _start(self, first: list[Step]) -> None:
        """Fix the features (image size, action and goal sizes, fps) from the first episode written."""
        h, w = first[0].image.shape[:2]
        if self.pix_fmt == "yuv420p" and (h % 2 or w % 2):
            raise ExportError(f"{self.bags[first[0].bag]}: image size {w}x{h} is odd, which yuv420p cannot hold; "
                              "pass --pix-fmt yuv444p")
        self.fps = self.fps or estimate_fps(first) or 10
        action_dim = next((len(s.action) for s in first if s.action is not None), 0)
        features = {CAMERA_KEY: lr.video_feature(h, w, self.fps, "h264" if self.codec == "libx264" else self.codec,
                                                 self.pix_fmt),
                    "observation.state": lr.vector("float32", STATE_NAMES),
                    "action": lr.vector("float32", [f"a{i}" for i in range(action_dim)])}
        if len(first[0].goal):
            features["observation.goal"] = lr.vector("float32", [f"z{i}" for i in range(len(first[0].goal))])
        features |= {"is_demo": lr.scalar("bool"), "is_last": lr.scalar("bool"), "rig.bag": lr.scalar("int64"),
                     "rig.stamp_ns": lr.scalar("int64"), "rig.episode": lr.scalar("int64"), "rig.t": lr.scalar("int64")}
        self.features = features | lr.INDEX_FEATURES
        if self.codec in ("libsvtav1", "av1"):
            options = {"crf": str(self.crf), "g": str(self.gop)}
        else:
            options = {"crf": str(self.crf), "g": str(self.gop), "bf": "0"}
        self.data = lr.ParquetSeries(self.root, self.features, self.data_mb)
        self.video = lr.VideoSeries(self.root, CAMERA_KEY, self.fps, self.codec, self.pix_fmt, options, self.video_mb)
        codec_name = self.video.codec
        try:
            import av

            av.codec.Codec(codec_name, "w")
        except Exception:
            raise ExportError(f"video codec {codec_name!r} is not available in PyAV's FFmpeg") from None

    def _check(self, steps: list[Step]) -> None:
        bag = self.bags[steps[0].bag]
        image_shape = tuple(self.features[CAMERA_KEY]["shape"])
        action_dim = self.features["action"]["shape"][0]
        goal_dim = self.features.get("observation.goal", {"shape": [0]})["shape"][0]
        for s in steps:
            where = f"{bag}: episode {s.episode} t {s.t}"
            if s.image.shape != image_shape:
                raise ExportError(f"{where}: image {s.image.shape} differs from {image_shape} (mixed image sizes)")
            if s.action is not None and len(s.action) != action_dim:
                raise ExportError(f"{where}: action of size {len(s.action)}, expected {action_dim}")
            if len(s.goal) != goal_dim:
                raise ExportError(f"{where}: goal of size {len(s.goal)}, expected {goal_dim}")

    def write_episode(self, steps: list[Step]) -> None:
        if self.features is None:
            self._start(steps)
        self._check(steps)
        n, index = len(steps), len(self.episodes.rows)
        images = np.stack([s.image for s in steps])
        action_dim = self.features["action"]["shape"][0]
        columns = {
            "observation.state": np.stack([s.state for s in steps]),
            "action": np.stack([np.zeros(action_dim, np.float32) if s.action is None else s.action for s in steps]),
            "observation.goal": np.stack([s.goal for s in steps]),
            "is_demo": np.array([s.is_demo for s in steps]), "is_last": np.array([s.is_last for s in steps]),
            "rig.bag": np.full(n, steps[0].bag, np.int64), "rig.stamp_ns": np.array([s.stamp_ns for s in steps], np.int64),
            "rig.episode": np.array([s.episode for s in steps], np.int64), "rig.t": np.array([s.t for s in steps], np.int64),
            "timestamp": (np.arange(n) / self.fps).astype(np.float32), "frame_index": np.arange(n, dtype=np.int64),
            "episode_index": np.full(n, index, np.int64), "index": np.arange(self.frames, self.frames + n, dtype=np.int64),
            "task_index": np.zeros(n, np.int64),
        }
        columns = {k: v for k, v in columns.items() if k in self.features}
        chunk, file = self.data.write_episode(columns)
        vchunk, vfile, t0, t1 = self.video.write_episode(images)
        hist = lr.channel_histogram(images)
        self.histogram += hist
        for key, values in columns.items():
            self.columns.setdefault(key, []).append(values)
        stats = {k: lr.vector_stats(v) for k, v in columns.items()} | {CAMERA_KEY: lr.image_stats(hist, n)}
        row = {"episode_index": index, "tasks": [self.task], "length": n, "data/chunk_index": chunk,
               "data/file_index": file, "dataset_from_index": self.frames, "dataset_to_index": self.frames + n,
               f"videos/{CAMERA_KEY}/chunk_index": vchunk, f"videos/{CAMERA_KEY}/file_index": vfile,
               f"videos/{CAMERA_KEY}/from_timestamp": t0, f"videos/{CAMERA_KEY}/to_timestamp": t1}
        for key, feature_stats in stats.items():
            for name, value in feature_stats.items():
                row[f"stats/{key}/{name}"] = np.asarray(value).tolist()
        self.episodes.add(row)
        self.frames += n

    # ---- the end -------------------------------------------------------------------------------
    def finish(self) -> dict:
        self.data.close()
        self.video.close()
        stats = {k: lr.vector_stats(np.concatenate(v)) for k, v in self.columns.items()}
        stats[CAMERA_KEY] = lr.image_stats(self.histogram, self.frames)
        self.episodes.write(self.root)
        lr.write_tasks(self.root, [self.task])
        lr.write_json(self.root / lr.STATS_PATH, lr.to_json(stats))
        info = lr.info_json(self.features, self.fps, len(self.episodes.rows), self.frames, 1, self.robot_type,
                            self.data_mb, self.video_mb)
        lr.write_json(self.root / lr.INFO_PATH, info)
        lr.write_json(self.root / "meta" / "rig_source.json", {"bags": self.bags, "topic": EXPERIENCE_TOPIC,
                                                                  "episodes_split_at_gaps": self.gaps})
        return info


def check_out(out: Path) -> None:
    if (out / lr.INFO_PATH).exists():
        raise ExportError(f"{out}: already holds a LeRobot dataset (meta/info.json); not overwriting it")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out}: exists and is not an empty directory; not writing a dataset into it")


def export(bags: Sequence[str | Path], out: str | Path, task: str = "reach the goal", fps: int | None = None,
           codec: str = "libx264", pix_fmt: str = "yuv444p", crf: int = 10, gop: int = 2, robot_type: str = "sawyer",
           data_mb: float = 100.0, video_mb: float = 200.0, topic: str = EXPERIENCE_TOPIC) -> dict:
    """Write the dataset; returns its info.json. Raises BagError / ExportError with nothing written to `out`."""
    out = Path(out)
    check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        exporter = Exporter(tmp, bags, task, fps, codec, pix_fmt, crf, gop, robot_type, data_mb, video_mb)
        current = None
        for b, msg, rgb in read_steps(bags, topic):
            if current is not None and b != current:
                exporter.flush_bag(current)
            current = b
            exporter.add(Step.from_message(b, msg, rgb))
        exporter.flush_bag(current)
        info = exporter.finish()
        check_out(out)
        if out.exists():
            out.rmdir()
        tmp.rename(out)
        return info
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bags", nargs="+", type=Path, help="rosbag2 directories with experience steps")
    parser.add_argument("--out", type=Path, required=True, help="new dataset directory")
    parser.add_argument("--task", default="reach the goal", help="task text of every episode (meta/tasks.parquet)")
    parser.add_argument("--fps", type=int, default=None, help="control rate (default: from the bag's stamps)")
    parser.add_argument("--topic", default=EXPERIENCE_TOPIC)
    parser.add_argument("--codec", default="libx264", help="libx264 (h264) or libsvtav1 (av1, LeRobot's default)")
    parser.add_argument("--pix-fmt", default=None, choices=["yuv444p", "yuv420p"],
                        help="default yuv444p (colour at full resolution: small frames keep their edges) for libx264; "
                             "yuv420p plays in browsers and is the only one SVT-AV1 takes")
    parser.add_argument("--crf", type=int, default=10, help="codec quality (lower: closer to the bag's frames)")
    parser.add_argument("--gop", type=int, default=2, help="keyframe interval (LeRobot's default 2: fast seeking)")
    parser.add_argument("--robot-type", default="sawyer")
    parser.add_argument("--data-file-mb", type=float, default=100.0, help="start a new parquet file past this size")
    parser.add_argument("--video-file-mb", type=float, default=200.0, help="start a new mp4 file past this size")
    args = parser.parse_args(argv)
    pix_fmt = args.pix_fmt or ("yuv420p" if args.codec in ("libsvtav1", "av1") else "yuv444p")
    t0 = time.perf_counter()
    try:
        info = export(args.bags, args.out, args.task, args.fps, args.codec, pix_fmt, args.crf, args.gop,
                      args.robot_type, args.data_file_mb, args.video_file_mb, args.topic)
    except (BagError, RigError) as err:
        print(f"export_lerobot: {err}", file=sys.stderr)
        return 1
    print(f"wrote {info['total_frames']} frames in {info['total_episodes']} episodes at {info['fps']} fps to {args.out} "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
