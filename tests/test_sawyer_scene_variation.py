"""sawyer_sim scenes that change per episode: the multi-colour pusher (CC-RIG, thesis §3.5.1: gymnasium compliance, a
seeded random puck colour per reset that the goal image shows too, explicit colours, determinism, evaluation on the
episode's own goal image) and the varying-count pusher (RIG §5: 0-2 pucks per episode)."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sawyer_sim
from rig_core.evaluate import evaluate, make_goal_set
from sim_envs import open_sim_envs


@pytest.fixture(scope="module")
def envs():
    yield from open_sim_envs(("color_pusher", "varying_pusher"))


@pytest.mark.filterwarnings("ignore:.*alternative render modes")
def test_check_env_spaces_and_info(envs):
    env = envs["color_pusher"]
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=1)
    assert obs["image"].shape == obs["goal_image"].shape == (48, 48, 3) and obs["image"].dtype == np.uint8
    assert obs["state"].shape == obs["goal_state"].shape == (4,) and env.action_space.shape == (2,)
    assert set(info) == {"ee_distance", "puck_distance", "total_distance"}
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert reward == pytest.approx(-info["total_distance"]) and not terminated and not truncated
    gym_env = gym.make(sawyer_sim.GYM_IDS["color_pusher"], image_size=32)
    check_env(gym_env.unwrapped)
    gym_env.close()


def _puck_pixels(env, state: np.ndarray) -> np.ndarray:
    """Pixels where the puck is in `state`: those that change when only the puck is moved away."""
    away = state.copy()
    away[2:] = (0.15, 0.5) if np.linalg.norm(state[2:] - (0.15, 0.5)) > 0.1 else (-0.15, 0.7)
    return np.abs(env.render_state(state).astype(int) - env.render_state(away).astype(int)).sum(-1) > 30


def test_each_reset_draws_a_colour_that_scene_and_goal_image_show(envs):
    env = envs["color_pusher"]
    colours = []
    for i in range(6):
        obs, _ = env.reset(seed=None if i else 3)
        colours.append(env.puck_rgb)
        mask = _puck_pixels(env, obs["goal_state"])
        assert mask.sum() > 10
        # the goal image was rendered with this episode's colour (after it was drawn)
        np.testing.assert_array_equal(obs["goal_image"][mask], env.render_state(obs["goal_state"])[mask])
    colours = np.array(colours)
    assert ((colours >= 0) & (colours <= 1)).all() and len(np.unique(colours.round(3), axis=0)) == 6
    shown = {}
    for name, rgb in (("red", (0.9, 0.1, 0.1)), ("blue", (0.1, 0.1, 0.9))):
        obs, _ = env.reset(seed=3, options={"puck_rgb": rgb})
        for key, state in (("image", obs["state"]), ("goal_image", obs["goal_state"])):
            shown[name, key] = obs[key][_puck_pixels(env, state)].mean(0)
    for key in ("image", "goal_image"):
        assert shown["red", key][0] > shown["red", key][2] + 50 and shown["blue", key][2] > shown["blue", key][0] + 50


def test_colour_option_and_its_errors(envs):
    env = envs["color_pusher"]
    env.reset(seed=0, options={"puck_rgb": (1.0, 0.0, 0.0)})
    np.testing.assert_allclose(env.puck_rgb, (1.0, 0.0, 0.0))
    for bad in ((1.0, 0.0), (2.0, 0.0, 0.0), (np.nan, 0, 0)):
        with pytest.raises(ValueError, match="puck_rgb must be 3 numbers in"):
            env.reset(options={"puck_rgb": bad})


def _rollout(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    out = [(obs, env.puck_rgb)]
    for i, a in enumerate(actions):
        if i == len(actions) // 2:
            obs, _ = env.reset()
            out.append((obs, env.puck_rgb))
        out.append((env.step(a)[0], env.puck_rgb))
    return out


def test_determinism(envs):
    actions = np.random.default_rng(0).uniform(-1, 1, (12, 2)).astype(np.float32)
    a, b = _rollout(envs["color_pusher"], 7, actions), _rollout(envs["color_pusher"], 7, actions)
    other = sawyer_sim.make("color_pusher", seed=0)
    c = _rollout(other, 7, actions)
    d = _rollout(other, 8, actions)
    other.close()
    for (x, cx), (y, cy), (z, cz) in zip(a, b, c, strict=True):
        np.testing.assert_array_equal(cx, cy)
        np.testing.assert_array_equal(cx, cz)
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
            np.testing.assert_array_equal(x[k], z[k])
    assert not np.allclose(a[0][1], d[0][1])  # another seed, another colour


def test_evaluation_uses_each_episodes_own_goal_image(envs):
    env = envs["color_pusher"]
    goals = make_goal_set(env, 2, seed=5)
    seen = []

    def encode(frames):
        seen.append(frames)
        return frames.reshape(len(frames), -1)[:, :2].astype(np.float32)

    result = evaluate(env, goals, lambda z, g: np.zeros(2, np.float32), encode, n_strips=2, seed=11)
    for i, strip in enumerate(result.strips):
        obs, _ = env.reset(seed=11 + i, options={"goal_state": goals.states[i]})
        np.testing.assert_array_equal(strip["goal"], obs["goal_image"])
    assert not any(f.shape[0] == 2 for f in seen)  # goals encoded one episode at a time, not as the held-out set


@pytest.mark.filterwarnings("ignore:.*alternative render modes")
def test_varying_pusher_draws_zero_to_two_pucks_and_hides_the_absent_ones(envs):
    env = envs["varying_pusher"]
    check_env(env.unwrapped, skip_render_check=False)
    counts = []
    for i in range(12):
        obs, info = env.reset(seed=None if i else 0)
        counts.append(info["n_pucks"])
        assert env.observation_space.contains(obs)
    assert set(counts) == {0.0, 1.0, 2.0}
    fixed = np.array([0.0, 0.5, -0.1, 0.6, 0.1, 0.6], np.float32)  # hand and both pucks at their starts
    images = {}
    for k in (0, 1, 2):
        obs, info = env.reset(seed=4, options={"n_pucks": k})
        assert info["n_pucks"] == k and env.n_present == k
        images[k] = env.render_state(fixed)
        for i in np.flatnonzero(~env.present):  # parked in the goal too: nothing to push, no distance to it
            np.testing.assert_allclose(obs["goal_state"][2 + 2 * i:4 + 2 * i], obs["state"][2 + 2 * i:4 + 2 * i])
            assert info[f"puck{i + 1}_distance"] == 0.0
        assert not env.objects_moved(obs["state"][None])[0]
    shown = [int((np.abs(images[k].astype(int) - images[0].astype(int)).sum(-1) > 30).sum()) for k in (1, 2)]
    assert 10 < shown[0] < shown[1]  # no puck drawn when absent, one, then both
    with pytest.raises(ValueError, match="n_pucks must be 0, 1 or 2"):
        env.reset(options={"n_pucks": 3})
    with pytest.raises(ValueError, match="puck_counts"):
        sawyer_sim.make("varying_pusher", puck_counts=(3,))


def test_varying_pusher_is_deterministic():
    a, b = (sawyer_sim.make("varying_pusher", seed=0) for _ in range(2))
    for _ in range(5):
        (oa, ia), (ob, ib) = a.reset(), b.reset()
        assert ia == ib
        np.testing.assert_array_equal(oa["goal_image"], ob["goal_image"])
    a.close()
    b.close()
