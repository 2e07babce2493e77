"""Visual Insertion (Nair thesis ch. 9, §9.3.2): the Sawyer pushes a peg held in its gripper into a socket.

The peg (1.8 cm square, 8 cm long) rides on three slide joints driven by stiff position servos: a compliant
Cartesian position controller, as the real arm's impedance control (§9.3, Fig. 42). The hand follows the peg
(its mocap is put over the peg every physics step), so the arm is drawn holding it; only peg and socket touch
each other (their own collision bits). The socket is four boxes and a floor on the table: a square, chamfer-less
hole ``CLEARANCE`` wider than the peg on each side, ``SOCKET_HEIGHT`` deep.

Each episode the socket sits at a uniform position in ``SOCKET_RANGE``; the peg starts 5 cm above it (§9.4.2: "the
reset position, which is located 5 cm above the goal") with a small xy offset. A hand-designed controller is given
``controller_target`` x* = the fully inserted pose plus an xy error uniform in ±``target_error`` per axis (the
calibration error of the thesis' noisy-goal runs, §9.6.4, drawn per episode like §8.5.2's variation). With an error
beyond the clearance the peg lands on the socket rim, so the P-controller alone often fails.

Action: the peg's next position relative to where it is, ``action · MAX_STEP`` per axis (§9.3: "relative
end-effector movement in Cartesian coordinates"); the servo force is therefore bounded. State (§9.3.2.2): peg tip
xyz (m) and the vertical force f_z (N) on it, from a MuJoCo force sensor between peg and carrier, calibrated at
reset (§9.3.2.3) and positive when the peg presses down on something. ``goal_state``: the inserted pose (f_z 0).
Rewards: ``sparse`` (Eq. 47), ``dense`` (Eq. 48); the image-goal reward comes from rig_core (latent distance to
``goal_image``, the inserted pose rendered). ``info["is_success"]``: the tip is ``INSERT_DEPTH`` inside the hole.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from sawyer_sim import model as scene
from sawyer_sim.env import TABLE_HIGH, TABLE_LOW, SawyerVisualEnv
from sawyer_sim.ik import HAND_QUAT
from sawyer_sim.tasks import TaskSpec

PEG_HALF = 0.009  # m, half width of the square peg (the closed gripper holds 1.8 cm)
PEG_LENGTH = 0.08
PEG_MASS = 0.1  # kg
HAND_ABOVE_TIP = 0.10  # the hand body sits this far above the peg tip (peg top 2 cm under the hand)
HAND_OFFSET = np.array([0.0, 0.0, HAND_ABOVE_TIP])
CLEARANCE = 0.003  # m per side between peg and hole
WALL = 0.01  # socket wall thickness
SOCKET_HEIGHT = 0.025  # hole depth = wall height above the table; the floor is FLOOR thick
FLOOR = 0.002
INSERT_DEPTH = 0.015  # success: the tip at least this far below the socket top
CONTACT_SLACK = 0.001  # m: a peg pressed against a wall sinks this far into it (soft contacts)
FRICTION = 0.8  # peg on socket (sliding)
SERVO_KP = 400.0  # N/m, Cartesian stiffness of the peg servo
SERVO_DAMPING = 2 * np.sqrt(SERVO_KP * PEG_MASS)  # critically damped
MAX_STEP = 0.01  # m per env step at action magnitude 1 (0.1 m/s at 10 Hz)
START_HEIGHT = 0.05  # peg tip starts this far above the socket top
START_NOISE = 0.01  # m, uniform xy offset of the start over the socket
SOCKET_RANGE = ((-0.05, 0.55), (0.05, 0.65))  # socket centre xy (low, high)
TARGET_ERROR = 0.006  # m, default controller target error (uniform per axis, ±); P-controller success vs error: RESULTS.md
DENSE = {"alpha": 100.0, "beta": 0.002, "phi": 0.1, "eps": 1e-3}  # Eq. 48 values (§9.3.2.3; ε unspecified, ≪ 1)
REWARDS = ("dense", "sparse")
FORCE_LIMIT = 100.0  # N, bound of f_z in the state space (the servo cannot push harder than ~kp · MAX_STEP)
INSERTION_CAMERA = {"cam_pos": (0.0, 0.95, 0.32), "cam_target": (0.0, 0.6, 0.02)}
INSERTION_TASKS = {
    # servo target box (x, y, z): the socket range plus room to move; down to 1 cm under the socket floor, so the peg
    # can press on what it touches (the floor, the rim, or a plate under the socket that the camera does not draw)
    "insertion": TaskSpec("insertion", (-0.12, 0.45, FLOOR - MAX_STEP), (0.12, 0.75, 0.15), (0.0, 0.6, 0.075), (), (), (),
                          30, 30.0),
}


def _socket_xml() -> str:
    hole = PEG_HALF + CLEARANCE
    half_h = SOCKET_HEIGHT / 2
    solid = f'contype="2" conaffinity="2" condim="3" friction="{FRICTION} 0.005 0.0001" rgba="0.2 0.2 0.25 1"'
    side = hole + WALL  # walls along x cover the corners
    walls = [
        (0.0, hole + WALL / 2, side, WALL / 2), (0.0, -hole - WALL / 2, side, WALL / 2),
        (hole + WALL / 2, 0.0, WALL / 2, hole), (-hole - WALL / 2, 0.0, WALL / 2, hole),
    ]
    geoms = "\n".join(
        f'      <geom name="socket_wall{i}" type="box" pos="{x} {y} {half_h}" size="{sx} {sy} {half_h}" {solid}/>'
        for i, (x, y, sx, sy) in enumerate(walls))
    inertia = PEG_MASS * (PEG_HALF**2 + (PEG_LENGTH / 2) ** 2) / 3
    return f"""    <body name="socket" pos="0 0.6 0">
{geoms}
      <geom name="socket_floor" type="box" pos="0 0 {FLOOR / 2}" size="{hole} {hole} {FLOOR / 2}" {solid}/>
      <geom name="socket_plate" type="box" pos="0 0 -0.001" size="0.2 0.2 0.001" group="3" {solid}/>
    </body>
    <body name="peg_carrier" pos="0 0 0" gravcomp="1">
      <joint name="peg_x" type="slide" axis="1 0 0" damping="{SERVO_DAMPING:.4g}" armature="0.01"/>
      <joint name="peg_y" type="slide" axis="0 1 0" damping="{SERVO_DAMPING:.4g}" armature="0.01"/>
      <joint name="peg_z" type="slide" axis="0 0 1" damping="{SERVO_DAMPING:.4g}" armature="0.01"/>
      <inertial pos="0 0 0" mass="0.01" diaginertia="1e-6 1e-6 1e-6"/>
      <body name="peg" pos="0 0 0" gravcomp="1">
        <inertial pos="0 0 {PEG_LENGTH / 2}" mass="{PEG_MASS}" diaginertia="{inertia:.3g} {inertia:.3g} {inertia:.3g}"/>
        <geom name="peg" type="box" pos="0 0 {PEG_LENGTH / 2}" size="{PEG_HALF} {PEG_HALF} {PEG_LENGTH / 2}"
              contype="2" conaffinity="2" condim="3" friction="{FRICTION} 0.005 0.0001" rgba="0.9 0.6 0.1 1"/>
        <site name="peg_ft" pos="0 0 0" size="0.002"/>
      </body>
    </body>"""


_ACTUATORS = "\n".join(f'    <position name="servo_{a}" joint="peg_{a}" kp="{SERVO_KP}"/>' for a in "xyz")
_SENSORS = '  <sensor>\n    <force name="peg_force" site="peg_ft"/>\n  </sensor>'


def dense_reward(tip: np.ndarray, goal: np.ndarray, f_z: float, inserted: bool,
                 alpha: float = DENSE["alpha"], beta: float = DENSE["beta"], phi: float = DENSE["phi"],
                 eps: float = DENSE["eps"]) -> float:
    """Eq. 48 as printed: −α‖x − x*‖₁ − β / (‖x − x*‖₂ + ε) − ϕ f_z, ϕ → −ϕ once inserted (§9.3.2.3)."""
    d = np.asarray(tip, np.float64) - np.asarray(goal, np.float64)
    force_weight = -phi if inserted else phi
    return float(-alpha * np.abs(d).sum() - beta / (np.linalg.norm(d) + eps) - force_weight * f_z)


def sparse_reward(inserted: bool) -> float:
    """Eq. 47: 1 when the insertion is detected, else 0."""
    return 1.0 if inserted else 0.0


def is_inserted(tip: np.ndarray, socket_xy: np.ndarray) -> bool:
    """Insertion detected (§9.3.2.3 "through a distance measurement"): the tip deep enough inside the hole."""
    inside = np.all(np.abs(np.asarray(tip[:2]) - np.asarray(socket_xy[:2])) <= CLEARANCE + CONTACT_SLACK)
    return bool(inside and tip[2] <= SOCKET_HEIGHT - INSERT_DEPTH)


def state_rewards(state: np.ndarray, goal_state: np.ndarray) -> dict[str, Any]:
    """Success and both rewards of a state (tip xyz, f_z) for the goal (the inserted pose): what the env puts in
    ``info``, computable from the measured state alone (a trainer away from the env uses it)."""
    tip, goal, f_z = np.asarray(state[:3], np.float64), np.asarray(goal_state[:3], np.float64), float(state[3])
    inserted = is_inserted(tip, goal[:2])
    return {"ee_distance": float(np.linalg.norm(tip - goal)), "total_distance": float(np.linalg.norm(tip - goal)),
            "f_z": f_z, "is_success": inserted, "sparse_reward": sparse_reward(inserted),
            "dense_reward": dense_reward(tip, goal, f_z, inserted)}


class SawyerInsertionEnv(SawyerVisualEnv):
    """Peg-in-hole with a compliant Cartesian controller; see the module docstring.

    ``target_error``: half range (m) of the controller target's xy error; ``reward``: ``dense`` | ``sparse``
    (what ``step`` returns; both are always in ``info``); ``render_images=False`` skips the camera for state-only
    learning (``image`` is then all zeros; ``goal_image`` and ``render_state`` still render).
    """

    tasks = INSERTION_TASKS
    action_dim = 3

    def __init__(self, task: str = "insertion", target_error: float = TARGET_ERROR, reward: str = "dense",
                 render_images: bool = True, **kwargs: Any) -> None:
        if not (np.isfinite(target_error) and 0.0 <= target_error <= 0.05):
            raise ValueError(f"target_error must be in [0, 0.05] m, got {target_error!r}")
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        self.target_error, self.reward_kind, self.render_images = float(target_error), reward, bool(render_images)
        super().__init__(task=task, **kwargs)
        self.max_step = MAX_STEP
        self.controller_target = np.zeros(3)
        self.socket_xy = np.array(self.model.body_pos[self._socket, :2])
        self._force_zero = 0.0
        self._f_z = 0.0
        self._blank = np.zeros_like(self._frame)

    # ----- gymnasium API -----
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        gym.Env.reset(self, seed=seed)
        rng = self.np_random
        self.socket_xy = rng.uniform(*SOCKET_RANGE)
        error = rng.uniform(-self.target_error, self.target_error, 2)
        start_xy = self.socket_xy + rng.uniform(-START_NOISE, START_NOISE, 2)
        self.model.body_pos[self._socket, :2] = self.socket_xy
        self._goal[:] = (*self.socket_xy, FLOOR, 0.0)
        self.controller_target = np.array([*(self.socket_xy + error), FLOOR])
        mujoco.mj_resetData(self.model, self.data)
        self._pose(np.array([*start_xy, SOCKET_HEIGHT + START_HEIGHT, 0.0]))
        mujoco.mj_forward(self.model, self.data)
        self._goal_image[:] = self.render_state(self._goal)
        self._force_zero = self._raw_force()  # calibrated before each rollout (§9.3.2.3)
        self._f_z = 0.0
        self._steps = 0
        obs = self._obs()
        return obs, self._info(obs["state"])

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        obs, _, terminated, truncated, info = super().step(action)
        return obs, info[f"{self.reward_kind}_reward"], terminated, truncated, info

    # ----- hooks -----
    def _scene_xml(self, timestep: float, mesh_keep: float | None) -> str:
        xml = scene.build_xml([], timestep=timestep, keep=mesh_keep, offsize=max(64, self.image_size),
                              fovy=self.task_spec.fovy, objects=_socket_xml(), actuators=_ACTUATORS, **INSERTION_CAMERA)
        return xml.replace("</mujoco>", f"{_SENSORS}\n</mujoco>")

    def _bind_objects(self) -> None:
        self._socket = self._body("socket")
        self._peg_adr = int(self.model.jnt_qposadr[self.model.joint("peg_x").id])  # peg_x, peg_y, peg_z
        self._peg_dof = int(self.model.jnt_dofadr[self.model.joint("peg_x").id])
        self._force_adr = int(self.model.sensor_adr[self.model.sensor("peg_force").id])

    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([*TABLE_LOW, -0.05, -FORCE_LIMIT], np.float32),
                np.array([*TABLE_HIGH, 0.5, FORCE_LIMIT], np.float32))

    def _start_target(self) -> np.ndarray:
        return np.array(self.task_spec.hand_start, np.float64)

    def _apply_action(self, a: np.ndarray) -> None:
        """Servo target = tip + a · MAX_STEP (clipped to the tip box), held over the control period."""
        tip = self.data.qpos[self._peg_adr : self._peg_adr + 3]
        self._target[:] = np.clip(tip + a * self.max_step, self.hand_low, self.hand_high)
        self.data.ctrl[:3] = self._target
        for _ in range(self.frame_skip):
            self._hand_over_peg()
            mujoco.mj_step(self.model, self.data)
        mujoco.mj_forward(self.model, self.data)  # sensors for the state reached
        self._f_z = float(np.clip(self._force_zero - self._raw_force(), -FORCE_LIMIT, FORCE_LIMIT))

    # ----- goal-conditioned helpers -----
    def sample_goal_state(self, rng: np.random.Generator) -> np.ndarray:
        """The task's goal: the peg inserted in the socket where it is this episode (no force)."""
        return np.array([*self.socket_xy, FLOOR, 0.0], np.float32)

    def sample_state(self, rng: np.random.Generator) -> np.ndarray:
        """A random free-space state above the socket (for held-out images); force 0."""
        xy = self.socket_xy + rng.uniform(-0.03, 0.03, 2)
        return np.array([*xy, rng.uniform(SOCKET_HEIGHT + 0.005, SOCKET_HEIGHT + START_HEIGHT), 0.0], np.float32)

    def objects_moved(self, states: np.ndarray) -> np.ndarray:
        return np.zeros(len(states), bool)

    def inserted(self, tip: np.ndarray) -> bool:
        return is_inserted(tip, self.socket_xy)

    # ----- internals -----
    def _raw_force(self) -> float:
        return float(self.data.sensordata[self._force_adr + 2])

    def _hand_over_peg(self) -> None:
        self.data.mocap_pos[0] = self.data.qpos[self._peg_adr : self._peg_adr + 3] + HAND_OFFSET

    def _pose(self, state: np.ndarray) -> None:
        d = self.data
        tip = np.asarray(state[:3], np.float64)
        self._ik.solve(tip + HAND_OFFSET)
        d.qpos[7:9] = (0.04, -0.03)  # closed on the peg
        d.qvel[:] = 0.0
        d.qpos[self._peg_adr : self._peg_adr + 3] = tip
        d.ctrl[:3] = tip
        self._target[:] = tip
        d.mocap_pos[0] = tip + HAND_OFFSET
        d.mocap_quat[0] = HAND_QUAT

    def _render(self) -> np.ndarray:
        if not self.render_images and not getattr(self, "_rendering_state", False):
            return self._blank
        return super()._render()

    def render_state(self, state: np.ndarray) -> np.ndarray:
        self._rendering_state = True
        try:
            return super().render_state(state)
        finally:
            self._rendering_state = False

    def _state(self) -> np.ndarray:
        return np.array([*self.data.qpos[self._peg_adr : self._peg_adr + 3], self._f_z], np.float32)

    def _info(self, state: np.ndarray) -> dict[str, Any]:
        return state_rewards(state, self._goal)

    def _check_state(self, state: Any, what: str) -> np.ndarray:
        s = np.asarray(state, dtype=np.float64).reshape(-1)
        if s.shape != (4,) or not np.isfinite(s).all():
            raise ValueError(f"{what} must be 4 finite numbers (peg tip xyz, f_z), got {state!r}")
        return s
