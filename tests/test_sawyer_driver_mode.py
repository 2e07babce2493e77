"""sawyer_sim's driver arm mode: the env's actions go through the real arm driver's controller (issue 9, item 4)."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sawyer_sim
from rig_core.config import RIGConfig
from rig_core.errors import ConfigError
from sawyer_sim.tasks import HAND_Z, MAX_STEP


@pytest.fixture(scope="module")
def reacher():
    env = sawyer_sim.make("reacher", seed=0, control="driver")
    yield env
    env.close()


@pytest.fixture(scope="module")
def mocap_reacher():
    env = sawyer_sim.make("reacher", seed=0)
    yield env
    env.close()


def _hand(env) -> np.ndarray:
    return env.data.xpos[env._hand].copy()


def _record_commands(env, monkeypatch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (q, joint velocity command) the driver's controller gives during the test."""
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    controller = env._driver.controller
    step = controller.step

    def recording(q, dq, cmd, dt):
        out = step(q, dq, cmd, dt)
        seen.append((np.array(q), out.copy()))
        return out

    monkeypatch.setattr(controller, "step", recording)
    return seen


def test_check_env_in_driver_mode(reacher):
    check_env(reacher.unwrapped, skip_render_check=False)


def test_the_weld_is_off_and_the_hand_moves_by_joint_velocities(reacher, monkeypatch):
    seen = _record_commands(reacher, monkeypatch)
    reacher.reset(seed=1)
    assert not reacher.data.eq_active[reacher.model.equality("hand_to_mocap").id]
    start = _hand(reacher)
    for _ in range(5):
        reacher.step(np.array([1.0, 0.0], np.float32))
    assert len(seen) == 5 * 10  # 100 Hz driver ticks, 10 per 0.1 s env step
    assert max(np.abs(cmd).max() for _, cmd in seen) > 0.05  # the joints were commanded, not the mocap
    assert _hand(reacher)[0] - start[0] > 0.08


def test_hand_tracks_the_commanded_velocity(reacher):
    """At action 1 the hand moves MAX_STEP per env step once the driver's acceleration ramp is done."""
    reacher.reset(seed=2)
    xs, zs, ys = [], [], []
    y0 = _hand(reacher)[1]
    reacher.step(np.array([-1.0, 0.0], np.float32))  # ramp up (Cartesian acceleration limit)
    for _ in range(5):
        reacher.step(np.array([-1.0, 0.0], np.float32))
        p = _hand(reacher)
        xs.append(p[0])
        ys.append(p[1])
        zs.append(p[2])
    per_step = -np.diff(xs)
    assert np.all(np.abs(per_step - MAX_STEP) < 0.1 * MAX_STEP), per_step
    assert np.max(np.abs(np.array(ys) - y0)) < 0.005
    assert np.max(np.abs(np.array(zs) - HAND_Z)) < 0.005


def test_limits_hold_under_random_and_extreme_actions(reacher, monkeypatch):
    """Random corner actions and long pushes into each wall: the hand stays in the rectangle and the height
    band, every joint command stays inside the driver's velocity limits and every joint inside its range."""
    seen = _record_commands(reacher, monkeypatch)
    controller = reacher._driver.controller
    rng = np.random.default_rng(0)
    reacher.reset(seed=3)
    pushes = [np.array(a, np.float32) for a in ((1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, -1))]
    actions = [a for a in pushes for _ in range(20)] + [rng.choice([-1.0, 1.0], 2).astype(np.float32) for _ in range(60)]
    hands = []
    for a in actions:
        reacher.step(a)
        hands.append(_hand(reacher))
    hands = np.array(hands)
    slack = 0.01  # m: the box's wall inset plus tracking error
    assert np.all(hands[:, :2] >= reacher.hand_low - slack) and np.all(hands[:, :2] <= reacher.hand_high + slack)
    assert np.all(np.abs(hands[:, 2] - HAND_Z) < 0.03)
    assert hands[:, 0].max() > reacher.hand_high[0] - 0.01 and hands[:, 0].min() < reacher.hand_low[0] + 0.01  # walls reached
    commands = np.array([cmd for _, cmd in seen])
    joints = np.array([q for q, _ in seen])
    assert np.all(np.abs(commands) <= controller.vmax + 1e-9)
    assert np.all(joints >= controller.kin.lower) and np.all(joints <= controller.kin.upper)


def test_driver_and_mocap_reach_the_same_places(reacher, mocap_reacher):
    """Piecewise-constant actions from the same start: the hand ends each segment where the mocap's does."""
    rng = np.random.default_rng(4)
    for env in (reacher, mocap_reacher):
        env.reset(seed=4)
    gaps = []
    for _ in range(6):
        a = rng.uniform(-1, 1, 2).astype(np.float32)
        for _ in range(4):
            reacher.step(a)
            mocap_reacher.step(a)
        for _ in range(3):  # settle: both stop where their targets are
            reacher.step(np.zeros(2, np.float32))
            mocap_reacher.step(np.zeros(2, np.float32))
        gaps.append(np.linalg.norm(_hand(reacher)[:2] - _hand(mocap_reacher)[:2]))
    assert max(gaps) < 0.02, gaps


def test_driver_mode_pushes_the_puck():
    env = sawyer_sim.make("pusher", seed=0, control="driver")
    try:
        obs, _ = env.reset(seed=0)
        puck0 = obs["state"][2:4].copy()
        for _ in range(10):  # hand starts below the puck (y 0.5 vs 0.6): push along +y
            obs, *_ = env.step(np.array([0.0, 1.0], np.float32))
        assert obs["state"][3] - puck0[1] > 0.03
    finally:
        env.close()


def test_reset_starts_from_rest(reacher):
    reacher.reset(seed=5)
    for _ in range(3):
        reacher.step(np.array([1.0, 1.0], np.float32))
    obs, _ = reacher.reset(seed=5)
    start = _hand(reacher)
    np.testing.assert_allclose(obs["state"][:2], reacher.task_spec.hand_start, atol=1e-3)
    reacher.step(np.zeros(2, np.float32))  # no velocity carried over from before the reset
    assert np.linalg.norm(_hand(reacher) - start) < 0.002


def test_bad_control_modes_are_refused():
    with pytest.raises(ValueError, match="control must be one of"):
        sawyer_sim.make("reacher", control="joints")
    with pytest.raises(ValueError, match="has its own actions"):
        sawyer_sim.make("door", control="driver")
    with pytest.raises(ConfigError, match="arm_control"):
        RIGConfig(arm_control="joints").validate()
