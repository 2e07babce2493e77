"""sawyer_sim: gymnasium compliance, determinism, control limits, pushing, render_state, options, errors."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sawyer_sim
from sim_envs import open_sim_envs

PUCK_ENVS = ("reacher", "pusher", "multi_pusher")  # door and pickup: tests/test_sawyer_door_pickup.py


@pytest.fixture(scope="module")
def envs():
    yield from open_sim_envs(PUCK_ENVS)


@pytest.mark.filterwarnings("ignore:.*alternative render modes")
@pytest.mark.parametrize("name", PUCK_ENVS)
def test_check_env_and_spaces(envs, name):
    env = envs[name]
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=1)
    n = {"reacher": 2, "pusher": 4, "multi_pusher": 6}[name]
    assert obs["image"].shape == obs["goal_image"].shape == (48, 48, 3) and obs["image"].dtype == np.uint8
    assert obs["state"].shape == obs["goal_state"].shape == (n,) and obs["state"].dtype == np.float32
    assert env.action_space.shape == (2,)
    keys = {"reacher": set(), "pusher": {"puck_distance"}, "multi_pusher": {"puck_distance", "puck1_distance", "puck2_distance"}}
    assert set(info) == {"ee_distance", "total_distance"} | keys[name]
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert reward == pytest.approx(-info["total_distance"]) and not terminated and not truncated


def test_registered_ids():
    for name, gym_id in sawyer_sim.GYM_IDS.items():
        env = gym.make(gym_id, image_size=32)
        check_env(env.unwrapped)
        assert env.unwrapped.task == name
        env.reset(seed=0)  # through gymnasium's wrappers (passive checker, order enforcing)
        assert env.step(env.action_space.sample())[0]["image"].shape == (32, 32, 3)
        env.close()


def test_truncation_at_max_episode_steps():
    env = sawyer_sim.make("reacher", max_episode_steps=3)
    env.reset(seed=0)
    flags = [env.step(np.zeros(2, np.float32))[3] for _ in range(3)]
    assert flags == [False, False, True] and sawyer_sim.make("pusher").max_episode_steps == 100


def _rollout(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        out.append(env.step(a)[0])
    return out


def test_determinism(envs):
    env = envs["multi_pusher"]
    actions = np.random.default_rng(0).uniform(-1, 1, (25, 2)).astype(np.float32)
    a, b = _rollout(env, 7, actions), _rollout(env, 7, actions)
    other = sawyer_sim.make("multi_pusher", seed=0)
    c = _rollout(other, 7, actions)
    other.close()
    for x, y, z in zip(a, b, c, strict=True):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
            np.testing.assert_array_equal(x[k], z[k])
    assert not np.array_equal(a[0]["goal_state"], _rollout(env, 8, [])[0]["goal_state"])


def test_action_clipping_and_workspace(envs):
    env = envs["pusher"].unwrapped
    env.reset(seed=0)
    s0 = env.step(np.zeros(2, np.float32))[0]["state"][:2]
    s1 = env.step(np.array([100.0, 0.0], np.float32))[0]["state"][:2]
    assert abs(s1[0] - s0[0]) <= env.max_step + 2e-3  # clipped to one max-velocity step
    tol = 5e-3
    for direction in ([1, 1], [-1, -1], [1, -1], [-1, 1]):
        for _ in range(25):
            hand = env.step(np.array(direction, np.float32) * 5)[0]["state"][:2]
            assert np.all(hand >= env.hand_low - tol) and np.all(hand <= env.hand_high + tol)
        np.testing.assert_allclose(hand, np.where(np.array(direction) > 0, env.hand_high, env.hand_low), atol=tol)


@pytest.mark.parametrize("bad", [[np.nan, 0.0], [0.0, np.inf], [-np.inf, 1.0]])
def test_non_finite_action_rejected(envs, bad):
    env = envs["reacher"]
    env.reset(seed=0)
    before = env.unwrapped.data.qpos.copy()
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array(bad, np.float32))
    np.testing.assert_array_equal(before, env.unwrapped.data.qpos)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3, np.float32))


def _push_action(state, goal, radius=0.035):
    """Get behind the puck (w.r.t. the goal), then push it towards the goal."""
    hand, puck, g = state[:2], state[2:4], goal[2:4]
    u = (g - puck) / max(np.linalg.norm(g - puck), 1e-6)
    pre = puck - u * (radius + 0.03)
    target = puck + u * 0.03 if np.linalg.norm(pre - hand) < 0.02 else pre
    return np.clip((target - hand) / 0.025, -1, 1).astype(np.float32)


def test_scripted_push_moves_puck(envs):
    env = envs["pusher"]
    obs, info = env.reset(options={"goal_state": np.array([0.0, 0.6, 0.1, 0.68], np.float32)})
    start_puck, d0 = obs["state"][2:4].copy(), info["puck_distance"]
    for _ in range(40):
        obs, _, _, _, info = env.step(_push_action(obs["state"], obs["goal_state"]))
        if info["puck_distance"] < 0.03:
            break
    for _ in range(3):  # let it settle
        obs, _, _, _, info = env.step(np.zeros(2, np.float32))
    assert np.linalg.norm(obs["state"][2:4] - start_puck) > 0.03
    assert info["puck_distance"] < 0.4 * d0


def test_render_state_restores_and_matches(envs):
    env = envs["multi_pusher"]
    actions = np.random.default_rng(1).uniform(-1, 1, (10, 2)).astype(np.float32)
    ref = _rollout(env, 3, actions)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for i, a in enumerate(actions):
        goal = env.sample_state(rng)
        img = env.render_state(goal)
        assert img.shape == (48, 48, 3) and img.dtype == np.uint8
        obs = env.step(a)[0]
        for k in obs:
            np.testing.assert_array_equal(obs[k], ref[i + 1][k])
    # render_state(state) looks like the simulated frame of that state (IK arm vs. the physics arm: tiny differences)
    assert np.abs(env.render_state(obs["state"]).astype(int) - obs["image"]).mean() < 2.0
    # the goal image of reset is render_state(goal_state); the reset state renders like the first observation
    obs, _ = env.reset(seed=5)
    np.testing.assert_array_equal(env.render_state(obs["goal_state"]), obs["goal_image"])
    assert np.abs(env.render_state(obs["state"]).astype(int) - obs["image"]).mean() < 1.0
    with pytest.raises(ValueError):
        env.render_state(np.zeros(3))


def test_goal_distribution(envs):
    rng = np.random.default_rng(0)
    for env in envs.values():
        u = env.unwrapped
        for _ in range(50):
            g = env.sample_goal_state(rng)
            assert np.all(g[:2] >= u.hand_low) and np.all(g[:2] <= u.hand_high)
            for i in range(u.n_pucks):
                assert np.all(g[2 + 2 * i : 4 + 2 * i] >= u.puck_lows[i]) and np.all(g[2 + 2 * i : 4 + 2 * i] <= u.puck_highs[i])
    multi = envs["multi_pusher"].unwrapped
    assert multi.puck_highs[0][0] < 0 < multi.puck_lows[1][0]  # each puck in its own half


def test_image_size_option():
    env = sawyer_sim.make("pusher", image_size=84, seed=0)
    obs, _ = env.reset()
    assert obs["image"].shape == obs["goal_image"].shape == (84, 84, 3) == env.observation_space["image"].shape
    assert obs["image"].std() > 10  # not a blank frame
    env.close()


def test_unknown_name():
    with pytest.raises(ValueError, match="reacher, pusher, multi_pusher, door, pickup, color_pusher, varying_pusher, insertion"):
        sawyer_sim.make("walker")
    assert sawyer_sim.ENV_NAMES == ("reacher", "pusher", "multi_pusher", "door", "pickup", "color_pusher", "varying_pusher",
                                    "insertion")


@pytest.mark.parametrize("name", sawyer_sim.ENV_NAMES)
def test_hidden_out_of_view_geoms_change_no_pixel(name):
    """Geoms moved out of the rendered groups (sawyer_sim.env.OUT_OF_VIEW_BODIES) are really never in view: hand
    at the workspace corners and at random, 48 and 84 px, every pixel equals the full scene's."""
    from sawyer_sim.env import HIDDEN_GROUP

    for size in (48, 84):
        env = sawyer_sim.make(name, image_size=size, seed=0)
        hidden = env.model.geom_group == HIDDEN_GROUP
        assert hidden.sum() >= 8
        rng = np.random.default_rng(0)
        states = [env.sample_state(rng) for _ in range(12)]
        for corner in itertools.product(*zip(env.hand_low, env.hand_high, strict=True)):  # the hand box's corners
            state = env.sample_state(rng)
            state[: len(corner)] = corner
            states.append(state)
        fast = [env.render_state(s) for s in states]
        env.model.geom_group[hidden] = 1  # back in the arm's own visible group
        for state, image in zip(states, fast, strict=True):
            np.testing.assert_array_equal(env.render_state(state), image)
        env.close()
