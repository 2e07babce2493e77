"""Probe run on the robot's host (inside its network namespace) by test_netns: what crosses the link from the
learner. Writes JSON: experience steps seen, the highest policy version they were taken with, the experience
rate over the last `--window` s, the learner's latest metrics, and per weights message published after the
probe joined: version, bytes and latency (arrival − the trainer's wall-clock stamp; both hosts share the clock).

    python netns_probe.py --out result.json --want-version 3 --timeout 120 [--window 10]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from rig_interfaces.msg import ExperienceStep, Weights
from rig_runtime.messages import stamp_ns
from rig_runtime.qos import LATCHED_QOS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--want-version", type=int, default=3, help="stop once the policy acts on this version")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    rclpy.init()
    node = rclpy.create_node("netns_probe")
    steps: list[tuple[float, int]] = []
    weights: list[dict] = []
    metrics: list[dict] = []
    joined_ns = time.time_ns()

    def on_weights(msg: Weights) -> None:
        sent = stamp_ns(msg.header.stamp)
        if sent > joined_ns:  # not the latched message from before the probe joined
            weights.append({"version": int(msg.version), "bytes": len(msg.safetensors),
                            "latency_ms": (time.time_ns() - sent) / 1e6})

    node.create_subscription(ExperienceStep, "/policy/experience",
                             lambda m: steps.append((time.monotonic(), int(m.policy_version))),
                             QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(Weights, "/trainer/weights", on_weights, LATCHED_QOS)
    node.create_subscription(String, "/trainer/metrics", lambda m: metrics.append(json.loads(m.data)), 10)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and not (steps and max(v for _, v in steps) >= args.want_version):
        rclpy.spin_once(node, timeout_sec=0.1)
    end = time.monotonic() + args.window
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    recent = [t for t, _ in steps if t >= end - args.window]
    rate = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 2 else 0.0
    args.out.write_text(json.dumps({"steps": len(steps), "max_policy_version": max((v for _, v in steps), default=0),
                                    "experience_rate": rate, "weights": weights,
                                    "metrics": metrics[-1] if metrics else None}))
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
