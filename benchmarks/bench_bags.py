"""Bag throughput: write and read (messages/s, MB/s) of 48×48 and 640×480 rgb8 images, MCAP vs sqlite3,
and dataset build time (bag → StepData → transitions) per 10K experience steps.

    source scripts/ros_env.sh && PYTHONPATH=ros2_ws/src/rig_trainer:$PYTHONPATH python benchmarks/bench_bags.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image

from rig_trainer.bag_dataset import load_steps, transitions
from rig_trainer.bags import EXPERIENCE_TOPIC, BagWriter, iter_raw, open_bag
from rig_trainer.sim_demo_bag import step_message


def bench_images(root: Path, storage: str, size: tuple[int, int], n: int) -> tuple[float, float, float, float]:
    h, w = size
    pixels = np.random.default_rng(0).integers(0, 255, h * w * 3, dtype=np.uint8).tobytes()
    img = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=pixels)
    data = serialize_message(img)
    bag = root / f"{storage}_{h}x{w}"
    t0 = time.perf_counter()
    writer = BagWriter(bag, storage, max_duration=0)
    writer.add_topic("/camera/image_raw", "sensor_msgs/msg/Image")
    for i in range(n):
        writer.write("/camera/image_raw", i * 33_000_000, data)
    writer.close()
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    with open_bag(bag) as reader:
        count = sum(1 for _ in iter_raw(reader, bag))
    t_read = time.perf_counter() - t0
    assert count == n
    mb = n * len(data) / 1e6
    return n / t_write, mb / t_write, n / t_read, mb / t_read


def bench_dataset(root: Path, steps: int) -> float:
    bag = root / "steps"
    writer = BagWriter(bag)
    writer.add_topic(EXPERIENCE_TOPIC, "rig_interfaces/msg/ExperienceStep")
    image = np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    for i in range(steps):
        msg = step_message(image, np.zeros(2), np.zeros(2), i // 50, i % 50, i)
        writer.write(EXPERIENCE_TOPIC, i, serialize_message(msg))
    writer.close()
    t0 = time.perf_counter()
    data = load_steps([bag], 48)
    transitions(data)
    return (time.perf_counter() - t0) * 10_000 / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=20_000, help="48×48 messages per run")
    parser.add_argument("--large", type=int, default=300, help="640×480 messages per run")
    parser.add_argument("--steps", type=int, default=10_000, help="experience steps for the dataset build")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"{'storage':8} {'image':8} {'write msg/s':>12} {'write MB/s':>11} {'read msg/s':>11} {'read MB/s':>10}")
        for size, n in (((48, 48), args.small), ((480, 640), args.large)):
            for storage in ("mcap", "sqlite3"):
                r = bench_images(root, storage, size, n)
                print(f"{storage:8} {size[1]}x{size[0]:<5} {r[0]:12.0f} {r[1]:11.1f} {r[2]:11.0f} {r[3]:10.1f}")
        print(f"dataset build (48x48 ExperienceStep, MCAP): {bench_dataset(root, args.steps):.2f} s per 10K steps")


if __name__ == "__main__":
    main()
