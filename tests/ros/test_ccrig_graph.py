"""CC-RIG through the graph (issue 12): with CC-VAE weights, the episode node conditions each episode's imagined
goal on that episode's first frame s0, the encoder encodes every frame of the episode with s0, and the policy
acts and records experience in that context. Lock-step Multi-colour Pusher (a new puck colour per episode)."""

from __future__ import annotations

import numpy as np
from conftest import start_nodes, stop_all
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from rig_core.agent import RIGAgent
from rig_core.checkpoint import policy_bytes
from rig_core.config import default_config
from rig_core.policy_weights import load_policy_weights
from rig_interfaces.msg import ExperienceStep, Goal, Weights
from rig_runtime.messages import image_to_rgb, stamp_ns

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
RELIABLE = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
EPISODES, HORIZON = 3, 4


def ccvae_weights() -> bytes:
    agent = RIGAgent(default_config("color_pusher", replay_capacity=1000, vae={"model": "ccvae"}))
    agent.vae_version = 1  # deployed weights: the policy runs its actor on (z̄, z̄_g)
    return policy_bytes(agent, 1)


def test_goals_latents_and_steps_carry_each_episodes_first_frame(probe, ros_env, tmp_path):
    data = ccvae_weights()
    weights_pub = probe.node.create_publisher(Weights, "/trainer/weights", LATCHED)
    weights_pub.publish(Weights(kind="policy", version=1, safetensors=data))
    probe.listen("/episode/goal", Goal, qos=LATCHED)
    probe.listen("/episode/context", Header, qos=LATCHED)
    probe.listen("/policy/experience", ExperienceStep, qos=RELIABLE)
    overrides = {"sim_node": {"env": "color_pusher"},
                 "episode_node": {"horizon": HORIZON, "num_episodes": EPISODES, "wait_for_trainer": False}}
    procs = start_nodes("sim_reacher_lockstep.yaml", overrides, ros_env, tmp_path,
                        only=["sim_node", "encoder_node", "policy_node", "episode_node"])
    try:
        probe.wait_for(lambda: sum(m.is_last for m in probe.messages("/policy/experience")) >= EPISODES, 180,
                       f"{EPISODES} episodes of experience")
    finally:
        codes = stop_all(procs)
    assert all(c == 0 for c in codes.values()), codes

    vae = load_policy_weights(data).vae
    cdim = vae.context_dim
    steps = probe.messages("/policy/experience")
    goals = {g.episode: g for g in probe.messages("/episode/goal")}
    contexts = []
    for episode in range(1, EPISODES + 1):
        ep = sorted((s for s in steps if s.episode == episode), key=lambda s: s.t)
        assert [s.t for s in ep] == list(range(HORIZON + 1)), f"episode {episode}: steps {[s.t for s in ep]}"
        s0 = image_to_rgb(ep[0].image)
        goal = np.asarray(goals[episode].latent, np.float32)
        assert stamp_ns(goals[episode].header.stamp) == stamp_ns(ep[0].header.stamp)  # stamped with s0
        z0, _ = vae.encode(s0[None], s0[None])
        zc = z0[0, -cdim:]
        np.testing.assert_allclose(goal[-cdim:], zc, atol=1e-5)  # z̄_g = (z_g, e0(s0))
        assert goal.shape == (vae.latent_dim,) and np.linalg.norm(goal[:-cdim]) > 0.5  # z_g drawn from N(0, I)
        frames = np.stack([image_to_rgb(s.image) for s in ep])
        expected, _ = vae.encode(frames, s0[None])
        np.testing.assert_allclose(np.stack([s.latent for s in ep]), expected, atol=1e-4)  # every frame with s0
        for s in ep:
            np.testing.assert_array_equal(np.asarray(s.goal, np.float32), goal)
        contexts.append(zc)
    for a in range(EPISODES):  # a new puck colour each episode: a new context each episode
        for b in range(a + 1, EPISODES):
            assert np.linalg.norm(contexts[a] - contexts[b]) > 1e-3
