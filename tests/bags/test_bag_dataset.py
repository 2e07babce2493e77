"""Bad input → one-line BagError naming the bag and topic, nothing written; and offline training from a
bag of scripted sim demos beats a random policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rclpy.serialization import serialize_message
from std_msgs.msg import String

from rig_core.policy_weights import load_policy_weights
from rig_trainer.bag_dataset import build_dataset, load_steps, transitions
from rig_trainer.bags import EXPERIENCE_TOPIC, BagError, BagWriter
from rig_trainer.sim_demo_bag import step_message, write_demo_bag


def _bag(path: Path, sizes: list[int], episodes: int = 2, steps: int = 5) -> Path:
    writer = BagWriter(path)
    writer.add_topic(EXPERIENCE_TOPIC, "rig_interfaces/msg/ExperienceStep")
    rng = np.random.default_rng(0)
    stamp = 10**9
    for ep in range(episodes):
        for t in range(steps + 1):
            size = sizes[min(t, len(sizes) - 1)]
            image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            action = None if t == steps else rng.uniform(-1, 1, 2)
            writer.write(EXPERIENCE_TOPIC, stamp, serialize_message(step_message(image, action, np.zeros(2), ep, t, stamp)))
            stamp += 10**8
    writer.close()
    return path


def test_good_bag_gives_transitions(tmp_path: Path) -> None:
    steps = load_steps([_bag(tmp_path / "a", [48]), _bag(tmp_path / "b", [48])], image_size=48)
    assert len(steps) == 24 and steps.images.shape == (24, 48, 48, 3) and len(set(steps.episode)) == 4
    obs, nxt, seg = transitions(steps)
    assert len(obs) == 20 and len(set(seg)) == 4 and np.all(steps.t[nxt] == steps.t[obs] + 1)
    data = build_dataset(steps, lambda f: f.reshape(len(f), -1)[:, :4].astype(np.float32))
    assert len(data) == 20 and data.n_demo_transitions == 20


def _truncated(tmp_path: Path) -> Path:
    bag = _bag(tmp_path / "trunc", [48])
    f = next(bag.glob("*.mcap"))
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    return bag


def _corrupt(tmp_path: Path) -> Path:
    bag = _bag(tmp_path / "corrupt", [48])
    f = next(bag.glob("*.mcap"))
    data = bytearray(f.read_bytes())
    data[9:40] = b"\xff" * 31  # header record
    f.write_bytes(bytes(data))
    return bag


def _missing_topic(tmp_path: Path) -> Path:
    writer = BagWriter(tmp_path / "missing")
    writer.add_topic("/chatter", "std_msgs/msg/String")
    writer.write("/chatter", 1, serialize_message(String(data="hi")))
    writer.close()
    return tmp_path / "missing"


def _wrong_type(tmp_path: Path) -> Path:
    writer = BagWriter(tmp_path / "wrong")
    writer.add_topic(EXPERIENCE_TOPIC, "std_msgs/msg/String")
    writer.write(EXPERIENCE_TOPIC, 1, serialize_message(String(data="hi")))
    writer.close()
    return tmp_path / "wrong"


def _empty(tmp_path: Path) -> Path:
    writer = BagWriter(tmp_path / "empty")
    writer.add_topic(EXPERIENCE_TOPIC, "rig_interfaces/msg/ExperienceStep")
    writer.close()
    return tmp_path / "empty"


CASES = {
    "truncated": (_truncated, "unreadable or truncated"),
    "corrupt": (_corrupt, ""),
    "missing topic": (_missing_topic, f"topic {EXPERIENCE_TOPIC} is missing"),
    "unknown type": (_wrong_type, "has type std_msgs/msg/String"),
    "empty": (_empty, "no messages"),
    "mixed sizes": (lambda p: _bag(p / "mixed", [48, 32]), "mixed image sizes"),
    "not a bag": (lambda p: p, "no metadata.yaml"),
    "no such bag": (lambda p: p / "nope", "no such bag"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_names_bag(case: str, tmp_path: Path) -> None:
    make, text = CASES[case]
    bag = make(tmp_path)
    with pytest.raises(BagError) as err:
        load_steps([bag], 48)
    message = str(err.value)
    assert str(bag) in message and text in message and "\n" not in message


def test_unknown_type_cannot_be_recorded(tmp_path: Path) -> None:
    writer = BagWriter(tmp_path / "x")
    with pytest.raises(BagError, match="foo_msgs/msg/Bar, unknown"):
        writer.add_topic("/foo", "foo_msgs/msg/Bar")


def test_offline_train_bad_bag_writes_nothing(tmp_path: Path, ros_env: dict[str, str]) -> None:
    bag = _empty(tmp_path)
    out = tmp_path / "runs" / "o"
    res = subprocess.run([sys.executable, "-m", "rig_trainer.offline_train", str(bag), "--out", str(out), "--steps", "5"],
                         capture_output=True, text=True, timeout=120, env=ros_env)
    assert res.returncode == 1 and str(bag) in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not out.exists() and list((tmp_path / "runs").iterdir()) == []


@pytest.mark.parametrize("device, message", [
    ("cuda", "offline_train: device 'cuda': CUDA is not available"),
    ("cuda:x", "offline_train: device 'cuda:x' is not one of cpu, cuda, cuda:N"),
])
def test_offline_train_without_the_gpu_it_asks_for_writes_nothing(device: str, message: str, tmp_path: Path,
                                                                   ros_env: dict[str, str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "runs" / "o"
    res = subprocess.run([sys.executable, "-m", "rig_trainer.offline_train", str(tmp_path / "no_bag"), "--out", str(out),
                          "--device", device], capture_output=True, text=True, timeout=120, env=ros_env)
    assert res.returncode == 2 and res.stderr.startswith(message) and len(res.stderr.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_offline_train_from_sim_demos_beats_random(tmp_path: Path, ros_env: dict[str, str]) -> None:
    """20 scripted reacher demos → VAE → TD3+BC (small nets) → policy.safetensors; held-out goals in sim."""
    bag = tmp_path / "demos"
    write_demo_bag(bag, episodes=20)
    out = tmp_path / "off"
    res = subprocess.run([sys.executable, "-m", "rig_trainer.offline_train", str(bag), "--out", str(out),
                          "--algo", "td3_bc", "--steps", "800", "--vae-batches", "300", "--latent-dim", "4",
                          "--batch-size", "128", "--hidden", "64", "64", "--eval-env", "reacher",
                          "--eval-episodes", "6", "--threads", "1"], capture_output=True, text=True, timeout=240,
                         env=ros_env)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["dataset"]["transitions"] == 1000
    assert (out / "losses.png").stat().st_size > 1000
    ev = report["eval"]
    assert ev["policy_final_ee_distance"] < 0.7 * ev["random_final_ee_distance"], ev
    weights = load_policy_weights((out / "policy.safetensors").read_bytes())
    assert weights.vae.latent_dim == 4
