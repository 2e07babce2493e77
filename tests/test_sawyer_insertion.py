"""sawyer_sim Visual Insertion: gymnasium compliance, determinism, the force sensor and the rewards (Eqs. 47–48)
on scripted contact states: inserted, pressing on the rim, free space."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sawyer_sim
from sawyer_sim.insertion import CLEARANCE, FLOOR, SOCKET_HEIGHT, SOCKET_RANGE, dense_reward, sparse_reward
from sim_envs import open_sim_envs


@pytest.fixture(scope="module")
def envs():
    yield from open_sim_envs(["insertion"])


def _drive(env, target: np.ndarray, steps: int = 20) -> tuple[dict, dict]:
    """Move the peg toward ``target`` with a plain P-controller (kp = [1, 1, 0.3])."""
    obs, info = None, None
    for _ in range(steps):
        tip = env.data.qpos[env._peg_adr : env._peg_adr + 3]
        action = np.clip(-np.array([1.0, 1.0, 0.3]) * (tip - target) / env.max_step, -1, 1).astype(np.float32)
        obs, _, _, _, info = env.step(action)
    return obs, info


@pytest.mark.filterwarnings("ignore:.*alternative render modes")
def test_check_env_spaces_and_info(envs):
    env = envs["insertion"]
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=1)
    assert obs["image"].shape == obs["goal_image"].shape == (48, 48, 3) and obs["image"].std() > 10
    assert obs["state"].shape == obs["goal_state"].shape == (4,) and env.action_space.shape == (3,)
    assert {"is_success", "sparse_reward", "dense_reward", "f_z", "ee_distance"} <= set(info)
    assert not info["is_success"] and abs(info["f_z"]) < 1e-6  # calibrated at reset, in free space
    assert np.all(np.array(SOCKET_RANGE[0]) <= env.socket_xy) and np.all(env.socket_xy <= np.array(SOCKET_RANGE[1]))
    gym_env = gym.make(sawyer_sim.GYM_IDS["insertion"], image_size=32)
    check_env(gym_env.unwrapped)
    gym_env.close()


def test_determinism_and_controller_target_error(envs):
    env = envs["insertion"]
    actions = np.random.default_rng(0).uniform(-1, 1, (12, 3)).astype(np.float32)
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=7)
        runs.append([obs["state"], env.controller_target.copy()] + [env.step(a)[0]["state"] for a in actions])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
    errors = []
    for seed in range(20):
        env.reset(seed=seed)
        errors.append(env.controller_target[:2] - env.socket_xy)
    errors = np.abs(np.array(errors))
    assert errors.max() <= env.target_error and errors.max() > 0.6 * env.target_error
    with pytest.raises(ValueError, match="target_error"):
        sawyer_sim.make("insertion", target_error=-0.001)


def test_inserted_pressing_down_gives_sparse_one_and_force(envs):
    env = envs["insertion"]
    env.reset(seed=3)
    goal = np.array([*env.socket_xy, FLOOR])
    obs, info = _drive(env, goal - [0, 0, 0.01])  # aim below the floor: the peg presses on it
    tip = obs["state"][:3]
    assert info["is_success"] and info["sparse_reward"] == 1.0 and tip[2] < SOCKET_HEIGHT - 0.015
    assert info["f_z"] > 1.0  # pressing down on the socket floor
    # Eq. 48 with the force term's sign flipped after insertion: pressing down is rewarded.
    assert info["dense_reward"] == pytest.approx(dense_reward(tip, goal, info["f_z"], True))
    assert dense_reward(tip, goal, info["f_z"], True) > dense_reward(tip, goal, 0.0, True)
    assert env.step(np.zeros(3, np.float32))[1] == pytest.approx(env._info(env._state())["dense_reward"])


def test_off_target_lands_on_the_rim(envs):
    env = envs["insertion"]
    env.reset(seed=3)
    rim = np.array([env.socket_xy[0] + CLEARANCE + 0.003, env.socket_xy[1], FLOOR])  # 3 mm beyond the clearance
    obs, info = _drive(env, rim)
    tip = obs["state"][:3]
    assert not info["is_success"] and info["sparse_reward"] == 0.0
    assert tip[2] == pytest.approx(SOCKET_HEIGHT, abs=0.002) and info["f_z"] > 1.0  # stuck on the rim, pushing
    goal = np.array([*env.socket_xy, FLOOR])
    assert info["dense_reward"] == pytest.approx(dense_reward(tip, goal, info["f_z"], False))
    assert dense_reward(tip, goal, info["f_z"], False) < dense_reward(tip, goal, 0.0, False)  # pushing there costs


def test_reward_formulas():
    assert sparse_reward(True) == 1.0 and sparse_reward(False) == 0.0
    goal = np.array([0.0, 0.6, FLOOR])
    tip = goal + np.array([0.003, 0.0, 0.004])  # ‖·‖₁ = 7 mm, ‖·‖₂ = 5 mm
    expected = -100 * 0.007 - 0.002 / (0.005 + 1e-3) - 0.1 * 2.0
    assert dense_reward(tip, goal, 2.0, False) == pytest.approx(expected)
    assert dense_reward(tip, goal, 2.0, True) == pytest.approx(expected + 0.4)
    step = np.array([0.01, 0.0, 0.0])
    assert dense_reward(goal + 2 * step, goal, 0.0, False) < dense_reward(goal + step, goal, 0.0, False)
