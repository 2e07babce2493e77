"""Offline datasets from bags: experience steps (images, actions, ee poses, demo flags, episodes) read
from one or many bags, then encoded and relabeled by `rig_core.offline.TrajectoryDataset`.

Each `rig_interfaces/ExperienceStep` is one observation; step t and step t + 1 of the same episode of the
same bag make a transition (obs_t, action_t, obs_{t+1}); a gap in t (lost messages) splits the episode.
Goals are relabeled from the future of the same trajectory by rig_core's relabeling code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rig_core.offline import TrajectoryDataset
from rig_trainer.bags import EXPERIENCE_TOPIC, BagError, iter_raw, make_typestore, open_bag

STEP_TYPE = "rig_interfaces/msg/ExperienceStep"
ExperienceStepView = Any  # a rosbags-decoded rig_interfaces/msg/ExperienceStep (same fields as the rclpy class)


@dataclass
class StepData:
    """Per-step arrays of all bags, in bag order then time order."""

    images: np.ndarray  # (N, S, S, 3) uint8
    actions: np.ndarray  # (N, A) float32; zeros on is_last steps
    ee_pos: np.ndarray  # (N, 3) float32
    is_demo: np.ndarray  # (N,) bool
    episode: np.ndarray  # (N,) int64, unique across bags
    t: np.ndarray  # (N,) int64
    is_last: np.ndarray  # (N,) bool
    bags: list[str]

    def __len__(self) -> int:
        return len(self.t)


def _rgb(msg: object, bag: Path, topic: str) -> np.ndarray:
    img = msg.image
    if img.encoding == "rgb8" and img.step == img.width * 3:
        return np.asarray(img.data, np.uint8).reshape(img.height, img.width, 3)
    try:
        from rosbags.image import message_to_cvimage

        return np.ascontiguousarray(message_to_cvimage(img, "rgb8"))
    except Exception as err:
        raise BagError(f"{bag}: topic {topic}: cannot decode image with encoding {img.encoding!r} ({err})") from None


def read_steps(bags: Sequence[str | Path], topic: str = EXPERIENCE_TOPIC) -> Iterator[tuple[int, ExperienceStepView, np.ndarray]]:
    """(bag index, decoded ExperienceStep, rgb frame) of every step of `bags`, in bag order then time order.

    Raises BagError naming the bag and topic for a missing/unknown/mistyped topic, an empty bag, undecodable
    messages, steps without an image, and image sizes that differ within the data.
    """
    if not bags:
        raise BagError("no bags given")
    typestore = make_typestore()
    shape: tuple[int, int] | None = None
    for b, bag in enumerate(Path(p) for p in bags):
        count = 0
        with open_bag(bag) as reader:
            types = {c.topic: c.msgtype for c in reader.connections}
            if not types:
                raise BagError(f"{bag}: topic {topic}: the bag is empty (no messages)")
            if topic not in types:
                raise BagError(f"{bag}: topic {topic} is missing (bag has {', '.join(sorted(types)) or 'no topics'})")
            if types[topic] != STEP_TYPE:
                raise BagError(f"{bag}: topic {topic} has type {types[topic]}, expected {STEP_TYPE}")
            for _, _, _, data in iter_raw(reader, bag, [topic]):
                try:
                    msg = typestore.deserialize_cdr(data, STEP_TYPE)
                except Exception as err:
                    raise BagError(f"{bag}: topic {topic}: undecodable message ({type(err).__name__}: {err})") from None
                if not msg.image.height or not msg.image.width or not len(msg.image.data):
                    raise BagError(f"{bag}: topic {topic}: step episode {msg.episode} t {msg.t} carries no image "
                                   "(the bag has no camera frames)")
                rgb = _rgb(msg, bag, topic)
                if shape is None:
                    shape = rgb.shape[:2]
                elif rgb.shape[:2] != shape:
                    raise BagError(f"{bag}: topic {topic}: image size {rgb.shape[1]}x{rgb.shape[0]} at episode "
                                   f"{msg.episode} t {msg.t} differs from {shape[1]}x{shape[0]} (mixed image sizes)")
                count += 1
                yield b, msg, rgb
        if count == 0:
            raise BagError(f"{bag}: topic {topic} has no messages (empty bag)")


def load_steps(bags: Sequence[str | Path], image_size: int | None = None, topic: str = EXPERIENCE_TOPIC) -> StepData:
    """Read every experience step of `bags` (`read_steps`); frames resized to `image_size` (None: keep).

    Raises BagError naming the bag and topic for what `read_steps` rejects and for action sizes that
    differ within the data.
    """
    images, actions, poses, demo, episode, ts, last = [], [], [], [], [], [], []
    episode_ids: dict[tuple[int, int], int] = {}
    action_dim: int | None = None
    for b, msg, rgb in read_steps(bags, topic):
        if image_size is not None and rgb.shape[:2] != (image_size, image_size):
            rgb = cv2.resize(rgb, (image_size, image_size), interpolation=cv2.INTER_AREA)
        action = np.asarray(msg.action, np.float32)
        if not msg.is_last:
            if action_dim is None:
                action_dim = len(action)
            elif len(action) != action_dim:
                raise BagError(f"{bags[b]}: topic {topic}: action of size {len(action)} at episode {msg.episode} "
                               f"t {msg.t}, expected {action_dim}")
        images.append(rgb)
        actions.append(action)
        p = msg.ee_pose.position
        poses.append((p.x, p.y, p.z))
        demo.append(bool(msg.is_demo))
        episode.append(episode_ids.setdefault((b, int(msg.episode)), len(episode_ids)))
        ts.append(int(msg.t))
        last.append(bool(msg.is_last))
    a = action_dim or 0
    acts = np.zeros((len(ts), a), np.float32)
    for i, action in enumerate(actions):
        if not last[i]:
            acts[i] = action
    return StepData(np.stack(images), acts, np.asarray(poses, np.float32), np.asarray(demo), np.asarray(episode, np.int64),
                    np.asarray(ts, np.int64), np.asarray(last), [str(b) for b in bags])


def transitions(steps: StepData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index of obs_t, index of obs_{t+1}, segment id) of every transition; segments are runs without gaps."""
    order = np.lexsort((steps.t, steps.episode))
    obs, nxt, seg = [], [], []
    segment = -1
    prev_pair_end = -1
    for k in range(len(order) - 1):
        i, j = order[k], order[k + 1]
        if steps.episode[i] != steps.episode[j] or steps.t[j] != steps.t[i] + 1 or steps.is_last[i]:
            continue
        if i != prev_pair_end:
            segment += 1
        obs.append(i)
        nxt.append(j)
        seg.append(segment)
        prev_pair_end = j
    return np.asarray(obs, np.int64), np.asarray(nxt, np.int64), np.asarray(seg, np.int64)


def build_dataset(steps: StepData, encode: Callable[[np.ndarray], np.ndarray]) -> TrajectoryDataset:
    """Encode every frame once (`encode`: uint8 frames → latents) and build the relabeling dataset."""
    obs, nxt, seg = transitions(steps)
    if len(obs) == 0:
        raise BagError(f"{', '.join(steps.bags)}: no transitions (need consecutive steps t, t+1 of an episode)")
    z = encode(steps.images)
    return TrajectoryDataset(z[obs], steps.actions[obs], z[nxt], steps.is_demo[obs], seg)
