"""Residual RL away from the env (issue 11): the weights that travel to the policy node, the learner fed by a step
stream, the task reward from the measured state, and the 3-D safety box."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import pytest
import torch

from rig_core.errors import CheckpointError, RigError
from rig_core.policy_weights import load_weights
from rig_core.residual import SafetyLimits, safe_velocity
from rig_core.residual_rl import ResidualReplay, ResidualRLConfig, features, make_env, make_learner, update
from rig_core.residual_stream import ResidualStreamLearner
from rig_core.residual_weights import load_residual_weights, residual_bytes
from sawyer_sim.insertion import state_rewards

FEATS = np.random.default_rng(0).normal(size=(8, 7)).astype(np.float32)


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_residual_weights_act_as_the_learner_and_refuse_bad_bytes(algo):
    config = ResidualRLConfig(algo=algo, zero_init=False, kp=0.5, residual_bound=0.4)
    learner = make_learner(config)
    weights = load_weights(residual_bytes(learner, config, version=7, env_steps=120), "residual")
    assert (weights.version, weights.env_steps, weights.config) == (7, 120, config)
    for f in FEATS:
        np.testing.assert_allclose(weights.residual(f), learner.act(f), atol=1e-6)
        assert np.all(np.abs(weights.sample(f)) <= 1.0)
    policy = weights.policy(0.01)
    assert (policy.bound, policy.step_size) == (0.4, 0.01) and np.allclose(policy.kp, [0.5, 0.5, 0.15])
    data = residual_bytes(learner, config, 1)
    with pytest.raises(CheckpointError, match="unreadable"):
        load_residual_weights(data[: len(data) // 2])
    other = ResidualRLConfig(algo="sac" if algo == "td3" else "td3")
    with pytest.raises(CheckpointError, match="do not fit"):  # actor tensors of the other algorithm
        load_residual_weights(residual_bytes(make_learner(other), config, 1))
    with pytest.raises(CheckpointError, match="unknown weights kind"):
        load_weights(data, "poilcy")


def test_stream_learner_stores_what_the_env_gave_and_trains_on_schedule():
    """Steps of env rollouts as the policy node records them become the transitions run_residual_rl stores, with
    the env's own rewards, computed from the measured state alone."""
    config = ResidualRLConfig(learning_starts=40, total_steps=0)
    env = make_env(config)
    stream = ResidualStreamLearner(config, lambda s, g: state_rewards(s, g)["dense_reward"])
    reference = ResidualReplay(1000, 7, 3)
    rng = np.random.default_rng(3)
    for episode in (1, 2):
        obs, _ = env.reset(seed=episode)
        target = env.controller_target
        for t in range(env.max_episode_steps + 1):
            feats = features(obs["state"], obs["goal_state"], target)
            last = t == env.max_episode_steps
            residual = None if last else rng.uniform(-1, 1, 3).astype(np.float32)
            stored = stream.add(episode, t, feats, obs["state"], obs["goal_state"], residual, last)
            assert stored == (t > 0)
            if last:
                break
            next_obs, reward, *_ = env.step(np.clip(residual, -1, 1))
            reference.add(feats, residual, reward, features(next_obs["state"], next_obs["goal_state"], target))
            obs = next_obs
    env.close()
    n = 2 * env.max_episode_steps
    assert stream.env_steps == stream.replay.size == n
    for name in ("obs", "action", "next_obs"):
        np.testing.assert_allclose(getattr(stream.replay, name)[:n], getattr(reference, name)[:n], atol=1e-6)
    np.testing.assert_allclose(stream.replay.reward[:n], reference.reward[:n], rtol=1e-5)
    assert stream.update_budget() == n - config.learning_starts + 1  # one update per step from the 40th on
    stream.train(stream.update_budget())
    assert stream.update_budget() == 0 and stream.learner.updates == n - config.learning_starts + 1
    # A gap in t drops the unfinished transition; malformed steps are refused with one line.
    assert not stream.add(3, 0, FEATS[0], np.zeros(4), np.zeros(4), np.zeros(3, np.float32), False)
    assert not stream.add(3, 2, FEATS[1], np.zeros(4), np.zeros(4), np.zeros(3, np.float32), False)
    with pytest.raises(RigError, match="features must be 7 finite"):
        stream.add(3, 3, np.full(7, np.nan), np.zeros(4), np.zeros(4), None, True)
    with pytest.raises(RigError, match="residual must be 3 finite"):
        stream.add(3, 3, FEATS[2], np.zeros(4), np.zeros(4), np.zeros(2, np.float32), False)


def test_update_trains_the_critic_only_during_the_burn_in():
    config = ResidualRLConfig(critic_burn_in=2)
    learner, replay = make_learner(config), ResidualReplay(1000, 7, 3)
    for f in FEATS:
        replay.add(f, np.zeros(3, np.float32), -1.0, f)
    before = [p.detach().clone() for p in learner.actor.parameters()]
    for _ in range(2):
        update(learner, replay, np.random.default_rng(0), config)
    assert all(np.array_equal(a, b.detach()) for a, b in zip(before, learner.actor.parameters(), strict=True))
    for _ in range(2):  # after the burn-in TD3 updates the actor (every policy_delay updates)
        update(learner, replay, np.random.default_rng(0), config)
    assert learner.updates == 4
    assert not all(np.array_equal(a, b.detach()) for a, b in zip(before, learner.actor.parameters(), strict=True))


def test_safe_velocity_in_3d_keeps_the_box_and_zeroes_bad_input():
    limits = SafetyLimits((-0.1, 0.5, 0.0), (0.1, 0.7, 0.15), max_speed=0.1, period=0.1)
    np.testing.assert_allclose(safe_velocity(np.array([0.5, -0.5, 0.05]), np.array([0, 0.6, 0.05]), limits),
                               [0.1, -0.1, 0.05])
    v = safe_velocity(np.array([0.0, 0.0, -0.1]), np.array([0.0, 0.6, 0.004]), limits)
    assert v[2] == pytest.approx(-0.04)  # stops at the floor of the box
    np.testing.assert_array_equal(safe_velocity(np.array([0.1, 0.1]), np.array([0, 0.6, 0.05]), limits), np.zeros(3))
    np.testing.assert_array_equal(safe_velocity(np.array([0.1, 0.1, np.inf]), None, limits), np.zeros(3))
    np.testing.assert_array_equal(safe_velocity(np.array([0.1, 0.1, 0.1]), np.array([0, np.nan, 0]), limits), np.zeros(3))


def test_image_goal_reward_waits_for_its_vae_then_relabels(monkeypatch):
    import rig_core.residual_image_reward as image_reward_module
    from rig_core.residual_image_reward import ImageGoalReward

    monkeypatch.setattr(image_reward_module, "VAE_BATCHES", 20)  # the mechanics, not the VAE's quality
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (6, 48, 48, 3), dtype=np.uint8)
    goal = frames[0].copy()
    model = ImageGoalReward(48, seed=0)
    rewards = np.full(5, np.nan, np.float32)
    model.observe(frames[1], goal)
    for i in range(5):
        model.observe(frames[i + 1])
        assert model.reward(i, frames[i + 1], goal) is None
    goal[:] = 0  # the env re-uses its goal image's array: what waits is a copy
    assert len(model.frames) == 7 and not model.trained
    model.train()
    assert model.trained and model.frames == []
    assert model.relabel(rewards) == 5 and model.waiting == []
    z, _ = model.vae.encode(frames[1:6])
    zg, _ = model.vae.encode(frames[0][None])
    np.testing.assert_allclose(rewards, -np.linalg.norm(z - zg, axis=1), rtol=1e-5)
    assert model.reward(9, frames[0], frames[0]) == pytest.approx(0.0, abs=1e-6)  # at the goal image: no distance


@pytest.mark.parametrize("algo", ["td3", "sac"])
def test_stream_learner_checkpoint_resumes_exactly(tmp_path, algo):
    """Saved mid-run and loaded into a fresh learner, the next updates give the same networks as going on."""
    config = ResidualRLConfig.from_dict({"algo": algo, "learning_starts": 8, "td3": {"batch_size": 16, "hidden_sizes": [32, 32]}})
    reward = lambda s, g: -float(np.abs(s[:3] - g[:3]).sum())  # noqa: E731
    rng = np.random.default_rng(1)

    def feed(learner, episode, n):
        for t in range(n):
            learner.add(episode, t, rng.normal(size=7).astype(np.float32), rng.normal(size=4), np.zeros(4),
                        rng.uniform(-1, 1, 3).astype(np.float32), t == n - 1)
        learner.train(learner.update_budget())

    first = ResidualStreamLearner(config, reward)
    feed(first, 1, 20)
    first.save(tmp_path, {"version": 3})
    resumed = ResidualStreamLearner(config, reward)
    assert resumed.load(tmp_path) == {"version": 3}
    assert (resumed.env_steps, resumed.grad_steps, resumed.replay.size) == (first.env_steps, first.grad_steps, 19)
    state, torch_state = rng.bit_generator.state, torch.get_rng_state()  # torch's RNG is global: both draw from it
    feed(first, 2, 10)
    rng.bit_generator.state = state
    torch.set_rng_state(torch_state)
    feed(resumed, 2, 10)
    for a, b in zip(first.learner.actor.parameters(), resumed.learner.actor.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(first.learner.critic.parameters(), resumed.learner.critic.parameters(), strict=True):
        assert torch.equal(a, b)
    other = ResidualStreamLearner(ResidualRLConfig(algo="sac" if algo == "td3" else "td3"), reward)
    with pytest.raises(CheckpointError, match="holds a"):
        other.load(tmp_path)
    (tmp_path / "residual_learner.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt"):
        resumed.load(tmp_path)
    with pytest.raises(CheckpointError, match="no residual learner checkpoint"):
        resumed.load(tmp_path / "nowhere")
