"""Bags → LeRobotDataset v3.0: every frame, action, pose, goal, flag and stamp comes back, the episodes are the
bags' episodes, the dataset validates against its own info.json, and bad input writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from rclpy.serialization import serialize_message
from std_msgs.msg import String

from rig_trainer import lerobot_v3 as lr
from rig_trainer.bags import EXPERIENCE_TOPIC, BagError, BagWriter
from rig_trainer.export_lerobot import CAMERA_KEY, ExportError, export
from rig_trainer.sim_demo_bag import step_message

STAMP0, PERIOD = 10**18, 100_000_000  # 10 Hz


def _write_bag(path: Path, episodes: int, horizon: int, seed: int, skip: tuple[int, int] | None = None) -> list[dict]:
    """Visual Reacher frames with random actions and latent goals; returns each written step as plain values."""
    import sawyer_sim

    env = sawyer_sim.make("reacher", image_size=48, seed=seed)
    rng = np.random.default_rng(seed)
    writer = BagWriter(path)
    writer.add_topic(EXPERIENCE_TOPIC, "rig_interfaces/msg/ExperienceStep")
    written, stamp = [], STAMP0 + seed * 10**12
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed * 100 + ep)
        goal = rng.normal(size=4)
        for t in range(horizon + 1):
            action = None if t == horizon else rng.uniform(-1, 1, 2)
            if skip != (ep, t):
                msg = step_message(obs["image"], action, obs["state"], ep, t, stamp, is_demo=ep % 2 == 0, goal=goal)
                writer.write(EXPERIENCE_TOPIC, stamp, serialize_message(msg))
                written.append({"image": obs["image"].copy(), "action": action, "hand": obs["state"][:2].copy(),
                                "goal": goal, "episode": ep, "t": t, "stamp": stamp, "is_demo": ep % 2 == 0})
            if action is not None:
                obs, *_ = env.step(action)
            stamp += PERIOD
    writer.close()
    env.close()
    return written


def _frames(root: Path, info: dict) -> np.ndarray:
    path = root / info["video_path"].format(video_key=CAMERA_KEY, chunk_index=0, file_index=0)
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse)) if mse else float("inf")


def test_round_trip(tmp_path: Path) -> None:
    bags = [tmp_path / "a", tmp_path / "b"]
    steps = _write_bag(bags[0], episodes=3, horizon=8, seed=0) + _write_bag(bags[1], episodes=2, horizon=8, seed=1)
    info = export(bags, tmp_path / "ds", task="reach the goal")
    root = tmp_path / "ds"
    lr.validate_dataset(root)
    assert (info["total_frames"], info["total_episodes"], info["fps"]) == (len(steps), 5, 10)
    assert info == json.loads((root / lr.INFO_PATH).read_text())

    table = pq.read_table(root / lr.DATA_PATH.format(chunk_index=0, file_index=0)).to_pydict()
    assert set(table) == set(info["features"]) - {CAMERA_KEY}
    bag_index = [0] * 27 + [1] * 18
    assert table["rig.bag"] == bag_index and table["rig.episode"] == [s["episode"] for s in steps]
    assert table["rig.t"] == [s["t"] for s in steps] and table["rig.stamp_ns"] == [s["stamp"] for s in steps]
    assert table["is_demo"] == [s["is_demo"] for s in steps]
    assert table["is_last"] == [s["action"] is None for s in steps]
    actions = np.array(table["action"], np.float32)
    for row, s in enumerate(steps):
        want = np.zeros(2, np.float32) if s["action"] is None else np.asarray(s["action"], np.float32)
        assert np.array_equal(actions[row], want)
        assert np.array_equal(np.array(table["observation.goal"][row], np.float32), np.asarray(s["goal"], np.float32))
        assert np.array_equal(np.array(table["observation.state"][row][:2], np.float32), s["hand"].astype(np.float32))
    # one dataset episode per (bag, episode), in order, each starting at frame 0
    episodes = pq.read_table(root / lr.EPISODES_PATH.format(chunk_index=0, file_index=0)).to_pylist()
    assert [e["length"] for e in episodes] == [9] * 5
    assert table["episode_index"] == [i for i in range(5) for _ in range(9)]
    assert table["frame_index"] == list(range(9)) * 5

    decoded = _frames(root, info)
    original = np.stack([s["image"] for s in steps])
    assert decoded.shape == original.shape
    per_frame = [_psnr(d, o) for d, o in zip(decoded, original, strict=True)]
    overall = _psnr(decoded, original)
    print(f"round trip: {len(steps)} frames, PSNR {overall:.1f} dB overall, worst frame {min(per_frame):.1f} dB")
    assert min(per_frame) > 38.0  # x264 4:4:4 at crf 10 on 48x48 frames; a frame out of place scores ~15 dB
    shifted = [_psnr(d, o) for d, o in zip(decoded[1:], original[:-1], strict=True)]
    assert max(shifted) < min(per_frame)  # each decoded frame matches its own step best


def test_lost_message_splits_the_episode(tmp_path: Path) -> None:
    steps = _write_bag(tmp_path / "a", episodes=1, horizon=8, seed=0, skip=(0, 4))
    info = export([tmp_path / "a"], tmp_path / "ds")
    lr.validate_dataset(tmp_path / "ds")
    episodes = pq.read_table(tmp_path / "ds" / lr.EPISODES_PATH.format(chunk_index=0, file_index=0)).to_pylist()
    assert [e["length"] for e in episodes] == [4, 4] and info["total_frames"] == len(steps) == 8
    source = json.loads((tmp_path / "ds" / "meta" / "rig_source.json").read_text())
    assert source["episodes_split_at_gaps"] == 1


def _empty(tmp_path: Path) -> list[Path]:
    writer = BagWriter(tmp_path / "empty")
    writer.add_topic(EXPERIENCE_TOPIC, "rig_interfaces/msg/ExperienceStep")
    writer.close()
    return [tmp_path / "empty"]


def _no_experience(tmp_path: Path) -> list[Path]:
    writer = BagWriter(tmp_path / "chatter")
    writer.add_topic("/chatter", "std_msgs/msg/String")
    writer.write("/chatter", 1, serialize_message(String(data="hi")))
    writer.close()
    return [tmp_path / "chatter"]


def _no_images(tmp_path: Path) -> list[Path]:
    writer = BagWriter(tmp_path / "blind")
    writer.add_topic(EXPERIENCE_TOPIC, "rig_interfaces/msg/ExperienceStep")
    msg = step_message(np.zeros((48, 48, 3), np.uint8), np.zeros(2), np.zeros(2), 0, 0, STAMP0)
    msg.image.height = msg.image.width = 0
    msg.image.data = []
    writer.write(EXPERIENCE_TOPIC, STAMP0, serialize_message(msg))
    writer.close()
    return [tmp_path / "blind"]


BAD = {
    "empty bag": (_empty, "no messages"),
    "no experience topic": (_no_experience, f"topic {EXPERIENCE_TOPIC} is missing"),
    "no image": (_no_images, "carries no image"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_bag_gives_one_line_and_writes_nothing(case: str, tmp_path: Path) -> None:
    make, text = BAD[case]
    bags = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(BagError) as err:
        export(bags, tmp_path / "ds")
    assert text in str(err.value) and str(bags[0]) in str(err.value) and "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no dataset, no partial directory left


def test_existing_dataset_is_not_touched(tmp_path: Path, ros_env: dict[str, str]) -> None:
    _write_bag(tmp_path / "a", episodes=1, horizon=4, seed=0)
    export([tmp_path / "a"], tmp_path / "ds")
    files = {p: p.read_bytes() for p in (tmp_path / "ds").rglob("*") if p.is_file()}
    with pytest.raises(ExportError, match="already holds a LeRobot dataset"):
        export([tmp_path / "a"], tmp_path / "ds")
    res = subprocess.run([sys.executable, "-m", "rig_trainer.export_lerobot", str(tmp_path / "a"), "--out",
                          str(tmp_path / "ds")], capture_output=True, text=True, timeout=120, env=ros_env)
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith("export_lerobot: ") and "already holds a LeRobot dataset" in res.stderr
    assert {p: p.read_bytes() for p in (tmp_path / "ds").rglob("*") if p.is_file()} == files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "ds"]
