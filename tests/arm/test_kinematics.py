"""Driver kinematics (Pinocchio on the URDF written from the sim model) against MuJoCo, and its bad input."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from sawyer_driver import SAWYER_JOINT_NAMES, Kinematics, KinematicsError
from sawyer_twin.model import HAND_BODY, TIP_LINK


def test_fk_matches_mujoco_hand_within_1mm(twin_model, kin):
    data = mujoco.MjData(twin_model)
    hand = mujoco.mj_name2id(twin_model, mujoco.mjtObj.mjOBJ_BODY, HAND_BODY)
    qadr = [twin_model.jnt_qposadr[twin_model.joint(n).id] for n in SAWYER_JOINT_NAMES]
    rng = np.random.default_rng(0)
    pos_err, rot_err = [], []
    for _ in range(100):
        q = rng.uniform(kin.lower, kin.upper)
        data.qpos[qadr] = q
        mujoco.mj_kinematics(twin_model, data)
        p, rot = kin.fk(q)
        pos_err.append(np.linalg.norm(p - data.xpos[hand]))
        rot_err.append(np.abs(rot - data.xmat[hand].reshape(3, 3)).max())
    assert max(pos_err) < 1e-3
    assert max(rot_err) < 1e-6


def test_jacobian_matches_finite_differences(kin):
    q = np.array([1.9, -0.7, -0.6, 1.9, 1.2, 0.6, 2.0])
    _, rot, jac = kin.fk_jacobian(q)
    eps = 1e-6
    for i in range(kin.n):
        dq = np.zeros(kin.n)
        dq[i] = eps
        p1, r1 = kin.fk(q + dq)
        p0, r0 = kin.fk(q - dq)
        np.testing.assert_allclose(jac[:3, i], (p1 - p0) / (2 * eps), atol=1e-6)
        skew = (r1 - r0) / (2 * eps) @ rot.T
        np.testing.assert_allclose(jac[3:, i], [skew[2, 1], skew[0, 2], skew[1, 0]], atol=1e-6)


def test_limits_come_from_the_urdf(kin, twin_model):
    assert kin.joint_names == SAWYER_JOINT_NAMES
    for i, name in enumerate(SAWYER_JOINT_NAMES):
        lo, hi = twin_model.jnt_range[twin_model.joint(name).id]
        assert kin.lower[i] == pytest.approx(lo) and kin.upper[i] == pytest.approx(hi)
    np.testing.assert_allclose(kin.velocity_limit, [1.74, 1.33, 1.96, 1.96, 3.49, 3.49, 4.55])


def test_joint_order_follows_the_names_given(urdf, kin):
    order = list(reversed(SAWYER_JOINT_NAMES))
    flipped = Kinematics(urdf, joint_names=order, tip_link=TIP_LINK)
    q = np.array([1.9, -0.7, -0.6, 1.9, 1.2, 0.6, 2.0])
    np.testing.assert_allclose(flipped.fk(q[::-1])[0], kin.fk(q)[0], atol=1e-12)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda u: Kinematics("", tip_link=TIP_LINK), "empty robot description"),
        (lambda u: Kinematics("<robot", tip_link=TIP_LINK), "cannot parse"),
        (lambda u: Kinematics(u, joint_names=("right_j0", "left_j1"), tip_link=TIP_LINK), "left_j1"),
        (lambda u: Kinematics(u, tip_link="no_such_link"), "no_such_link"),
    ],
)
def test_bad_descriptions_give_one_clear_error(urdf, make, message):
    with pytest.raises(KinematicsError, match=message) as err:
        make(urdf)
    assert "\n" not in str(err.value)


def test_ik_recovers_a_reachable_pose(kin):
    from sawyer_driver.kinematics import solve_ik

    q_true = np.array([1.8, -0.8, -0.5, 1.9, 1.1, 0.8, 1.7])
    p, rot = kin.fk(q_true)
    q, ok = solve_ik(kin, p, rot, seed=q_true + 0.2)
    assert ok
    np.testing.assert_allclose(kin.fk(q)[0], p, atol=1e-5)
    _, ok = solve_ik(kin, p + np.array([5.0, 0.0, 0.0]), rot, seed=q_true)  # out of reach
    assert not ok
