"""rig_core.offline.finetune and rig_core.scripted: offline networks load into the RIG agent, demos go into
its replay flagged (and survive a checkpoint), and the scripted demonstrator reaches the goal."""

import dataclasses

import numpy as np
import pytest
import torch

from rig_core.agent import RIGAgent
from rig_core.checkpoint import load_checkpoint, policy_bytes, save_checkpoint
from rig_core.config import TD3Config, default_config
from rig_core.errors import CheckpointError
from rig_core.offline import ALGORITHMS, learner_config_json
from rig_core.offline.finetune import add_demo_episodes, explore, start_from_offline
from rig_core.policy_weights import load_policy_weights
from rig_core.scripted import scripted_action
from rig_core.td3 import TD3


def _agent(hidden=(16, 16)) -> RIGAgent:
    cfg = default_config("reacher", image_size=32, replay_capacity=1000, vae={"latent_dim": 3})
    return RIGAgent(dataclasses.replace(cfg, td3=dataclasses.replace(cfg.td3, hidden_sizes=hidden)))


@pytest.mark.parametrize("algo", ["awac", "iql", "td3_bc"])
def test_start_from_offline_loads_actor_and_critic(algo):
    agent = _agent()
    cls, cfg_cls = ALGORITHMS[algo]
    sizes = {"policy_hidden_sizes": (16, 16), "critic_hidden_sizes": (16, 16)} if algo == "awac" else {"hidden_sizes": (16, 16)}
    learner = cls(6, 2, cfg_cls(**sizes), seed=1)
    tensors = {f"vae.{k}": v for k, v in _agent().vae.state_dict().items()}
    for name, module in learner.modules().items():
        tensors.update({f"{name}.{k}": v for k, v in module.state_dict().items()})
    assert start_from_offline(agent, tensors) == ["vae", "actor", "critic"]
    obs = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    assert np.allclose(agent.learner.actor(torch.from_numpy(obs)).detach().numpy(), learner.act(obs), atol=1e-6)
    assert agent.vae_version == 1
    with pytest.raises(CheckpointError, match="actor"):
        start_from_offline(_agent(hidden=(8,)), tensors)


def test_demos_flagged_in_replay_and_checkpoint(tmp_path):
    agent = _agent()
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    n = add_demo_episodes(agent, [(frames, rng.uniform(-1, 1, (5, 2)), np.ones(5, bool))])
    assert n == 5 and agent.buffer.is_demo.sum() == 5 and agent.buffer.env_steps == 0
    assert np.allclose(agent.buffer.goals[:5], agent.buffer.latents[5])  # rollout goal = final frame
    agent.buffer.start_episode(frames[0], np.zeros(3), np.zeros(3))
    agent.buffer.add_step(np.zeros(2), np.zeros(3), frames[1], np.zeros(3), np.zeros(3))
    save_checkpoint(agent, tmp_path)
    restored = _agent()
    load_checkpoint(restored, tmp_path)
    assert restored.buffer.is_demo.sum() == 5 and len(restored.buffer) == 6


@pytest.mark.parametrize("env_name", ["reacher", "pusher"])
def test_scripted_action_moves_toward_goal(env_name):
    hand, goal = np.array([0.0, 0.5]), np.array([0.1, 0.6])
    if env_name == "reacher":
        action = scripted_action(hand, goal)
        assert np.all(action > 0) and np.all(np.abs(action) <= 1)
    else:  # hand in front of the puck it must push forward: it goes round the puck (sideways, back), not through
        state, target = np.array([0.0, 0.7, 0.0, 0.6]), np.array([0.0, 0.5, 0.0, 0.7])
        action = scripted_action(state, target)
        assert abs(action[0]) > 0.5 and action[1] < 0


@pytest.mark.parametrize("algo", ["awac", "iql", "td3_bc"])
def test_finetuning_continues_the_offline_algorithm_and_resumes_as_it(algo, tmp_path):
    cls, cfg_cls = ALGORITHMS[algo]
    sizes = {"policy_hidden_sizes": (16, 16), "critic_hidden_sizes": (16, 16)} if algo == "awac" else {"hidden_sizes": (16, 16)}
    offline = cls(6, 2, cfg_cls(**sizes, batch_size=32, **({"demo_batch_size": 8} if algo == "td3_bc" else {})), seed=1)
    tensors = {f"vae.{k}": v for k, v in _agent().vae.state_dict().items()}
    for name, module in offline.modules().items():
        tensors.update({f"{name}.{k}": v.clone() for k, v in module.state_dict().items()})
    agent = _agent()
    loaded = start_from_offline(agent, tensors, algo, learner_config_json(offline))
    assert type(agent.learner) is cls and set(loaded) == {"vae", *offline.modules()}
    obs = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    np.testing.assert_allclose(agent.learner.act(obs), offline.act(obs), atol=1e-6)
    rng = np.random.default_rng(0)
    add_demo_episodes(agent, [(rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8), rng.uniform(-1, 1, (5, 2)),
                               np.ones(5, bool))])
    agent.buffer.start_episode(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), np.zeros(3), np.zeros(3))
    for _ in range(40):
        agent.buffer.add_step(rng.uniform(-1, 1, 2), np.zeros(3), rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
                              rng.normal(size=3), np.zeros(3))
    batch, _ = agent.sample_batch(32)
    n_demo = int(batch.is_demo.sum())
    assert n_demo >= 8 if algo == "td3_bc" else 0 <= n_demo <= 32  # TD3+BC: N_D demo rows in every batch
    stats = agent.train(4)  # the algorithm's own update, not TD3's
    assert stats and all(k.startswith(algo + "/") for k in stats)
    assert not np.allclose(agent.learner.act(obs), offline.act(obs))
    # the policy that travels to the robot is the learner's deterministic actor
    weights = load_policy_weights(policy_bytes(agent, 3))
    np.testing.assert_allclose(weights.actor(torch.from_numpy(obs)).detach().numpy(), agent.learner.act(obs), atol=1e-5)
    save_checkpoint(agent, tmp_path)
    restored = _agent()
    load_checkpoint(restored, tmp_path)
    assert type(restored.learner) is cls and restored.learner.updates == agent.learner.updates
    np.testing.assert_allclose(restored.learner.act(obs), agent.learner.act(obs), atol=1e-6)
    assert restored.buffer.pinned == agent.buffer.pinned == 6


def test_exploration_follows_each_algorithm():
    rng = np.random.default_rng(0)
    iql = ALGORITHMS["iql"][0](6, 2, ALGORITHMS["iql"][1](hidden_sizes=(8,)))
    awac = ALGORITHMS["awac"][0](6, 2, ALGORITHMS["awac"][1](policy_hidden_sizes=(8,), critic_hidden_sizes=(8,)))
    td3_bc = ALGORITHMS["td3_bc"][0](6, 2, ALGORITHMS["td3_bc"][1](hidden_sizes=(8,)))
    action = np.array([0.2, -0.3], np.float32)
    iql_noise = np.stack([explore(iql, action, rng) for _ in range(2000)]) - action
    assert abs(iql_noise.std() - 0.03) < 0.003  # IQL: σ = 0.03 (App. E.2)
    awac_actions = np.stack([explore(awac, np.zeros(2, np.float32), rng) for _ in range(2000)])
    assert 0.68 < awac_actions.std() < 0.76  # AWAC samples π: σ = 1 at init; N(0, 1) clipped to [-1, 1] has std 0.72
    td3_bc_noise = np.stack([explore(td3_bc, action, rng) for _ in range(4000)]) - action
    far = np.abs(td3_bc_noise).max(1) > 0.1 + 1e-6  # only the uniformly random actions leave ±10 %
    assert abs(far.mean() - 0.1 * 0.85) < 0.03  # §5.5.2: p = 0.1 (a random action lands within ±0.1 ~15 %)
    assert explore(TD3(6, 2, TD3Config(hidden_sizes=(8,))), action, rng) is None  # RIG's TD3: OU noise
