"""CC-RIG through the graph (issue 12): the trainer learns a CC-VAE from the stream, the episode node conditions
each episode's imagined goal on that episode's first frame s0, the encoder encodes every frame of the episode with
s0, and the policy acts and records experience in that context. Lock-step Multi-colour Pusher (a new puck colour per
episode), each episode on the weights the trainer published before it."""

from __future__ import annotations

import json

import numpy as np
from conftest import start_nodes_heard, stop_all
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from rig_core.policy_weights import load_policy_weights
from rig_interfaces.msg import ExperienceStep, Goal, Weights
from rig_runtime.messages import image_to_rgb, stamp_ns

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
RELIABLE = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
GOALS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
EPISODES, HORIZON = 4, 4


def test_goals_latents_and_steps_carry_each_episodes_first_frame(probe, ros_env, tmp_path):
    probe.listen("/trainer/weights", Weights, qos=QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                                                             durability=DurabilityPolicy.TRANSIENT_LOCAL))
    probe.listen("/episode/goal", Goal, qos=GOALS)  # a goal every 4 steps: a depth-1 reader drops some under load
    probe.listen("/policy/experience", ExperienceStep, qos=RELIABLE)
    probe.listen("/policy/status", String)  # on a timeout the message says why the policy held still
    overrides = {"sim_node": {"env": "color_pusher"},
                 "episode_node": {"horizon": HORIZON, "num_episodes": EPISODES},
                 "trainer_node": {"env": "color_pusher", "config_overrides": json.dumps({"vae": {"model": "ccvae"}}),
                                  "exploration_steps": 2 * HORIZON, "vae_pretrain_batches": 5, "replay_capacity": 1000,
                                  "checkpoint_dir": str(tmp_path / "ckpt")}}
    procs = start_nodes_heard("sim_reacher_lockstep.yaml", overrides, ros_env, tmp_path, probe, "trainer_node",
                              ["/episode/goal", "/policy/experience"], held_until=("/trainer/weights",))
    try:
        probe.wait_for(lambda: sum(m.is_last for m in probe.messages("/policy/experience")) >= EPISODES, 180,
                       f"{EPISODES} episodes of experience")
    finally:
        codes = stop_all(procs)
    assert all(c == 0 for c in codes.values()), codes

    weights = {m.version: load_policy_weights(bytes(m.safetensors)) for m in probe.messages("/trainer/weights")}
    steps = probe.messages("/policy/experience")
    goals = {g.episode: g for g in probe.messages("/episode/goal")}
    contexts = []
    assert any(weights[g.vae_version].vae_version for g in goals.values()), "no episode ran on a trained CC-VAE"
    for episode in range(1, EPISODES + 1):
        vae = weights[goals[episode].vae_version].vae
        cdim = vae.context_dim
        ep = sorted((s for s in steps if s.episode == episode), key=lambda s: s.t)
        assert [s.t for s in ep] == list(range(HORIZON + 1)), f"episode {episode}: steps {[s.t for s in ep]}"
        s0 = image_to_rgb(ep[0].image)
        goal = np.asarray(goals[episode].latent, np.float32)
        assert stamp_ns(goals[episode].header.stamp) == stamp_ns(ep[0].header.stamp)  # stamped with s0
        z0, _ = vae.encode(s0[None], s0[None])
        zc = z0[0, -cdim:]
        np.testing.assert_allclose(goal[-cdim:], zc, atol=1e-5)  # z̄_g = (z_g, e0(s0))
        assert goal.shape == (vae.latent_dim,) and np.linalg.norm(goal[:-cdim]) > 0.5  # z_g drawn from N(0, I)
        for s in ep:  # every frame encoded with s0 (by the weights the encoder had; the VAE changes between episodes)
            expected, _ = weights[s.vae_version].vae.encode(image_to_rgb(s.image)[None], s0[None])
            np.testing.assert_allclose(np.asarray(s.latent, np.float32), expected[0], atol=1e-4)
            np.testing.assert_array_equal(np.asarray(s.goal, np.float32), goal)
        contexts.append(zc)
    for a in range(EPISODES):  # a new puck colour each episode: a new context each episode
        for b in range(a + 1, EPISODES):
            assert np.linalg.norm(contexts[a] - contexts[b]) > 1e-3
