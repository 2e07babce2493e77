"""The limit functions on their own."""

from __future__ import annotations

import numpy as np
import pytest

from sawyer_driver import limits


def test_finite_or_zero_voids_the_whole_vector():
    np.testing.assert_array_equal(limits.finite_or_zero(np.array([1.0, np.nan, 2.0])), np.zeros(3))
    np.testing.assert_array_equal(limits.finite_or_zero(np.array([1.0, np.inf])), np.zeros(2))
    np.testing.assert_array_equal(limits.finite_or_zero(np.array([1.0, -2.0])), [1.0, -2.0])


def test_cap_norm_keeps_direction():
    v = limits.cap_norm(np.array([3.0, 4.0, 0.0]), 1.0)
    np.testing.assert_allclose(v, [0.6, 0.8, 0.0])
    np.testing.assert_array_equal(limits.cap_norm(np.array([0.1, 0.0]), 1.0), [0.1, 0.0])


def test_cap_change_bounds_every_entry():
    prev = np.array([0.0, 1.0])
    out = limits.cap_change(np.array([2.0, 0.0]), prev, 0.1)
    assert np.all(np.abs(out - prev) <= 0.1 + 1e-12)
    np.testing.assert_allclose(out - prev, [0.1, -0.05])  # the change is scaled as one vector


def test_scale_to_limits_keeps_direction():
    out = limits.scale_to_limits(np.array([4.0, 1.0]), np.array([1.0, 1.0]))
    np.testing.assert_allclose(out, [1.0, 0.25])


def test_box_velocity_slows_toward_walls_and_leads_back_in():
    box = limits.Workspace(low=(-0.1, -0.1, 0.0), high=(0.1, 0.1, 0.2), approach_rate=5.0)
    v = np.array([1.0, -1.0, 0.3])
    near = limits.box_velocity(v, np.array([0.09, 0.0, 0.1]), box)
    assert near[0] == pytest.approx(0.05)  # 5/s × 1 cm to the +x wall
    assert near[1] == -0.5 and near[2] == 0.3
    outside = limits.box_velocity(np.zeros(3), np.array([0.12, 0.0, 0.1]), box)
    assert outside[0] < 0  # back toward the box
    inset = limits.box_velocity(v, np.array([0.09, 0.0, 0.1]), box, inset=0.01)
    assert inset[0] == pytest.approx(0.0)


def test_workspace_rejects_an_empty_box():
    with pytest.raises(ValueError, match="low < high"):
        limits.Workspace(low=(0.0, 0.0, 0.0), high=(0.1, 0.0, 0.1))
    with pytest.raises(ValueError, match="finite"):
        limits.Workspace(low=(0.0, 0.0, float("nan")), high=(0.1, 0.1, 0.1))


def test_joint_bounds_brake_before_the_limit_and_stop_at_it():
    lower, upper, vmax, acc = np.array([-1.0]), np.array([1.0]), np.array([2.0]), 8.0
    bounds = lambda q: limits.joint_velocity_bounds(np.array([q]), lower, upper, vmax, acc, 0.02, 0.01)  # noqa: E731
    lo, hi = bounds(0.0)
    assert hi[0] == 2.0 and lo[0] == -2.0
    lo, hi = bounds(0.98 - 0.08)  # 8 cm short: the braking curve √(a·d) = 0.8 rad/s, full speed away
    assert hi[0] == pytest.approx(0.8) and lo[0] == -2.0
    lo, hi = bounds(0.985)  # past the inset: may only move away
    assert hi[0] == 0.0 and lo[0] == -2.0
    # Never a step past the stopping point, even with a huge vmax and acceleration.
    lo, hi = limits.joint_velocity_bounds(np.array([0.975]), lower, upper, np.array([1e6]), 1e9, 0.02, 0.01)
    assert 0.975 + hi[0] * 0.01 <= 0.98 + 1e-12


def test_braking_on_the_curve_keeps_the_acceleration_limit():
    lower, upper, vmax, acc, dt = np.array([-10.0]), np.array([1.0]), np.array([3.0]), 8.0, 0.01
    q, v, worst = np.array([-1.0]), 3.0, 0.0  # √(a·1.98 rad) > 3 rad/s: starts below the curve
    for _ in range(300):
        _, hi = limits.joint_velocity_bounds(q, lower, upper, vmax, acc, 0.02, dt)
        v_new = min(v, hi[0])
        worst = max(worst, (v - v_new) / dt)
        v = v_new
        q = q + v * dt
    assert q[0] <= 0.98 + 1e-12 and q[0] > 0.97
    assert worst <= acc * 1.001
