"""sawyer_sim Visual Door and Visual Pickup: gymnasium compliance, determinism, reset-free door, scripted skills,
render_state, goal distribution and the fast-render path (decimated meshes, unseen geoms hidden)."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sawyer_sim
from sawyer_sim.door import MAX_ANGLE
from sawyer_sim.env import HIDDEN_GROUP
from sawyer_sim.pickup import BALL_RADIUS, BALL_START
from sim_envs import open_sim_envs

NAMES = ("door", "pickup")


@pytest.fixture(scope="module")
def envs():
    yield from open_sim_envs(NAMES)


@pytest.mark.filterwarnings("ignore:.*alternative render modes")
@pytest.mark.parametrize("name", NAMES)
def test_check_env_spaces_and_info(envs, name):
    env = envs[name]
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=1)
    assert obs["image"].shape == obs["goal_image"].shape == (48, 48, 3) and obs["image"].dtype == np.uint8
    assert obs["state"].shape == obs["goal_state"].shape == (4,) and env.action_space.shape == (3,)
    keys = {"door": {"ee_distance", "angle_distance", "total_distance"},
            "pickup": {"ee_distance", "object_distance", "total_distance"}}[name]
    assert set(info) == keys
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert reward == pytest.approx(-info["total_distance"]) and not terminated and not truncated
    assert env.max_episode_steps == {"door": 100, "pickup": 50}[name]  # Table 13 path lengths
    gym_env = gym.make(sawyer_sim.GYM_IDS[name], image_size=32)
    check_env(gym_env.unwrapped)
    gym_env.reset(seed=0)
    assert gym_env.step(gym_env.action_space.sample())[0]["image"].shape == (32, 32, 3)
    gym_env.close()


def _rollout(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    out += [env.step(a)[0] for a in actions]
    return out


@pytest.mark.parametrize("name", NAMES)
def test_determinism(envs, name):
    actions = np.random.default_rng(0).uniform(-1, 1, (15, 3)).astype(np.float32)
    a, b = _rollout(envs[name], 7, actions), _rollout(envs[name], 7, actions)
    other = sawyer_sim.make(name, seed=0)
    c = _rollout(other, 7, actions)
    other.close()
    for x, y, z in zip(a, b, c, strict=True):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
            np.testing.assert_array_equal(x[k], z[k])


def _pull(env, steps: int, direction=(0.0, -1.0, 0.0)):
    obs = None
    for _ in range(steps):
        obs, _, _, _, info = env.step(np.array(direction, np.float32))
    return obs, info


def test_door_opens_with_the_hook_and_is_not_reset_between_episodes(envs):
    env = envs["door"]
    obs, _ = env.reset(seed=0, options={"goal_state": np.array([0.0, 0.6, 0.22, 0.6], np.float32)})
    assert obs["state"][3] == pytest.approx(0.0, abs=1e-6)  # closed, the hook in the handle's gap
    obs, info = _pull(env, 6)  # toward the robot: the hook pulls the handle
    angle = obs["state"][3]
    assert 0.4 < angle <= MAX_ANGLE + 0.01 and info["angle_distance"] < 0.2
    obs, _ = env.reset()  # App. C.4: no reset of hand or door between trajectories
    assert obs["state"][3] == pytest.approx(angle, abs=1e-3)
    obs, _ = _pull(env, 4, (0.0, 1.0, 0.0))  # pushing back closes it
    assert obs["state"][3] < angle - 0.2
    obs, _ = _pull(env, 6, (0.0, 0.0, 1.0))  # lifted out of the gap, the hook no longer moves the door
    lifted = obs["state"][3]
    obs, _ = _pull(env, 6)
    assert obs["state"][3] == pytest.approx(lifted, abs=0.02)
    obs, _ = env.reset(seed=0)  # a seeded reset restores the start state
    assert obs["state"][3] == pytest.approx(0.0, abs=1e-6)
    assert env.objects_moved(np.array([[0, 0.6, 0.2, 0.05], [0, 0.6, 0.2, 0.3]])).tolist() == [False, True]


def test_pickup_grasps_and_lifts_the_ball(envs):
    env = envs["pickup"]
    goal = np.array([0.6, 0.15, 0.6, 0.12], np.float32)  # ball held 12 cm up
    obs, info = env.reset(seed=0, options={"goal_state": goal})
    np.testing.assert_allclose(obs["state"][2:], BALL_START, atol=1e-3)
    d0 = info["object_distance"]
    _pull(env, 5, (0.0, -1.0, -1.0))  # down, gripper open
    _pull(env, 4, (0.0, 0.0, 1.0))  # close on the ball
    obs, info = _pull(env, 5, (0.0, 1.0, 1.0))  # lift
    assert obs["state"][3] > BALL_RADIUS + 0.08  # the ball came up with the hand
    assert info["object_distance"] < 0.3 * d0
    obs, _ = _pull(env, 5, (0.0, 0.0, -1.0))  # open: it falls back to the table
    assert obs["state"][3] == pytest.approx(BALL_RADIUS, abs=0.006)
    assert env.objects_moved(np.array([[0.6, 0.1, *BALL_START], [0.6, 0.1, 0.6, 0.1]])).tolist() == [False, True]


def test_pickup_goals_are_three_quarters_in_the_air(envs):
    env = envs["pickup"]
    rng = np.random.default_rng(0)
    goals = np.stack([env.sample_goal_state(rng) for _ in range(800)])
    in_air = goals[:, 3] > BALL_RADIUS + 0.01
    assert 0.70 < in_air.mean() < 0.80  # App. C.4: 75 % of goals in the air
    assert np.all(goals[:, :2] >= env.hand_low - 1e-6) and np.all(goals[:, :2] <= env.hand_high + 1e-6)
    np.testing.assert_allclose(goals[in_air, 2], goals[in_air, 0])  # held: under the hand


def test_door_goal_ranges(envs):
    env = envs["door"]
    rng = np.random.default_rng(0)
    goals = np.stack([env.sample_goal_state(rng) for _ in range(500)])
    np.testing.assert_allclose(env.hand_high - env.hand_low, [0.05, 0.20, 0.15])  # App. C.4: 5 × 20 × 15 cm
    assert np.all(goals[:, :3] >= env.hand_low) and np.all(goals[:, :3] <= env.hand_high)
    assert goals[:, 3].min() >= 0 and goals[:, 3].max() <= MAX_ANGLE and goals[:, 3].max() > 0.75


@pytest.mark.parametrize("name", NAMES)
def test_render_state_restores_the_simulation(envs, name):
    env = envs[name]
    actions = np.random.default_rng(1).uniform(-1, 1, (8, 3)).astype(np.float32)
    ref = _rollout(env, 3, actions)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    for i, a in enumerate(actions):
        assert env.render_state(env.sample_state(rng)).shape == (48, 48, 3)
        obs = env.step(a)[0]
        for k in obs:
            np.testing.assert_array_equal(obs[k], ref[i + 1][k])
    obs, _ = env.reset(seed=5)
    np.testing.assert_array_equal(env.render_state(obs["goal_state"]), obs["goal_image"])
    assert np.abs(env.render_state(obs["state"]).astype(int) - obs["image"]).mean() < 1.0
    with pytest.raises(ValueError, match="4 finite numbers"):
        env.render_state(np.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(2, np.float32))


@pytest.mark.parametrize("name", NAMES)
def test_fast_render_path_is_on_by_default(name):
    """The speed path the benchmark measures: decimated meshes and the unseen arm geoms out of the rendered groups
    (that those geoms never reach a pixel is checked in tests/test_sawyer_env.py)."""
    fast = sawyer_sim.make(name, image_size=32)
    full = sawyer_sim.make(name, image_size=32, mesh_keep=None, hide_unseen=False)
    assert fast.model.nmeshface < 0.2 * full.model.nmeshface
    assert (fast.model.geom_group == HIDDEN_GROUP).sum() >= 8 and not (full.model.geom_group == HIDDEN_GROUP).any()
    fast.close()
    full.close()
