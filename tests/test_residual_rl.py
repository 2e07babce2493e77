"""rig_core.residual_rl: the residual bound, zero residual = the P-controller's trajectory, and `rig run --env insertion`."""

from __future__ import annotations

import json
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import pytest

from rig_core.cli import main
from rig_core.errors import ConfigError
from rig_core.residual_report import contact_window
from rig_core.residual_rl import (
    KP_AXES,
    ResidualPolicy,
    ResidualRLConfig,
    combine,
    features,
    make_env,
    make_learner,
    p_controller,
)
from rig_core.residual_weights import load_residual_weights


def test_residual_bound_is_never_exceeded():
    rng = np.random.default_rng(0)
    for bound in (0.1, 0.5, 1.0):
        wild = ResidualPolicy(kp=1.0, bound=bound, step_size=0.01, residual_fn=lambda f: rng.normal(0, 100, 3))
        for _ in range(200):
            state = np.concatenate([rng.uniform(-0.1, 0.1, 3) + np.array([0, 0.6, 0.05]), rng.normal(0, 5, 1)]).astype(np.float32)
            obs = {"state": state, "goal_state": np.array([0, 0.6, 0.002, 0], np.float32)}
            target = np.array([0.003, 0.6, 0.002])
            action, residual = wild(obs, target, noise=rng.normal(0, 10, 3).astype(np.float32))
            controller = p_controller(state[:3], target, np.asarray(KP_AXES), 0.01)
            assert np.all(np.abs(action - controller) <= bound + 1e-6) and np.all(np.abs(action) <= 1.0)
            assert np.all(np.abs(residual) <= 1.0)
    np.testing.assert_allclose(combine(np.array([0.9, -0.2, 0.0]), np.array([5.0, -5.0, 0.5]), 0.3), [1.0, -0.5, 0.15])


def test_zero_init_residual_follows_the_p_controller_exactly():
    config = ResidualRLConfig(total_steps=0)
    learner = make_learner(config)
    feats = np.random.default_rng(1).normal(size=(16, 7)).astype(np.float32)
    assert np.all(learner.act(feats) == 0.0)  # tanh(0) on any input
    env = make_env(config)
    trajectories = []
    for fn in (None, learner.act):
        policy = ResidualPolicy(config.kp, config.residual_bound, env.max_step, fn)
        obs, _ = env.reset(seed=5)
        states = [obs["state"]]
        for _ in range(env.max_episode_steps):
            obs = env.step(policy(obs, env.controller_target)[0])[0]
            states.append(obs["state"])
        trajectories.append(np.array(states))
    env.close()
    np.testing.assert_array_equal(trajectories[0], trajectories[1])
    assert np.abs(trajectories[0][-1, 2] - trajectories[0][0, 2]) > 0.02  # the controller really moved it down
    # Without zero-init the untrained residual is not zero.
    assert np.abs(make_learner(ResidualRLConfig(zero_init=False)).act(feats)).max() > 1e-3


def test_sac_residual_starts_at_zero_and_updates():
    learner = make_learner(ResidualRLConfig.from_dict({"algo": "sac", "td3": {"hidden_sizes": [32, 32], "batch_size": 16}}))
    feats = np.random.default_rng(2).normal(size=(16, 7)).astype(np.float32)
    assert np.all(learner.act(feats) == 0.0)  # mean action tanh(0); sampling still explores
    assert np.abs(learner.sample(feats[0])).max() > 0 and np.all(np.abs(learner.sample(feats[0])) <= 1.0)
    from rig_core.td3 import Batch

    batch = Batch.from_numpy(learner.device, feats, np.zeros((16, 3)), np.ones(16), feats)
    before = learner.critic.layers[0].weight.detach().clone()
    stats = learner.update(batch)
    assert np.isfinite(list(stats.values())).all() and not np.array_equal(before, learner.critic.layers[0].weight.detach())


def test_critic_burn_in_leaves_the_residual_at_zero():
    from rig_core.residual_rl import critic_only_step
    from rig_core.td3 import Batch

    learner = make_learner(ResidualRLConfig.from_dict({"critic_burn_in": 5, "td3": {"hidden_sizes": [32, 32]}}))
    feats = np.random.default_rng(3).normal(size=(32, 7)).astype(np.float32)
    batch = Batch.from_numpy(learner.device, feats, np.ones((32, 3)), np.ones(32), feats)
    target_before = learner.critic_target.layers[0].weight.detach().clone()
    for _ in range(5):
        critic_only_step(learner, batch)
    assert np.all(learner.act(feats) == 0.0) and learner.updates == 5
    assert not np.array_equal(target_before, learner.critic_target.layers[0].weight.detach())
    learner.update(batch)
    learner.update(batch)  # the delayed actor step
    assert np.abs(learner.act(feats)).max() > 0


def test_features_and_config_errors():
    f = features(np.array([0.01, 0.6, 0.05, 5.0]), np.array([0.0, 0.6, 0.002, 0.0]), np.array([0.0, 0.6, 0.002]))
    np.testing.assert_allclose(f, [0.5, 0, 2.4, 0.5, 0, 2.4, 1.0], rtol=1e-5)
    with pytest.raises(ConfigError, match="residual_bound"):
        ResidualRLConfig.from_dict({"residual_bound": 0})
    with pytest.raises(ConfigError, match="unknown config key"):
        ResidualRLConfig.from_dict({"gain": 1})
    assert ResidualRLConfig.from_dict({"td3": {"batch_size": 64}}).td3.hidden_sizes == (256, 256)


def test_rig_run_insertion_residual_writes_a_curve(tmp_path, capsys):
    out = tmp_path / "ins"
    code = main(["run", "--env", "insertion", "--residual", "--kp", "1", "--residual-bound", "0.5", "--steps", "60",
                 "--eval-every", "30", "--eval-goals", "2", "--set", "residual.learning_starts=20", "--out", str(out),
                 "--quiet", "--threads", "1"])
    assert code == 0
    result = json.loads((out / "seed0" / "results.json").read_text())
    assert [row["step"] for row in result["curve"]] == [0, 30, 60]
    assert result["config"]["kp"] == 1.0 and result["config"]["residual_bound"] == 0.5
    assert 0.0 <= result["controller_only"]["success_rate"] <= 1.0
    assert "final success rate" in capsys.readouterr().out
    page = (out / "report.html").read_text()  # the curve and the strips around contact
    assert "Success rate vs environment steps" in page and "Rollouts around contact" in page
    assert (out / "success.png").stat().st_size > 1000 and (out / "contact.png").stat().st_size > 1000
    weights = load_residual_weights((out / "seed0" / "residual_weights.safetensors").read_bytes())
    assert weights.config.residual_bound == 0.5 and weights.env_steps == 60
    assert main(["run", "--env", "reacher", "--residual"]) == 2  # one-line error, nothing run
    assert main(["run", "--env", "insertion", "--kp", "2"]) == 2


def test_contact_window_starts_just_before_the_first_touch():
    forces = np.array([0.0, 0.1, 0.0, 0.2, 0.0, 3.0, 3.1, 2.9, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0])
    assert contact_window(forces, 4) == slice(3, 7)
    assert contact_window(np.zeros(10), 4) == slice(6, 10)  # no contact: the end of the episode
    assert contact_window(np.full(3, 5.0), 4) == slice(0, 4)


def test_image_goal_reward_run_trains_its_vae_and_learns_from_it(tmp_path, capsys, monkeypatch):
    import rig_core.residual_image_reward as image_reward_module

    monkeypatch.setattr(image_reward_module, "VAE_BATCHES", 20)
    out = tmp_path / "img"
    code = main(["run", "--env", "insertion", "--residual", "--steps", "40", "--eval-every", "40", "--eval-goals", "2",
                 "--set", "residual.learning_starts=20", "--set", "residual.reward=image", "--out", str(out), "--threads", "1"])
    assert code == 0
    log = capsys.readouterr().out
    assert "VAE for the image-goal reward trained" in log and "20 transitions rewarded" in log
    result = json.loads((out / "seed0" / "results.json").read_text())
    assert result["config"]["reward"] == "image" and [row["step"] for row in result["curve"]] == [0, 40]
    with pytest.raises(ConfigError, match="reward must be one of"):
        ResidualRLConfig.from_dict({"reward": "pixels"})
