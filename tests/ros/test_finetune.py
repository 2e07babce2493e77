"""Online fine-tuning through the graph: trainer_node started from offline_train's output (init_checkpoint)
with the demo bag in its replay (demo_bags). Its first weights are the offline policy exactly, later weights
carry on from it after online gradient steps, and its checkpoint's replay holds the demos flagged is_demo
next to the online steps."""

from __future__ import annotations

import json

import numpy as np
from conftest import start_nodes, stop_all
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from safetensors.numpy import load_file
from safetensors.torch import load
from std_msgs.msg import String

from rig_interfaces.msg import ExperienceStep, Weights
from rig_runtime.processes import CLEAN_EXITS
from rig_trainer import offline_train
from rig_trainer.sim_demo_bag import write_demo_bag

LATCHED = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
EPISODES, HORIZON = 3, 10


def actor(data: bytes) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in load(bytes(data)).items() if k.startswith("actor.")}


def test_trainer_finetunes_from_offline_checkpoint(probe, ros_env, tmp_path):
    bag, offline, ckpt = tmp_path / "demos", tmp_path / "offline", tmp_path / "ckpt"
    write_demo_bag(bag, EPISODES, "reacher", horizon=HORIZON)
    assert offline_train.main([str(bag), "--out", str(offline), "--algo", "td3_bc", "--steps", "20", "--vae-batches", "10",
                               "--hidden", "32", "32", "--latent-dim", "4", "--batch-size", "32", "--threads", "1"]) == 0
    offline_actor = actor((offline / "policy.safetensors").read_bytes())
    probe.listen("/trainer/weights", Weights, qos=LATCHED)
    probe.listen("/trainer/metrics", String)
    probe.listen("/policy/experience", ExperienceStep, qos=QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE))
    overrides = {
        "sim_node": {"env": "reacher"},
        "episode_node": {"horizon": 15},
        "trainer_node": {"env": "reacher", "init_checkpoint": str(offline), "demo_bags": str(bag), "publish_every": 10,
                         "updates_per_step": 1.0, "replay_capacity": 2000, "checkpoint_dir": str(ckpt),
                         "config_overrides": json.dumps({"td3": {"batch_size": 32}})},
    }
    procs = start_nodes("sim_pusher.yaml", overrides, ros_env, tmp_path)
    try:
        probe.wait_for(lambda: any(m.grad_steps >= 20 for m in probe.messages("/trainer/weights")), 120,
                       "fine-tuned weights (20 gradient steps)")
        weights = sorted(probe.messages("/trainer/weights"), key=lambda m: m.version)
        first, last = weights[0], weights[-1]
        # Weights are latched with depth 1: a probe that matched after version 2 was out sees only the newest.
        # When it did see the trainer's first weights, they are the offline actor bit for bit.
        if first.grad_steps == 0:
            start = actor(first.safetensors)
            assert all(np.array_equal(start[k], offline_actor[k]) for k in offline_actor), "did not start from the offline actor"
        tuned = actor(last.safetensors)
        assert last.grad_steps >= 20
        change = sum(np.abs(tuned[k] - offline_actor[k]).sum() for k in offline_actor) / sum(
            np.abs(v).sum() for v in offline_actor.values())
        print(f"fine-tuned actor: {last.grad_steps} gradient steps, relative change {change:.3f}")
        assert 0 < change < 0.5, "fine-tuned actor did not carry on from the offline one"
        online = [m for m in probe.messages("/policy/experience") if m.policy_version >= 1]
        assert online and not any(m.is_demo for m in online)
    finally:
        codes = stop_all(procs)
    # 0, or the teardown alarm after a clean close (checkpoint written, checked below): rig_runtime.node_runner
    assert codes["trainer_node"] in CLEAN_EXITS, procs["trainer_node"].log_path.read_text()[-3000:]
    replay = load_file(str(ckpt / "replay.safetensors"))
    demos, valid = replay["is_demo"], replay["valid"]
    assert demos.sum() == EPISODES * HORIZON, f"{demos.sum()} demo transitions in the replay"
    assert (valid & ~demos).sum() > 0, "no online transitions next to the demos"
    assert "fine-tuning from td3_bc checkpoint" in procs["trainer_node"].log_path.read_text()
