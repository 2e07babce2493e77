"""The reset trajectory: ends at the goal, respects velocity and acceleration limits, starts and ends at rest."""

from __future__ import annotations

import numpy as np
import pytest

from sawyer_driver.reset import ResetTrajectory, reset_goal


def test_min_jerk_reaches_goal_within_limits():
    start, goal = np.array([0.0, 1.0, -0.5]), np.array([1.0, 0.8, 0.5])
    vmax, amax = np.array([0.5, 0.5, 1.0]), np.array([2.0, 2.0, 2.0])
    traj = ResetTrajectory(start, goal, vmax, amax)
    ts = np.linspace(0.0, traj.duration + 0.5, 2001)
    qs = np.array([traj.sample(t)[0] for t in ts])
    dqs = np.array([traj.sample(t)[1] for t in ts])
    np.testing.assert_allclose(qs[0], start)
    np.testing.assert_allclose(qs[-1], goal)
    np.testing.assert_allclose(dqs[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(dqs[-1], 0.0, atol=1e-12)
    assert np.all(np.abs(dqs) <= vmax * (1 + 1e-6))
    acc = np.diff(dqs, axis=0) / np.diff(ts)[:, None]
    assert np.all(np.abs(acc) <= amax * 1.01)
    # The velocity limit binds for joint 0 (1.875 × 1 rad / 0.5 rad/s).
    assert traj.duration == pytest.approx(3.75)


def test_short_reset_takes_the_minimum_duration():
    traj = ResetTrajectory(np.zeros(2), np.full(2, 1e-4), np.ones(2), np.ones(2), min_duration=0.5)
    assert traj.duration == 0.5


def test_bad_reset_input_is_refused():
    with pytest.raises(ValueError, match="finite"):
        ResetTrajectory(np.zeros(2), np.array([0.0, np.nan]), np.ones(2), np.ones(2))


def test_goal_is_moved_inside_the_limits():
    goal = reset_goal(np.array([1.0, -2.0, 0.0]), np.full(3, -1.0), np.full(3, 1.0), 0.05)
    np.testing.assert_allclose(goal, [0.95, -0.95, 0.0])
