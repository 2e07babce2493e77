"""Bag → LeRobotDataset v3.0 export speed for 10K experience steps of Visual Reacher frames (48×48), with the
bag read alone as the peer, the video round trip's PSNR and the sizes, per codec.

    source scripts/ros_env.sh && PYTHONPATH=ros2_ws/src/rig_trainer:$PYTHONPATH \
        python benchmarks/bench_export_lerobot.py [--steps 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from rclpy.serialization import serialize_message

from rig_trainer.bag_dataset import read_steps
from rig_trainer.bags import EXPERIENCE_TOPIC, BagWriter
from rig_trainer.export_lerobot import CAMERA_KEY, export
from rig_trainer.sim_demo_bag import step_message


def write_bag(path: Path, steps: int, horizon: int = 50) -> np.ndarray:
    """Random-action Visual Reacher episodes with latent goals; returns the frames in bag order."""
    import sawyer_sim

    env = sawyer_sim.make("reacher", image_size=48, seed=0)
    rng = np.random.default_rng(0)
    writer = BagWriter(path)
    writer.add_topic(EXPERIENCE_TOPIC, "rig_interfaces/msg/ExperienceStep")
    frames, stamp, ep = [], 10**18, 0
    while len(frames) < steps:
        obs, _ = env.reset(seed=ep)
        goal = rng.normal(size=4)
        for t in range(min(horizon + 1, steps - len(frames))):
            action = None if t == horizon else rng.uniform(-1, 1, 2)
            msg = step_message(obs["image"], action, obs["state"], ep, t, stamp, is_demo=False, goal=goal)
            writer.write(EXPERIENCE_TOPIC, stamp, serialize_message(msg))
            frames.append(obs["image"])
            if action is not None:
                obs, *_ = env.step(action)
            stamp += 100_000_000
        ep += 1
    writer.close()
    env.close()
    return np.stack(frames)


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def decoded_psnr(out: Path, frames: np.ndarray) -> float:
    with av.open(str(out / f"videos/{CAMERA_KEY}/chunk-000/file-000.mp4")) as container:
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    mse = np.mean((decoded.astype(np.float64) - frames) ** 2)
    return float(10 * np.log10(255**2 / mse))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        frames = write_bag(root / "bag", args.steps)
        t0 = time.perf_counter()
        count = sum(1 for _ in read_steps([root / "bag"]))
        t_read = time.perf_counter() - t0
        print(f"{count} steps, bag {size_mb(root / 'bag'):.1f} MB; reading the bag alone: {count / t_read:,.0f} steps/s")
        print(f"{'codec':22} {'export s':>9} {'steps/s':>8} {'vs read':>8} {'PSNR dB':>8} {'dataset MB':>11}")
        for codec, pix_fmt, crf in (("libx264", "yuv444p", 10), ("libx264", "yuv420p", 10), ("libsvtav1", "yuv420p", 30)):
            out = root / f"ds_{codec}_{pix_fmt}"
            t0 = time.perf_counter()
            info = export([root / "bag"], out, codec=codec, pix_fmt=pix_fmt, crf=crf)
            took = time.perf_counter() - t0
            assert info["total_frames"] == count
            print(f"{codec + ' ' + pix_fmt:22} {took:9.1f} {count / took:8,.0f} {t_read / took:8.2f} "
                  f"{decoded_psnr(out, frames):8.1f} {size_mb(out):11.1f}")


if __name__ == "__main__":
    main()
