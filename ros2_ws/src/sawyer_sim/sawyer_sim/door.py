"""Visual Door (RIG Fig. 2; Skew-Fit, thesis App. C.4): the Sawyer pulls a door open with a hook on its hand.

A door stands on the table facing the robot, hinged on a vertical axis at one edge; a handle bar stands off its
robot-side face. The gripper holds a vertical rod (the hook): lowered into the gap between bar and door and moved
toward the robot, it pulls the door open; pushed away, it closes it; lifted, it clears the bar. Only the hook
touches the door (separate collision bits), so the arm never snags on it.

App. C.4 values: the hand moves in a 5 × 20 × 15 cm box (x, y, z), the door angle lies in [0, 0.83] rad, and the
hand and door are not reset between episodes: ``reset()`` keeps both where they are and only draws a new goal.
``reset(seed=...)`` (and the first reset) restores the start state, so seeded episodes (evaluation, ``check_env``)
are reproducible. State: hand xyz (m), door angle (rad); ``info``: ``ee_distance`` (m), ``angle_distance`` (rad,
the thesis' metric), ``total_distance`` (their sum, as the reward's magnitude).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from sawyer_sim import model as scene
from sawyer_sim.env import OUT_OF_VIEW_BODIES, TABLE_HIGH, TABLE_LOW, SawyerVisualEnv
from sawyer_sim.ik import HAND_QUAT
from sawyer_sim.tasks import TaskSpec

HINGE_XY = (-0.18, 0.78)  # door hinge on the table (m); the door spans x ∈ [-0.15, 0.19] when closed
DOOR_HALF = (0.17, 0.01, 0.07)  # panel half-sizes: 34 cm wide, 2 cm thick, 14 cm tall
HANDLE = {"from": 0.08, "to": 0.30, "standoff": 0.05, "z": 0.10, "radius": 0.01}  # bar along the panel, off its face
HOOK = {"top": -0.02, "bottom": -0.17, "radius": 0.008}  # rod below the hand (m, hand frame z)
MAX_ANGLE = 0.83  # rad, App. C.4
MOVED_ANGLE = 0.1  # rad: the door counts as opened (goal-coverage measure)
DOOR_CAMERA = {"cam_pos": (0.42, 0.36, 0.46), "cam_target": (0.0, 0.68, 0.12)}
DOOR_TASKS = {
    # hand box 5 × 20 × 15 cm (App. C.4): the hook reaches the gap at y = 0.745 and pulls to 0.545 (door at 0.83 rad)
    "door": TaskSpec("door", (-0.025, 0.545, 0.19), (0.025, 0.745, 0.34), (0.0, 0.745, 0.22), (), (), (), 100, 40.0),
}
# This camera never sees the base, torso, head and arm up to the forearm (tests/test_sawyer_env.py checks every pixel).
DOOR_OUT_OF_VIEW = (*OUT_OF_VIEW_BODIES, "right_l4")


def _door_xml() -> str:
    hx, hy = HINGE_XY
    w, t, h = DOOR_HALF
    bar, hook = HANDLE, HOOK
    by = -bar["standoff"]
    solid = 'contype="2" conaffinity="2"'
    blue = f'rgba="0.15 0.15 0.6 1" {solid}'
    inertia = " ".join(f"{(a * a + b * b) / 3:.5f}" for a, b in ((t, h), (w, h), (w, t)))  # 1 kg box about its centre
    standoff = f'type="box" size="0.008 {bar["standoff"] / 2} 0.008"'
    return f"""    <body name="door_post" pos="{hx} {hy} 0">
      <geom name="door_post" type="box" size="0.015 0.015 {h + 0.01}" pos="-0.017 0 {h + 0.01}" rgba="0.35 0.25 0.15 1" {solid}/>
    </body>
    <body name="door" pos="{hx} {hy} 0">
      <joint name="door_hinge" type="hinge" axis="0 0 -1" range="0 {MAX_ANGLE}" limited="true" solreflimit="0.004 1"
             damping="2" armature="0.01"/>
      <inertial pos="{w} 0 {h}" mass="1.0" diaginertia="{inertia}"/>
      <geom name="door_panel" type="box" size="{w} {t} {h}" pos="{w} 0 {h}" rgba="0.85 0.45 0.15 1" {solid}/>
      <geom name="door_bar" type="capsule" fromto="{bar['from']} {by} {bar['z']} {bar['to']} {by} {bar['z']}"
            size="{bar['radius']}" {blue}/>
      <geom name="door_standoff0" {standoff} pos="{bar['from']} {by / 2} {bar['z']}" {blue}/>
      <geom name="door_standoff1" {standoff} pos="{bar['to']} {by / 2} {bar['z']}" {blue}/>
    </body>
    <body name="hook" mocap="true" pos="0 0.7 0.3">
      <geom name="hook_rod" type="capsule" fromto="0 0 {hook['top']} 0 0 {hook['bottom']}" size="{hook['radius']}"
            rgba="0.1 0.7 0.2 1" {solid}/>
    </body>"""


class SawyerDoorEnv(SawyerVisualEnv):
    """Visual Door: action = end-effector xyz velocity in [-1, 1]³ (× MAX_STEP per step); see the module docstring."""

    tasks = DOOR_TASKS
    action_dim = 3
    out_of_view = DOOR_OUT_OF_VIEW

    def __init__(self, task: str = "door", **kwargs: Any) -> None:
        super().__init__(task=task, **kwargs)

    # ----- hooks -----
    def _scene_xml(self, timestep: float, mesh_keep: float | None) -> str:
        return scene.build_xml([], timestep=timestep, keep=mesh_keep, offsize=max(64, self.image_size),
                               fovy=self.task_spec.fovy, objects=_door_xml(), **DOOR_CAMERA)

    def _bind_objects(self) -> None:
        self._door_adr = int(self.model.jnt_qposadr[self.model.joint("door_hinge").id])
        self._hook_mocap = int(self.model.body_mocapid[self._body("hook")])

    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Hand anywhere over the table (it lags its box a little), door angle with room for the soft joint limit."""
        return np.array([*TABLE_LOW, 0.0, -0.05], np.float32), np.array([*TABLE_HIGH, 0.6, MAX_ANGLE + 0.05], np.float32)

    def _start_state(self) -> np.ndarray:
        return np.array([*self.task_spec.hand_start, 0.0])

    def _start_target(self) -> np.ndarray:
        return np.array(self.task_spec.hand_start, np.float64)

    def _full_reset(self, seed: int | None, options: dict[str, Any] | None) -> bool:
        first = not getattr(self, "_was_reset", False)
        self._was_reset = True
        return first or seed is not None

    def _move_mocap(self, target: np.ndarray) -> None:
        self.data.mocap_pos[0] = target
        self.data.mocap_pos[self._hook_mocap] = target

    def _apply_action(self, a: np.ndarray) -> None:
        start = self._target.copy()
        self._target[:] = np.clip(start + a * self.max_step, self.hand_low, self.hand_high)
        for k in range(1, self.frame_skip + 1):  # straight line over the control period, as the pushers
            self._move_mocap(start + (self._target - start) * (k / self.frame_skip))
            mujoco.mj_step(self.model, self.data)

    # ----- goal-conditioned helpers -----
    def sample_goal_state(self, rng: np.random.Generator) -> np.ndarray:
        """Hand uniform in its box, door angle uniform in [0, 0.83] rad (independent, as in App. C.4's goal space)."""
        return np.array([*rng.uniform(self.hand_low, self.hand_high), rng.uniform(0.0, MAX_ANGLE)], np.float32)

    def objects_moved(self, states: np.ndarray) -> np.ndarray:
        """Per state: whether the door is open by more than MOVED_ANGLE."""
        return np.asarray(states, np.float64).reshape(len(states), -1)[:, 3] > MOVED_ANGLE

    # ----- internals -----
    def _pose(self, state: np.ndarray) -> None:
        d = self.data
        self._ik.solve(np.asarray(state[:3], np.float64))
        d.qpos[7:9] = (0.04, -0.03)  # closed on the hook
        d.qvel[:] = 0.0
        self._move_mocap(np.asarray(state[:3], np.float64))
        d.mocap_quat[0] = HAND_QUAT
        d.qpos[self._door_adr] = state[3]

    def _state(self) -> np.ndarray:
        return np.array([*self.data.xpos[self._hand], self.data.qpos[self._door_adr]], np.float32)

    def _info(self, state: np.ndarray) -> dict[str, float]:
        ee = float(np.linalg.norm(state[:3] - self._goal[:3]))
        angle = float(abs(state[3] - self._goal[3]))
        return {"ee_distance": ee, "angle_distance": angle, "total_distance": ee + angle}

    def _check_state(self, state: Any, what: str) -> np.ndarray:
        s = np.asarray(state, dtype=np.float64).reshape(-1)
        if s.shape != (4,) or not np.isfinite(s).all():
            raise ValueError(f"{what} must be 4 finite numbers (hand xyz, door angle), got {state!r}")
        return s
