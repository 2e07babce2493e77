"""ArmController on an ideal arm (q += dq·dt): tracking, orientation hold, posture, and every limit."""

from __future__ import annotations

import numpy as np
import pytest
from ideal_arm import integrate

from sawyer_driver import START_JOINTS, Workspace
from sawyer_driver.kinematics import rotation_error

Q0 = np.array(START_JOINTS)
BOX = Workspace(low=(-0.25, 0.35, 0.04), high=(0.25, 0.8, 0.35))


def test_tracks_a_linear_velocity_and_holds_orientation(controller):
    ctl = controller(workspace=BOX)
    ctl.reset(Q0)
    _, rot0 = ctl.kin.fk(Q0)
    qs, dqs, _ = integrate(ctl, Q0, [0.1, 0.05, 0.02, 0, 0, 0], 100)
    # After the acceleration ramp the tip moves at the commanded velocity.
    for q, dq in zip(qs[20:], dqs[20:], strict=True):
        _, _, jac = ctl.kin.fk_jacobian(q - dq * 0.01)
        np.testing.assert_allclose(jac[:3] @ dq, [0.1, 0.05, 0.02], atol=2e-3)
    assert np.linalg.norm(rotation_error(rot0, ctl.kin.fk(qs[-1])[1])) < 1e-3


def test_commanded_rotation_turns_the_reference(controller):
    ctl = controller(workspace=BOX)
    ctl.reset(Q0)
    _, rot0 = ctl.kin.fk(Q0)
    qs, _, ps = integrate(ctl, Q0, [0, 0, 0, 0, 0, 0.3], 100)  # 0.3 rad/s about z for 1 s
    angle = np.linalg.norm(rotation_error(ctl.kin.fk(qs[-1])[1], rot0))
    assert angle == pytest.approx(0.3, abs=0.03)
    assert np.linalg.norm(ps[-1] - ctl.kin.fk(Q0)[0]) < 2e-3


def test_null_space_pulls_toward_the_posture_without_moving_the_tip(controller):
    ctl = controller(workspace=BOX)
    null = np.linalg.svd(ctl.kin.fk_jacobian(Q0)[2])[2][-1]  # the self-motion direction at the posture
    q = Q0 + 0.3 * null / np.abs(null).max()
    ctl.reset(q)
    p0 = ctl.kin.fk(q)[0]
    qs, _, ps = integrate(ctl, q, np.zeros(6), 300)
    assert np.linalg.norm(qs[-1] - Q0) < 0.5 * np.linalg.norm(q - Q0)
    assert np.max(np.linalg.norm(ps - p0, axis=1)) < 2e-3


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_command_counts_as_zero(controller, bad):
    ctl = controller(workspace=BOX, posture_gain=0.0)
    ctl.reset(Q0)
    dq = ctl.step(Q0, np.zeros(7), np.array([0.1, bad, 0, 0, 0, 0]), 0.01)
    assert ctl.report.bad_input
    np.testing.assert_allclose(dq, 0.0, atol=1e-9)


def test_non_finite_state_gives_zero(controller):
    ctl = controller(workspace=BOX)
    ctl.reset(Q0)
    q = Q0.copy()
    q[3] = np.nan
    np.testing.assert_array_equal(ctl.step(q, np.zeros(7), np.array([0.1, 0, 0, 0, 0, 0]), 0.01), np.zeros(7))
    np.testing.assert_array_equal(ctl.step(Q0, np.zeros(7), np.zeros(6), float("nan")), np.zeros(7))


def random_and_adversarial_commands(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    cmds = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            cmds.append(rng.normal(0, 0.3, 6))
        elif kind == 1:
            cmds.append(rng.normal(0, 1e6, 6))  # huge
        elif kind == 2:
            c = rng.normal(0, 1, 6)
            c[rng.integers(6)] = rng.choice([np.nan, np.inf, -np.inf])
            cmds.append(c)
        else:
            cmds.append(np.array([*rng.choice([-1.0, 1.0], 3) * 5.0, *rng.normal(0, 2, 3)]))  # into a corner, spinning
    return cmds


def test_no_limit_is_ever_exceeded_under_random_and_adversarial_commands(controller):
    ctl = controller(workspace=BOX)
    ctl.reset(Q0)
    rng = np.random.default_rng(1)
    q = Q0.copy()
    prev_dq, prev_p = np.zeros(7), ctl.kin.fk(q)[0]
    dt, overrides = 0.01, 0
    for cmd in random_and_adversarial_commands(rng, 60):
        for _ in range(25):  # hold each command for 0.25 s
            dq = ctl.step(q, prev_dq, cmd, dt)
            assert np.all(np.isfinite(dq))
            assert np.all(np.abs(dq) <= ctl.vmax + 1e-12)  # joint velocity × scale
            q = q + dq * dt
            assert np.all(q >= ctl.kin.lower) and np.all(q <= ctl.kin.upper)  # joint positions
            p = ctl.kin.fk(q)[0]
            assert BOX.contains(p), p  # workspace box, z included
            assert np.linalg.norm(p - prev_p) / dt <= ctl.cfg.max_speed * 1.05 + 1e-6  # Cartesian speed
            if np.any(np.abs(dq - prev_dq) > ctl.cfg.joint_acceleration * dt + 1e-9):  # joint acceleration
                assert ctl.report.joints_at_limit or ctl.report.tip_scaled  # only a safety bound outranks it
                overrides += 1
            prev_dq, prev_p = dq, p
    print("acceleration overridden on", overrides, "of", 60 * 25, "steps")
    assert overrides < 0.05 * 60 * 25


def test_cartesian_acceleration_is_limited(controller):
    ctl = controller(workspace=BOX, max_acceleration=2.0)
    ctl.reset(Q0)
    _, _, ps = integrate(ctl, Q0, [0.25, 0, 0, 0, 0, 0], 30)
    speed = np.linalg.norm(np.diff(ps, axis=0), axis=1) / 0.01
    assert speed[0] <= 2.0 * 0.02 + 1e-3  # 2 m/s² for two ticks
    assert np.all(np.diff(speed) <= 2.0 * 0.01 + 2e-3)


@pytest.mark.parametrize("axis", range(3))
@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_pushing_into_each_wall_stops_at_the_wall(controller, axis, sign):
    ctl = controller(workspace=BOX)
    ctl.reset(Q0)
    twist = np.zeros(6)
    twist[axis] = sign * 0.3
    _, _, ps = integrate(ctl, Q0, twist, 300)
    wall = (BOX.high if sign > 0 else BOX.low)[axis]
    assert all(BOX.contains(p) for p in ps)
    assert abs(ps[-1][axis] - wall) < 0.012  # reached it (5 mm inset + slow approach), never through it
    assert ctl.report.at_wall


def test_joint_position_limit_slows_then_stops_the_joint(controller, kin):
    ctl = controller(workspace=Workspace(low=(-2, -2, -2), high=(2, 2, 2)), posture_gain=0.0)
    q = Q0.copy()
    q[1] = kin.upper[1] - 0.15  # j1 close to its upper limit (-0.5 in the sim model)
    ctl.reset(q)
    _, _, jac = kin.fk_jacobian(q)
    toward = jac[:3, 1] / np.linalg.norm(jac[:3, 1])  # the tip direction j1 drives most
    qs, _, _ = integrate(ctl, q, [*(0.3 * toward), 0, 0, 0], 300)
    assert qs[:, 1].max() <= kin.upper[1] - ctl.cfg.position_inset + 1e-9
    assert qs[-1, 1] > kin.upper[1] - ctl.cfg.position_inset - 0.01  # it got there
    assert 1 in ctl.report.joints_at_limit


def test_velocities_stay_bounded_driving_into_a_singularity(controller, kin):
    # Elbow almost straight (j3 = 0.05): the Jacobian nearly loses rank; command the direction it cannot move in.
    ctl = controller(workspace=Workspace(low=(-2, -2, -2), high=(2, 2, 2)), velocity_scale=1.0)
    q = Q0.copy()
    q[1], q[3] = -1.0, 0.05  # j1 away from its limit so that only the singularity shapes the motion
    ctl.reset(q)
    u, s, _ = np.linalg.svd(kin.fk_jacobian(q)[2])
    twist = 0.3 * u[:, -1]
    assert s[-1] < ctl.cfg.singular_threshold
    undamped = np.linalg.pinv(kin.fk_jacobian(q)[2]) @ twist
    assert np.max(np.abs(undamped) / kin.velocity_limit) > 1.5  # what plain least squares would ask for
    qs, dqs, _ = integrate(ctl, q, twist, 200)
    assert np.all(np.isfinite(dqs))
    assert np.all(np.abs(dqs) <= ctl.vmax + 1e-12)
    assert np.all(np.abs(np.diff(dqs, axis=0)) <= ctl.cfg.joint_acceleration * 0.01 + 1e-9)  # no chatter
    assert np.all(qs >= kin.lower) and np.all(qs <= kin.upper)
    assert ctl.report.min_singular_value < ctl.cfg.singular_threshold  # still at the singularity, damped


def test_stop_resets_the_acceleration_ramp(controller):
    ctl = controller(workspace=BOX)
    ctl.reset(Q0)
    integrate(ctl, Q0, [0.2, 0, 0, 0, 0, 0], 30)
    ctl.stop()
    dq = ctl.step(Q0, np.zeros(7), np.array([0.2, 0, 0, 0, 0, 0]), 0.01)
    _, _, jac = ctl.kin.fk_jacobian(Q0)
    assert np.linalg.norm(jac[:3] @ dq) <= ctl.cfg.max_acceleration * 0.01 + 1e-6
