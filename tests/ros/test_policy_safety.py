"""policy_node alone, fed by this test: NaN and out-of-range inputs never reach the arm, stale latents and
e-stop give zero velocity, and NaN weights are refused."""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from conftest import start_nodes, stop_all
from geometry_msgs.msg import PoseStamped, TwistStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool, String

from rig_core.agent import RIGAgent
from rig_core.checkpoint import policy_bytes
from rig_core.config import default_config
from rig_interfaces.msg import Goal, Latent, Weights
from rig_runtime.messages import stamp_ns

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
MAX_SPEED, LOW, HIGH = 0.25, np.array([-0.25, 0.45]), np.array([0.25, 0.75])


def weights_msg(version: int, actor_scale: float = 1.0, nan: bool = False) -> Weights:
    agent = RIGAgent(default_config("reacher", replay_capacity=1000))
    agent.vae_version = 1  # a deployed policy: with vae_version 0 the node explores on noise and never runs the actor
    with torch.no_grad():
        net = agent.learner.actor.net
        last = net[-2] if isinstance(net[-1], torch.nn.Tanh) else net[-1]
        last.weight.mul_(actor_scale)
        if nan:
            last.bias.fill_(float("nan"))
    return Weights(kind="policy", version=version, safetensors=policy_bytes(agent, version))


def test_policy_never_sends_unsafe_commands(probe, ros_env, tmp_path):
    node = probe.node
    pubs = {
        "weights": node.create_publisher(Weights, "/trainer/weights", LATCHED),
        "goal": node.create_publisher(Goal, "/episode/goal", LATCHED),
        "estop": node.create_publisher(Bool, "/estop", LATCHED),
        "latent": node.create_publisher(Latent, "/perception/latent", 10),
        "pose": node.create_publisher(PoseStamped, "/robot/ee_pose", 10),
    }
    probe.listen("/robot/ee_velocity_cmd", TwistStamped)
    probe.listen("/policy/status", String)
    procs = start_nodes("sim_pusher.yaml", {"policy_node": {"kp": 20.0, "exploration_sigma": 0.0}}, ros_env, tmp_path,
                        only=["policy_node"])
    state = {"z": np.zeros(4, np.float32), "pos": np.array([0.0, 0.6]), "send": True}

    def feed() -> None:
        now = node.get_clock().now().to_msg()
        if state["send"]:
            latent = Latent(vae_version=1, z=state["z"].tolist(), logvar=[0.0] * 4)
            latent.header.stamp = now
            pubs["latent"].publish(latent)
        pose = PoseStamped()
        pose.header.stamp = now
        pose.pose.position.x, pose.pose.position.y = float(state["pos"][0]), float(state["pos"][1])
        pubs["pose"].publish(pose)

    node.create_timer(0.1, feed)

    # Windows are timed on the policy's own stamps (command header, status tick_ns; wall clock here), never on
    # when this probe receives messages, which lags under load.
    def reasons_since(t0: int) -> set[str]:
        return {s["reason"] for s in map(json.loads, (m.data for m in probe.messages("/policy/status"))) if s["tick_ns"] > t0}

    def commands_since(t0: int) -> np.ndarray:
        return np.array([[m.twist.linear.x, m.twist.linear.y] for m in probe.messages("/robot/ee_velocity_cmd")
                         if stamp_ns(m.header.stamp) > t0])

    def window(seconds: float) -> int:
        """Sleep through a window, wait until the probe holds the policy's output for all of it; its start."""
        t0 = time.time_ns()
        time.sleep(seconds)
        t1 = time.time_ns()
        probe.wait_for(lambda: len(commands_since(t1)) > 0 and reasons_since(t1), 20, "the policy's output to catch up")
        return t0

    def recent() -> int:
        return time.time_ns() - 300_000_000

    try:
        probe.wait_count("/policy/status", 3, 30)
        assert "no goal" in reasons_since(0) or "no weights" in reasons_since(0)
        goal = Goal(episode=1, horizon=0, source="imagined", latent=[0.0] * 4, has_target=True)
        goal.target.x, goal.target.y = 5.0, -5.0  # far outside the workspace, with kp = 20: huge P term
        goal.header.stamp = node.get_clock().now().to_msg()
        pubs["goal"].publish(goal)
        pubs["weights"].publish(weights_msg(1, actor_scale=1000.0))  # saturated actor
        probe.wait_for(lambda: "" in reasons_since(0), 20, "policy acting")
        v = commands_since(window(1.0))
        assert len(v) >= 8 and np.all(np.isfinite(v)) and np.abs(v).max() <= MAX_SPEED + 1e-9
        assert np.abs(v).max() > 0.1
        # At the box edge the command never pushes further out.
        state["pos"] = np.array([0.25, 0.45])
        time.sleep(0.5)
        v = commands_since(window(0.6))
        nxt = state["pos"] + v * 0.1
        assert np.all(nxt >= LOW - 1e-9) and np.all(nxt <= HIGH + 1e-9)
        state["pos"] = np.array([0.0, 0.6])

        # NaN latent → zero.
        state["z"] = np.full(4, np.nan, np.float32)
        time.sleep(0.3)
        t0 = window(0.6)
        assert np.all(commands_since(t0) == 0) and reasons_since(t0) == {"non-finite latent or goal"}
        state["z"] = np.zeros(4, np.float32)

        # NaN weights → zero, never NaN on the wire.
        pubs["weights"].publish(weights_msg(2, nan=True))
        probe.wait_for(lambda: "non-finite action" in reasons_since(recent()), 10, "NaN weights refused")
        assert np.all(commands_since(window(0.5)) == 0)
        pubs["weights"].publish(weights_msg(3, actor_scale=1000.0))
        probe.wait_for(lambda: "" in reasons_since(recent()), 10, "acting again")

        # Latents stop → zero velocity within 0.3 s of the last one.
        state["send"] = False
        stopped_at = time.time_ns()
        window(0.8)
        commands = sorted(((stamp_ns(m.header.stamp), m) for m in probe.messages("/robot/ee_velocity_cmd")), key=lambda c: c[0])
        zero = [t for t, m in commands if t > stopped_at and m.twist.linear.x == 0 and m.twist.linear.y == 0]
        assert zero, "no zero-velocity command after the latents stopped"
        print(f"zero velocity {(zero[0] - stopped_at) / 1e6:.0f} ms after the latents stopped")
        assert zero[0] - stopped_at <= 0.3e9
        assert all(m.twist.linear.x == 0 and m.twist.linear.y == 0 for t, m in commands if t >= zero[0])
        state["send"] = True
        probe.wait_for(lambda: "" in reasons_since(recent()), 10, "acting again")

        # E-stop → zero.
        pubs["estop"].publish(Bool(data=True))
        time.sleep(0.3)
        t0 = window(0.5)
        assert np.all(commands_since(t0) == 0) and reasons_since(t0) == {"e-stop"}
    finally:
        codes = stop_all(procs)
    assert codes["policy_node"] == 0, procs["policy_node"].output()[-3000:]
