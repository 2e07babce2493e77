"""rig_core.residual: residual + P-controller velocity, then the safety limits."""

from __future__ import annotations

import numpy as np

from rig_core.residual import SafetyLimits, residual_velocity, safe_velocity

LIMITS = SafetyLimits(low=(-0.25, 0.45), high=(0.25, 0.75), max_speed=0.25, period=0.1)


def test_residual_scales_and_p_term_pulls_toward_target():
    np.testing.assert_allclose(residual_velocity(np.array([1.0, -0.5]), 0.25), [0.25, -0.125])
    v = residual_velocity(np.zeros(2), 0.25, position=np.array([0.1, 0.6]), target=np.array([0.0, 0.7]), kp=2.0)
    np.testing.assert_allclose(v, [-0.2, 0.2])
    # No target or kp = 0: the P term is off.
    np.testing.assert_allclose(residual_velocity(np.ones(2), 0.1, np.zeros(2), None, kp=5.0), [0.1, 0.1])
    np.testing.assert_allclose(residual_velocity(np.ones(2), 0.1, np.zeros(2), np.ones(2), kp=0.0), [0.1, 0.1])


def test_safe_velocity_clips_speed_and_keeps_the_box():
    np.testing.assert_allclose(safe_velocity(np.array([3.0, -3.0]), None, LIMITS), [0.25, -0.25])
    at_corner = np.array([0.25, 0.45])  # upper x edge, lower y edge: no further out on either axis
    v = safe_velocity(np.array([0.2, -0.2]), at_corner, LIMITS)
    nxt = at_corner + v * LIMITS.period
    assert np.all(nxt >= np.array(LIMITS.low) - 1e-12) and np.all(nxt <= np.array(LIMITS.high) + 1e-12)
    # Outside the box: heads back in, never faster than the limit.
    v = safe_velocity(np.array([0.0, 0.0]), np.array([1.0, 0.6]), LIMITS)
    assert v[0] == -0.25


def test_safe_velocity_is_zero_on_anything_non_finite():
    for v, pos in ((np.array([np.nan, 0.0]), None), (np.array([np.inf, 0.0]), None),
                   (np.array([0.1, 0.1]), np.array([np.nan, 0.6])), (np.array([0.1, 0.1, 0.1]), None)):
        np.testing.assert_array_equal(safe_velocity(v, pos, LIMITS), np.zeros(2))
