"""Visual Insertion's image-goal reward (issue 11; thesis §9.3.2 uses pixel L1, we use RIG's latent distance):
with a β-VAE trained on the env's own frames, −‖μ(s) − μ(goal_image)‖ ranks an inserted peg above one stuck on
the socket's rim, and falls as the peg approaches the inserted pose."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import pytest
import torch

import sawyer_sim
from rig_core.rewards import latent_distance_reward
from rig_core.vae import ConvVAE, train_vae
from sawyer_sim.insertion import CLEARANCE

RIM_ERROR = CLEARANCE + 0.009  # m: x* this far off the hole puts the peg on the rim


def _rollout(env, seed: int, error: np.ndarray, steps: int = 25) -> tuple[list[np.ndarray], list[float], dict, np.ndarray]:
    """P-controller (kp = [1, 1, 0.3]) toward the inserted pose offset by ``error``: frames, tip distances to the
    goal, the last info and the goal image."""
    obs, _ = env.reset(seed=seed)
    target = obs["goal_state"][:3] + np.array([*error, 0.0])
    frames, distances, info = [obs["image"]], [float(np.linalg.norm(obs["state"][:3] - obs["goal_state"][:3]))], {}
    for _ in range(steps):
        tip = obs["state"][:3]
        action = np.clip(-np.array([1.0, 1.0, 0.3]) * (tip - target) / env.max_step, -1, 1).astype(np.float32)
        obs, _, _, _, info = env.step(action)
        frames.append(obs["image"])
        distances.append(info["ee_distance"])
    return frames, distances, info, obs["goal_image"]


@pytest.fixture(scope="module")
def trained():
    env = sawyer_sim.make("insertion", seed=0, target_error=0.0)
    rng = np.random.default_rng(0)
    frames = []
    for seed in range(12):  # free-space states, inserted and rim rollouts, and goal images of 12 socket poses
        env.reset(seed=seed)
        frames += [env.render_state(env.sample_state(rng)) for _ in range(20)]
        for error in (np.zeros(2), rng.choice([-1, 1], 2) * RIM_ERROR):
            f, _, _, goal = _rollout(env, seed, error)
            frames += [*f, goal]
    torch.manual_seed(0)
    vae = ConvVAE(48, 16)
    vae.init_output_bias(np.array(frames))
    train_vae(vae, np.array(frames), 400, 64, 1.0, torch.optim.Adam(vae.parameters(), lr=1e-3), rng)
    yield env, vae.eval()
    env.close()


def _reward(vae: ConvVAE, frames: list[np.ndarray], goal: np.ndarray) -> np.ndarray:
    z, _ = vae.encode(np.array(frames))
    zg, _ = vae.encode(goal[None])
    return latent_distance_reward(z, zg)


def test_inserted_scores_above_stuck_on_the_rim(trained):
    env, vae = trained
    wins, held_out = 0, range(100, 110)
    for seed in held_out:  # socket poses the VAE never saw
        inserted, _, info_in, goal = _rollout(env, seed, np.zeros(2))
        rim, _, info_rim, _ = _rollout(env, seed, np.array([RIM_ERROR, -RIM_ERROR]))
        assert info_in["is_success"] and not info_rim["is_success"]
        wins += _reward(vae, inserted[-1:], goal)[0] > _reward(vae, rim[-1:], goal)[0]
    assert wins >= 9, f"inserted ranked above the rim in {wins} of {len(held_out)} held-out episodes"


def test_reward_falls_with_the_distance_to_the_inserted_pose(trained):
    """While the peg approaches (more than 5 mm from the inserted pose: once inside the hole the distances differ by
    sub-mm jitter against its walls) the latent distance orders the frames as the true distance does."""
    env, vae = trained
    ranks = lambda x: np.argsort(np.argsort(x))  # noqa: E731 - for Spearman's rank correlation
    for seed in range(100, 105):
        frames, distances, _, goal = _rollout(env, seed, np.zeros(2))
        rewards, d = _reward(vae, frames, goal), np.array(distances)
        approach = d > 0.005
        assert approach.sum() >= 5
        spearman = np.corrcoef(ranks(-rewards[approach]), ranks(d[approach]))[0, 1]
        pearson = np.corrcoef(-rewards, d)[0, 1]  # the whole rollout, inserted frames included
        assert spearman > 0.9 and pearson > 0.9, (seed, spearman, pearson)
