"""The whole sim graph as separate processes over DDS: rates, the arm moves, trainer weights reach the
policy; then faults: trainer killed (policy goes on), trainer restarted (resumes from its checkpoint),
encoder killed (zero velocity within 0.3 s)."""

from __future__ import annotations

import json
import time

import numpy as np
from conftest import start_nodes, stop_all
from geometry_msgs.msg import TwistStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import String

from rig_interfaces.msg import ExperienceStep, Latent, SimState, Weights
from rig_runtime.messages import stamp_ns

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def rate(timed: list, since: float) -> float:
    times = [t for t, _ in timed if t >= since]
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else 0.0


def test_sim_graph_end_to_end_and_faults(probe, ros_env, tmp_path):
    ckpt = tmp_path / "ckpt"
    overrides = {
        "sim_node": {"env": "reacher"},
        "episode_node": {"horizon": 25},
        "trainer_node": {"env": "reacher", "exploration_steps": 20, "vae_pretrain_batches": 20, "publish_every": 10,
                         "replay_capacity": 2000, "checkpoint_dir": str(ckpt), "checkpoint_every": 2.0,
                         "updates_per_step": 1.0},
    }
    probe.listen("/camera/image_raw", Image, sensor=True)
    probe.listen("/perception/latent", Latent)
    probe.listen("/robot/ee_velocity_cmd", TwistStamped)
    probe.listen("/policy/experience", ExperienceStep, qos=QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE))
    probe.listen("/policy/status", String)
    probe.listen("/sim/state", SimState)
    probe.listen("/trainer/weights", Weights, qos=LATCHED)
    procs = start_nodes("sim_pusher.yaml", overrides, ros_env, tmp_path)
    try:
        # Trainer weights after VAE pre-training reach the policy (experience steps carry the version).
        probe.wait_for(lambda: any(m.policy_version >= 3 for m in probe.messages("/policy/experience")), 90,
                       "policy acting on trained weights (version >= 3)")
        window = time.monotonic()
        time.sleep(3.0)
        rates = {t: rate(probe.timed(t), window) for t in ("/camera/image_raw", "/perception/latent",
                                                             "/robot/ee_velocity_cmd", "/policy/experience")}
        print("rates (Hz):", {k: round(v, 2) for k, v in rates.items()})
        for topic, hz in rates.items():
            assert 7.0 <= hz <= 13.0, f"{topic} at {hz:.1f} Hz, want ~10"
        commands = [m for t, m in probe.timed("/robot/ee_velocity_cmd") if t >= window]
        speeds = np.array([[c.twist.linear.x, c.twist.linear.y] for c in commands])
        assert np.all(np.isfinite(speeds)) and np.abs(speeds).max() <= 0.25 + 1e-9 and np.abs(speeds).max() > 0.01
        hands = np.array([m.state[:2] for t, m in probe.timed("/sim/state") if t >= window])
        assert np.ptp(hands, axis=0).max() > 0.01, "commands did not move the simulated arm"

        # Kill the trainer: the policy keeps acting on its last weights.
        versions_before = max(m.version for m in probe.messages("/trainer/weights"))
        probe.wait_for(lambda: (ckpt / "agent.safetensors").is_file(), 10, "a trainer checkpoint")
        procs["trainer_node"].kill()
        killed = time.monotonic()
        time.sleep(2.0)
        steps = [m for t, m in probe.timed("/policy/experience") if t > killed + 0.5]
        assert len(steps) >= 10, "policy stopped when the trainer died"
        moving = [m for t, m in probe.timed("/robot/ee_velocity_cmd") if t > killed + 0.5]
        assert any(abs(c.twist.linear.x) + abs(c.twist.linear.y) > 0 for c in moving)

        # Restart it: it resumes from the checkpoint and its new weights reach the policy.
        restarted = start_nodes("sim_pusher.yaml", overrides, ros_env, tmp_path / "restart", only=["trainer_node"])
        procs["trainer_node"] = restarted["trainer_node"]
        probe.wait_for(lambda: "resumed from" in procs["trainer_node"].output(), 30, "trainer resume log")
        probe.wait_for(lambda: any(m.policy_version > versions_before for m in probe.messages("/policy/experience")),
                       60, "policy acting on post-restart weights")
        # The policy may get the restarted trainer's first weights before this probe's subscription matches it.
        probe.wait_for(lambda: any(m.version > versions_before for m in probe.messages("/trainer/weights")), 30,
                       "the restarted trainer's weights at the probe")
        after = [m for m in probe.messages("/trainer/weights") if m.version > versions_before]
        assert after[0].grad_steps > 0, "restarted trainer did not continue from its gradient steps"

        # Kill the encoder: zero velocity within 0.3 s. Timed on the policy's own command stamps (its decision
        # time, wall clock in realtime mode), not on when this probe happens to receive them: on a loaded box the
        # probe can lag by a second, which says nothing about the arm.
        procs["encoder_node"].kill()
        killed_ns = time.time_ns()
        probe.wait_for(lambda: any(stamp_ns(m.header.stamp) > killed_ns + 1.0e9
                                   for m in probe.messages("/robot/ee_velocity_cmd")), 20,
                       "commands stamped 1 s after the encoder was killed")
        commands = sorted(((stamp_ns(m.header.stamp), m) for m in probe.messages("/robot/ee_velocity_cmd")),
                          key=lambda c: c[0])
        moving = [t for t, m in commands if m.twist.linear.x != 0 or m.twist.linear.y != 0]
        stopped = [t for t, m in commands if t > max(moving, default=0)]
        assert stopped, "no zero-velocity command after the encoder died"
        last_image = max(stamp_ns(m.header.stamp) for m in probe.messages("/perception/latent"))
        delay, from_kill = (stopped[0] - last_image) / 1e9, (stopped[0] - killed_ns) / 1e9
        print(f"zero velocity {delay * 1000:.0f} ms after the last encoded image, {from_kill * 1000:.0f} ms after the kill")
        assert from_kill <= 0.3 and delay <= 0.3
        assert all(t <= killed_ns + 0.3e9 for t in moving), "the arm was still commanded to move 0.3 s after the kill"
        reasons = {json.loads(m.data)["reason"] for m in probe.messages("/policy/status")
                   if json.loads(m.data)["tick_ns"] >= stopped[0]}
        # Held still because no fresh latent arrives; an episode may end in that second, and the next one
        # then has no latent of its own yet: the same fault, reported by the episode-aware check.
        latent_faults = {"stale latent", "latent older than the episode"}
        assert reasons & latent_faults and reasons <= latent_faults | {"episode done"}, reasons
    finally:
        codes = stop_all(procs)
    assert codes["policy_node"] == 0 and codes["sim_node"] == 0, {n: p.output()[-2000:] for n, p in procs.items()}
