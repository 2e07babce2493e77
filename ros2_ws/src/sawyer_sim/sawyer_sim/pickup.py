"""Visual Pick and Place / Pickup (RIG Fig. 2; Skew-Fit, thesis App. C.4): the Sawyer lifts a ball off the table.

As App. C.4 has it, the hand moves only in y and z (its x and the ball's are fixed at 0) within 10 cm in y and
13 cm in z, and the object's state space is the same size; the ball's contact sphere carries a larger
non-colliding sphere so it is easy to see at 48×48. The gripper is free here and the third action dimension
commands it: −1 open, +1 closed (position actuators on the two finger joints). The fingers grip the ball by
friction; nothing attaches it.

Goals (for evaluation, App. C.4): 75 % with the ball held in the air, 25 % with it on the table. State: hand yz,
ball yz (m); ``info``: ``ee_distance``, ``object_distance``, ``total_distance`` (m).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from sawyer_sim import model as scene
from sawyer_sim.env import TABLE_HIGH, TABLE_LOW, SawyerVisualEnv
from sawyer_sim.ik import HAND_QUAT
from sawyer_sim.tasks import MOVED_DISTANCE, TaskSpec

BALL_RADIUS = 0.02  # contact sphere (m); the gripper's closed gap is 1.8 cm, open 8.8 cm
BALL_LOOK_RADIUS = 0.03  # the non-colliding sphere drawn over it
BALL_MASS = 0.05  # kg
BALL_START = (0.6, BALL_RADIUS)  # y, z on the table under the hand
GRASP_DROP = 0.03  # a held ball's centre sits this far below the hand (inside the 9 cm tall finger pads)
OPEN_QPOS, GRIP_QPOS = (0.0, 0.0), (0.024, -0.024)  # finger joints (r_close, l_close): open, touching the ball
AIR_GOAL_SHARE = 0.75  # App. C.4: 75 % of goals in the air
FINGER_KP, FINGER_DAMPING = 300.0, 20.0  # finger position servo (N/m, N·s/m); the model's own damping (1000) is too slow
PICKUP_TASKS = {
    # hand y ∈ [0.55, 0.65] (10 cm), z ∈ [0.05, 0.18] (13 cm): at z = 0.05 the pads (±4.5 cm) clear the table
    "pickup": TaskSpec("pickup", (0.55, 0.05), (0.65, 0.18), (0.6, 0.15), (), (), (), 50, 36.0),
}
PICKUP_CAMERA = {"cam_pos": (0.5, 0.62, 0.23), "cam_target": (0.0, 0.6, 0.1)}  # from the side: y across, z up
BALL_LOW, BALL_HIGH = (0.45, 0.0), (0.75, 0.4)  # ball joint limits (y, z) and its part of the state bounds


def _ball_xml() -> str:
    inertia = 2 * BALL_MASS * BALL_RADIUS**2 / 5
    return f"""    <body name="ball" pos="0 0 0">
      <joint name="ball_y" type="slide" axis="0 1 0" range="{BALL_LOW[0]} {BALL_HIGH[0]}" limited="true" damping="0.05"/>
      <joint name="ball_z" type="slide" axis="0 0 1" range="{BALL_LOW[1]} {BALL_HIGH[1]}" limited="true" damping="0.05"/>
      <inertial pos="0 0 0" mass="{BALL_MASS}" diaginertia="{inertia:.3g} {inertia:.3g} {inertia:.3g}"/>
      <geom name="ball" type="sphere" size="{BALL_RADIUS}" rgba="0.1 0.3 0.9 1" condim="4" friction="1 0.01 0.001"
            contype="1" conaffinity="1"/>
      <geom name="ball_look" type="sphere" size="{BALL_LOOK_RADIUS}" rgba="0.1 0.3 0.9 1" contype="0" conaffinity="0"/>
    </body>"""


_ACTUATORS = (f'    <position name="r_close" joint="r_close" kp="{FINGER_KP}" ctrlrange="0 0.04" ctrllimited="true"/>\n'
              f'    <position name="l_close" joint="l_close" kp="{FINGER_KP}" ctrlrange="-0.03 0" ctrllimited="true"/>')


class SawyerPickupEnv(SawyerVisualEnv):
    """Visual Pickup: action = (y velocity, z velocity, gripper) in [-1, 1]³; see the module docstring."""

    tasks = PICKUP_TASKS
    action_dim = 3

    def __init__(self, task: str = "pickup", **kwargs: Any) -> None:
        super().__init__(task=task, **kwargs)

    # ----- hooks -----
    def _scene_xml(self, timestep: float, mesh_keep: float | None) -> str:
        return scene.build_xml([], timestep=timestep, keep=mesh_keep, offsize=max(64, self.image_size), fovy=self.task_spec.fovy,
                               objects=_ball_xml(), lock_fingers=False, actuators=_ACTUATORS, **PICKUP_CAMERA)

    def _bind_objects(self) -> None:
        self._ball_adr = int(self.model.jnt_qposadr[self.model.joint("ball_y").id])  # ball_y, then ball_z
        self._finger_adr = [int(self.model.jnt_qposadr[self.model.joint(n).id]) for n in ("r_close", "l_close")]
        for name in ("r_close", "l_close"):
            dof = self.model.jnt_dofadr[self.model.joint(name).id]
            self.model.dof_damping[dof], self.model.dof_armature[dof] = FINGER_DAMPING, 0.0

    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Hand (y, z) anywhere over the table, as it lags its box a little; the ball within its joint limits."""
        low = (TABLE_LOW[1], 0.0, BALL_LOW[0], BALL_LOW[1] - 0.05)  # the ball may sink into the table a little
        return np.array(low, np.float32), np.array((TABLE_HIGH[1], 0.6, *BALL_HIGH), np.float32)

    def _start_state(self) -> np.ndarray:
        return np.array([*self.task_spec.hand_start, *BALL_START])

    def _start_target(self) -> np.ndarray:
        return np.array([0.0, *self.task_spec.hand_start])

    def _apply_action(self, a: np.ndarray) -> None:
        start = self._target.copy()
        self._target[1:] = np.clip(start[1:] + a[:2] * self.max_step, self.hand_low, self.hand_high)
        closed = (a[2] + 1.0) / 2.0
        self.data.ctrl[:] = (0.04 * closed, -0.03 * closed)
        for k in range(1, self.frame_skip + 1):
            self.data.mocap_pos[0] = start + (self._target - start) * (k / self.frame_skip)
            mujoco.mj_step(self.model, self.data)

    # ----- goal-conditioned helpers -----
    def sample_goal_state(self, rng: np.random.Generator) -> np.ndarray:
        """75 % ball held in the air (hand anywhere high enough, ball GRASP_DROP below it), 25 % ball on the table
        under a hand at least 5 cm above it."""
        if rng.random() < AIR_GOAL_SHARE:
            hand = rng.uniform((self.hand_low[0], self.hand_low[1] + 0.03), self.hand_high)
            return np.array([*hand, hand[0], hand[1] - GRASP_DROP], np.float32)
        ball_y = rng.uniform(self.hand_low[0], self.hand_high[0])
        hand = rng.uniform((self.hand_low[0], BALL_RADIUS + 0.1), self.hand_high)
        return np.array([*hand, ball_y, BALL_RADIUS], np.float32)

    def objects_moved(self, states: np.ndarray) -> np.ndarray:
        """Per state: whether the ball lies more than MOVED_DISTANCE from its start (lifted or pushed)."""
        ball = np.asarray(states, np.float64).reshape(len(states), -1)[:, 2:4]
        return np.linalg.norm(ball - np.asarray(BALL_START), axis=1) > MOVED_DISTANCE

    # ----- internals -----
    def _held(self, state: np.ndarray) -> bool:
        """Whether a state shows the ball between the fingers and off the table (then the fingers grip it)."""
        between = abs(state[2] - state[0]) < BALL_RADIUS and abs(state[1] - GRASP_DROP - state[3]) < 0.045
        return between and state[3] > BALL_RADIUS + 0.005

    def _pose(self, state: np.ndarray) -> None:
        d = self.data
        hand = np.array([0.0, state[0], state[1]])
        self._ik.solve(hand)
        d.qpos[self._finger_adr] = GRIP_QPOS if self._held(state) else OPEN_QPOS
        d.ctrl[:] = d.qpos[self._finger_adr]
        d.qvel[:] = 0.0
        d.mocap_pos[0] = hand
        d.mocap_quat[0] = HAND_QUAT
        d.qpos[self._ball_adr : self._ball_adr + 2] = state[2:4]

    def _state(self) -> np.ndarray:
        hand = self.data.xpos[self._hand]
        return np.array([hand[1], hand[2], *self.data.qpos[self._ball_adr : self._ball_adr + 2]], np.float32)

    def _info(self, state: np.ndarray) -> dict[str, float]:
        ee = float(np.linalg.norm(state[:2] - self._goal[:2]))
        obj = float(np.linalg.norm(state[2:4] - self._goal[2:4]))
        return {"ee_distance": ee, "object_distance": obj, "total_distance": ee + obj}

    def _check_state(self, state: Any, what: str) -> np.ndarray:
        s = np.asarray(state, dtype=np.float64).reshape(-1)
        if s.shape != (4,) or not np.isfinite(s).all():
            raise ValueError(f"{what} must be 4 finite numbers (hand yz, ball yz), got {state!r}")
        return s
