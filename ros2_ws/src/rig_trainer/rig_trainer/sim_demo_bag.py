"""Scripted demonstrations in sawyer_sim written straight to a bag (no graph): for tests, benchmarks and
trying offline training without a robot. A noisy P-controller on the true hand position drives the hand
to each episode's goal; every step is a `rig_interfaces/ExperienceStep` on /policy/experience.

    python -m rig_trainer.sim_demo_bag bags/sim_demos --episodes 20 [--env reacher]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rclpy.serialization import serialize_message

from rig_interfaces.msg import ExperienceStep
from rig_trainer.bags import EXPERIENCE_TOPIC, BagWriter


def step_message(image: np.ndarray, action: np.ndarray | None, hand: np.ndarray, episode: int, t: int,
                 stamp_ns: int, is_demo: bool = True, goal: np.ndarray | None = None) -> ExperienceStep:
    msg = ExperienceStep(episode=episode, t=t, is_demo=is_demo, is_last=action is None,
                         action=[] if action is None else [float(a) for a in action],
                         goal=[] if goal is None else [float(g) for g in goal])
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 10**9)
    msg.image.height, msg.image.width = image.shape[:2]
    msg.image.encoding, msg.image.step = "rgb8", image.shape[1] * 3
    msg.image.data = image.tobytes()
    msg.ee_pose.position.x, msg.ee_pose.position.y, msg.ee_pose.position.z = float(hand[0]), float(hand[1]), 0.06
    msg.ee_pose.orientation.w = 1.0
    return msg


def write_demo_bag(path: Path, episodes: int, env_name: str = "reacher", image_size: int = 48, seed: int = 0,
                   noise: float = 0.3, gain: float = 8.0, storage: str = "mcap", horizon: int | None = None) -> int:
    """Record `episodes` scripted episodes; returns the number of messages written."""
    import sawyer_sim

    env = sawyer_sim.make(env_name, image_size=image_size, seed=seed, max_episode_steps=horizon)
    rng = np.random.default_rng(seed)
    writer = BagWriter(path, storage)
    writer.add_topic(EXPERIENCE_TOPIC, "rig_interfaces/msg/ExperienceStep")
    stamp = 1_700_000_000 * 10**9
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        t, done = 0, False
        while not done:
            action = np.clip(gain * (obs["goal_state"][:2] - obs["state"][:2]) + rng.normal(0, noise, 2), -1, 1)
            msg = step_message(obs["image"], action, obs["state"], ep, t, stamp)
            writer.write(EXPERIENCE_TOPIC, stamp, serialize_message(msg))
            obs, _, terminated, truncated, _ = env.step(action)
            t, stamp, done = t + 1, stamp + 100_000_000, terminated or truncated
        writer.write(EXPERIENCE_TOPIC, stamp, serialize_message(step_message(obs["image"], None, obs["state"], ep, t, stamp)))
    writer.close()
    env.close()
    return writer.message_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--env", default="reacher")
    parser.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = write_demo_bag(args.out, args.episodes, args.env, seed=args.seed, storage=args.storage)
    print(f"wrote {n} experience steps to {args.out}")


if __name__ == "__main__":
    main()
