"""The arm's kinematics from its URDF (Pinocchio): tip pose, world-aligned Jacobian, joint limits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pinocchio as pin

# Sawyer joint velocity limits (rad/s), right_j0 .. right_j6, as on the robot (intera's URDF).
SAWYER_JOINT_NAMES = tuple(f"right_j{i}" for i in range(7))
SAWYER_VELOCITY_LIMITS = (1.74, 1.33, 1.96, 1.96, 3.49, 3.49, 4.55)


class KinematicsError(ValueError):
    """The URDF does not describe the arm the driver was configured for (one clear line)."""


class Kinematics:
    """Forward kinematics and Jacobian of ``tip_link`` over the joints ``joint_names`` (others locked at zero).

    Joint vectors are always in the order of ``joint_names``; poses and Jacobians are in the URDF's root frame.
    """

    def __init__(self, urdf_xml: str, joint_names: Sequence[str] = SAWYER_JOINT_NAMES, tip_link: str = "right_hand") -> None:
        if not urdf_xml or not urdf_xml.strip():
            raise KinematicsError("empty robot description (URDF)")
        try:
            full = pin.buildModelFromXML(urdf_xml)
        except Exception as exc:  # pinocchio raises ValueError/RuntimeError depending on the parser stage
            raise KinematicsError(f"cannot parse the robot description: {str(exc).splitlines()[0]}") from exc
        names = [full.names[i] for i in range(1, full.njoints)]
        missing = [n for n in joint_names if n not in names]
        if missing:
            raise KinematicsError(f"joints {missing} are not in the robot description (it has {names})")
        locked = [full.getJointId(n) for n in names if n not in joint_names]
        self.model = pin.buildReducedModel(full, locked, pin.neutral(full)) if locked else full
        self.data = self.model.createData()
        if self.model.nq != len(joint_names) or self.model.nv != len(joint_names):
            raise KinematicsError(f"expected {len(joint_names)} revolute joints, model has nq={self.model.nq}")
        if not self.model.existFrame(tip_link):
            links = [f.name for f in self.model.frames if f.type == pin.FrameType.BODY]
            raise KinematicsError(f"tip link {tip_link!r} is not in the robot description (links: {links})")
        body = self.model.existFrame(tip_link, pin.FrameType.BODY)
        self.tip = self.model.getFrameId(tip_link, pin.FrameType.BODY) if body else self.model.getFrameId(tip_link)
        self.joint_names = tuple(joint_names)
        self.tip_link = tip_link
        # Pinocchio orders joints by the tree; `order[k]` is the model index of joint_names[k].
        self._order = np.array([self.model.idx_qs[self.model.getJointId(n)] for n in joint_names])
        self.lower = self.model.lowerPositionLimit[self._order].copy()
        self.upper = self.model.upperPositionLimit[self._order].copy()
        self.velocity_limit = self.model.velocityLimit[self._order].copy()
        self._q = np.zeros(self.model.nq)

    @property
    def n(self) -> int:
        return len(self.joint_names)

    def _update(self, q: np.ndarray) -> None:
        self._q[self._order] = q
        pin.forwardKinematics(self.model, self.data, self._q)
        pin.updateFramePlacement(self.model, self.data, self.tip)

    def fk(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tip position (3,) and rotation matrix (3, 3) at joint angles ``q``."""
        self._update(np.asarray(q, dtype=float))
        placement = self.data.oMf[self.tip]
        return placement.translation.copy(), placement.rotation.copy()

    def fk_jacobian(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tip position, rotation and the 6×n Jacobian (linear rows first, world-aligned at the tip)."""
        q = np.asarray(q, dtype=float)
        self._q[self._order] = q
        pin.computeJointJacobians(self.model, self.data, self._q)
        pin.updateFramePlacements(self.model, self.data)
        jac = pin.getFrameJacobian(self.model, self.data, self.tip, pin.ReferenceFrame.LOCAL_WORLD_ALIGNED)
        placement = self.data.oMf[self.tip]
        return placement.translation.copy(), placement.rotation.copy(), jac[:, self._order]


def rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Angular error (3,) in the world frame that rotates ``current`` onto ``target`` (axis × angle)."""
    return pin.log3(target @ current.T)


def rotate(rotation: np.ndarray, omega: np.ndarray, dt: float) -> np.ndarray:
    """``rotation`` turned by the world-frame angular velocity ``omega`` for ``dt`` seconds."""
    return pin.exp3(np.asarray(omega, dtype=float) * dt) @ rotation


def quaternion_xyzw(rotation: np.ndarray) -> np.ndarray:
    """The rotation matrix as a unit quaternion (x, y, z, w), the order of geometry_msgs/Quaternion."""
    return pin.Quaternion(rotation).normalized().coeffs().copy()


def solve_ik(
    kin: Kinematics, position: np.ndarray, rotation: np.ndarray, seed: np.ndarray, iters: int = 200, tol: float = 1e-5
) -> tuple[np.ndarray, bool]:
    """Joint angles putting the tip at ``position`` / ``rotation`` by damped Newton steps from ``seed``, kept
    inside the joint limits; returns ``(q, converged)`` (position error < ``tol`` m, rotation < 10·``tol`` rad)."""
    q = np.clip(np.asarray(seed, dtype=float), kin.lower, kin.upper)
    for _ in range(iters):
        p, rot, jac = kin.fk_jacobian(q)
        err = np.concatenate([position - p, rotation_error(rotation, rot)])
        if np.linalg.norm(err[:3]) < tol and np.linalg.norm(err[3:]) < 10 * tol:
            return q, True
        dq = jac.T @ np.linalg.solve(jac @ jac.T + 1e-4 * np.eye(6), err)
        q = np.clip(q + dq, kin.lower, kin.upper)
    p, rot = kin.fk(q)
    return q, bool(np.linalg.norm(position - p) < tol and np.linalg.norm(rotation_error(rotation, rot)) < 10 * tol)


def rotation_from_xyzw(x: float, y: float, z: float, w: float) -> np.ndarray:
    """Rotation matrix of a (not necessarily unit) quaternion given as geometry_msgs orders it."""
    return pin.Quaternion(w, x, y, z).normalized().toRotationMatrix()
