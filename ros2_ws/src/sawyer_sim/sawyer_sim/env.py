"""Goal-conditioned visual Sawyer env (gymnasium API): reacher, pusher, multi-object pusher.

Control is multiworld style: a mocap body welded to the hand follows ``action * MAX_STEP`` (xy, clipped to
[-1, 1] and to the hand rectangle) at a fixed height; one env step is ``frame_skip`` physics steps (default
20 x 5 ms = 0.1 s, the real arm's 10 Hz loop) followed by one offscreen render. With ``control="driver"``
the same action is an end-effector velocity that the real arm driver's controller turns into joint
velocities (:mod:`sawyer_sim.driver_arm`; reacher and the pushers). Workspace and goal ranges are
in :mod:`sawyer_sim.tasks`. Rewards and the ``state`` / ``goal_state`` entries are for evaluation only.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from sawyer_sim import model as scene
from sawyer_sim.ik import HAND_QUAT, HandIK
from sawyer_sim.tasks import HAND_Z, MAX_STEP, MIN_HAND_PUCK, MOVED_DISTANCE, TASKS

# Camera in front of the table looking back at the robot, ~48 deg down: the arm enters from the top of the image
# and hides little of the table (a top-down view would be blocked by the arm). Field of view per task (TaskSpec.fovy).
CAMERA = {"cam_pos": (0.0, 1.3, 0.75), "cam_target": (0.0, 0.63, 0.0)}
FINGER_QPOS = (0.04, -0.03)  # r_close, l_close: closed gripper, locked by equality constraints in scene.xml
CONTROL_MODES = ("mocap", "driver")  # the mocap weld, or the real arm driver's controller (sawyer_sim.driver_arm)
TABLE_LOW, TABLE_HIGH = (-0.7, 0.15), (0.7, 1.05)  # table top extents, used as the state-space bounds


# Bodies the fixed camera never sees with the hand in its rectangle (checked over the workspace corners and
# random poses by tests/test_sawyer_env.py): their geoms go to a render group the camera skips. About half of
# the arm's triangles; software rendering time scales with triangles. Physics is untouched.
OUT_OF_VIEW_BODIES = ("pedestal_feet", "torso", "head", "right_l0", "right_l1", "right_l1_2", "right_l2", "right_l3")
HIDDEN_GROUP = 5  # not rendered by MuJoCo's default scene options (groups 0-2 are)


def hide_out_of_view(model: mujoco.MjModel, bodies: tuple[str, ...] = OUT_OF_VIEW_BODIES) -> int:
    """Move the geoms of ``bodies`` (default OUT_OF_VIEW_BODIES) to HIDDEN_GROUP; returns how many."""
    ids = {mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name) for name in bodies} - {-1}
    geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] in ids]
    model.geom_group[geoms] = HIDDEN_GROUP
    return len(geoms)


class SawyerVisualEnv(gym.Env):
    """One of the RIG visual Sawyer tasks; see the module and :mod:`sawyer_sim.tasks` docstrings."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}  # noqa: RUF012 (gymnasium convention)

    def __init__(
        self,
        task: str = "reacher",
        image_size: int = 48,
        max_episode_steps: int | None = None,
        frame_skip: int = 20,
        timestep: float = 0.005,
        mesh_keep: float | None = 0.1,
        hide_unseen: bool = True,
        render_mode: str | None = "rgb_array",
        seed: int | None = None,
        control: str = "mocap",
    ) -> None:
        if task not in self.tasks:
            raise ValueError(f"unknown env {task!r}; valid names: {', '.join(self.tasks)}")
        if image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {image_size}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        if control not in CONTROL_MODES:
            raise ValueError(f"control must be one of {CONTROL_MODES}, got {control!r}")
        if control == "driver" and type(self)._apply_action is not SawyerVisualEnv._apply_action:
            raise ValueError(f"control='driver' moves the hand in xy only; env {task!r} has its own actions (use 'mocap')")
        self.task_spec = spec = self.tasks[task]
        self.task, self.image_size, self.frame_skip, self.render_mode = task, int(image_size), int(frame_skip), render_mode
        self.max_episode_steps = int(max_episode_steps or spec.max_episode_steps)
        self.max_step = MAX_STEP
        self.hand_low, self.hand_high = np.array(spec.hand_low), np.array(spec.hand_high)
        self.puck_lows, self.puck_highs = np.array(spec.puck_lows).reshape(-1, 2), np.array(spec.puck_highs).reshape(-1, 2)
        self.puck_low = self.puck_lows.min(axis=0) if spec.n_pucks else None
        self.puck_high = self.puck_highs.max(axis=0) if spec.n_pucks else None
        self.n_pucks = spec.n_pucks

        self.model = scene.load_model(self._scene_xml(timestep, mesh_keep))
        if hide_unseen:
            hide_out_of_view(self.model, self.out_of_view)
        self.data = mujoco.MjData(self.model)
        self._hand = self._body("hand")
        self._puck_adr = [int(self.model.jnt_qposadr[self.model.body_jntadr[self._body(f"puck{i}")]])
                          for i in range(self.n_pucks)]
        self._ik = HandIK(self.model, self.data, self._hand)
        self.control = control
        self._driver = None
        if control == "driver":
            from sawyer_sim.driver_arm import DriverArm  # needs sawyer_driver (Pinocchio); mocap mode does not

            self._driver = DriverArm(self.model, self.data, self._hand, self.hand_low, self.hand_high, HAND_Z, self.frame_skip)
        self._bind_objects()
        mujoco.mj_forward(self.model, self.data)  # camera and light poses (static) for render_state before reset
        self._renderer = mujoco.Renderer(self.model, self.image_size, self.image_size)
        self._frame = np.zeros((self.image_size, self.image_size, 3), np.uint8)
        self._state_spec = mujoco.mjtState.mjSTATE_INTEGRATION
        self._saved = np.zeros(mujoco.mj_stateSize(self.model, self._state_spec))

        low, high = self._state_bounds()
        dim = len(low)
        img = spaces.Box(0, 255, (self.image_size, self.image_size, 3), np.uint8)
        vec = spaces.Box(low, high, (dim,), np.float32)
        self.observation_space = spaces.Dict({"image": img, "state": vec, "goal_image": img, "goal_state": vec})
        self.action_space = spaces.Box(-1.0, 1.0, (self.action_dim,), np.float32)

        self._target = self._start_target()
        self._goal = np.zeros(dim, np.float32)
        self._goal_image = np.zeros_like(self._frame)
        self._steps = 0
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(seed)

    # ----- gymnasium API -----
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self._randomise_scene(options or {})
        goal = (options or {}).get("goal_state")
        goal = self.sample_goal_state(self.np_random) if goal is None else self._check_state(goal, "goal_state")
        self._goal[:] = goal
        self._goal_image[:] = self.render_state(self._goal)
        if self._full_reset(seed, options):
            mujoco.mj_resetData(self.model, self.data)
            self._pose(self._start_state())
            self._target[:] = self._start_target()
            self._move_mocap(self._target)
            mujoco.mj_forward(self.model, self.data)
            if self._driver is not None:
                self._driver.reset()
        self._steps = 0
        obs = self._obs()
        return obs, self._info(obs["state"])

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (self.action_dim,):
            raise ValueError(f"action must have shape ({self.action_dim},), got {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"action must be finite (no NaN/inf), got {a.tolist()}")
        np.clip(a, -1.0, 1.0, out=a)
        self._apply_action(a)
        mujoco.mj_kinematics(self.model, self.data)
        self._steps += 1
        obs = self._obs()
        info = self._info(obs["state"])
        return obs, -info["total_distance"], False, self._steps >= self.max_episode_steps, info

    def render(self) -> np.ndarray | None:
        """The current camera frame (RGB uint8) when ``render_mode == 'rgb_array'``."""
        return self._render().copy() if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        if getattr(self, "_renderer", None) is not None:
            self._renderer.close()
            self._renderer = None

    # ----- goal-conditioned helpers -----
    def sample_goal_state(self, rng: np.random.Generator) -> np.ndarray:
        """A goal state: hand uniform in its rectangle, each puck uniform in its range, hand clear of pucks."""
        while True:
            s = [rng.uniform(self.hand_low, self.hand_high)]
            s += [rng.uniform(lo, hi) for lo, hi in zip(self.puck_lows, self.puck_highs, strict=True)]
            if all(np.linalg.norm(p - s[0]) >= MIN_HAND_PUCK for p in s[1:]):
                return np.concatenate(s).astype(np.float32)

    def objects_moved(self, states: np.ndarray) -> np.ndarray:
        """Per state (rows of ``state`` vectors): whether any puck lies more than ``MOVED_DISTANCE`` from its start."""
        states = np.asarray(states, np.float64).reshape(len(states), -1)
        if self.n_pucks == 0:
            return np.zeros(len(states), bool)
        pucks = states[:, 2:].reshape(len(states), self.n_pucks, 2)
        starts = np.asarray(self.task_spec.puck_starts, np.float64)[None]
        return (np.linalg.norm(pucks - starts, axis=-1) > MOVED_DISTANCE).any(axis=1)

    def sample_state(self, rng: np.random.Generator) -> np.ndarray:
        """A random reachable state (same distribution as goals), e.g. for held-out goal images."""
        return self.sample_goal_state(rng)

    def render_state(self, state: np.ndarray) -> np.ndarray:
        """Image of the scene in ``state`` (hand placed by IK, pucks placed); the sim state is restored exactly."""
        state = self._check_state(state, "state")
        mujoco.mj_getState(self.model, self.data, self._saved, self._state_spec)
        self._pose(state)
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)
        image = self._render().copy()
        mujoco.mj_setState(self.model, self.data, self._saved, self._state_spec)
        mujoco.mj_forward(self.model, self.data)
        mujoco.mj_setState(self.model, self.data, self._saved, self._state_spec)  # undo forward's warm-start update
        return image

    # ----- hooks the door and pickup envs override -----
    tasks: dict = TASKS  # task name -> spec, per env class
    action_dim = 2
    out_of_view: tuple[str, ...] = OUT_OF_VIEW_BODIES  # bodies this env's camera never sees

    def _scene_xml(self, timestep: float, mesh_keep: float | None) -> str:
        spec = self.task_spec
        return scene.build_xml(list(spec.puck_starts), timestep=timestep, keep=mesh_keep, offsize=max(64, self.image_size),
                               fovy=spec.fovy, **CAMERA)

    def _bind_objects(self) -> None:
        """Look up the ids of task objects in the compiled model (pucks are bound in __init__)."""

    def _randomise_scene(self, options: dict[str, Any]) -> None:
        """Draw this episode's appearance from ``self.np_random`` before the goal image is rendered (none here)."""

    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        dim = 2 + 2 * self.n_pucks
        return np.tile(np.array(TABLE_LOW, np.float32), dim // 2), np.tile(np.array(TABLE_HIGH, np.float32), dim // 2)

    def _start_state(self) -> np.ndarray:
        return np.array([*self.task_spec.hand_start, *np.ravel(self.task_spec.puck_starts)])

    def _start_target(self) -> np.ndarray:
        return np.array([*self.task_spec.hand_start, HAND_Z])

    def _full_reset(self, seed: int | None, options: dict[str, Any] | None) -> bool:
        """Whether reset() restores the start state (always, except for the door: App. C.4's reset-free episodes)."""
        return True

    def _move_mocap(self, target: np.ndarray) -> None:
        self.data.mocap_pos[0] = target

    def _apply_action(self, a: np.ndarray) -> None:
        """Hand target += a · MAX_STEP in xy (clipped to the rectangle), reached over frame_skip physics steps;
        in driver mode a · MAX_STEP per control period is the hand's commanded xy velocity."""
        if self._driver is not None:
            self._driver.move(a * self.max_step / (self.frame_skip * self.model.opt.timestep))
            return
        start = self._target[:2].copy()
        self._target[:2] = np.clip(start + a * self.max_step, self.hand_low, self.hand_high)
        # Move the mocap along a straight line over the control period (a jump would fling the hand and pucks).
        for k in range(1, self.frame_skip + 1):
            self.data.mocap_pos[0, :2] = start + (self._target[:2] - start) * (k / self.frame_skip)
            mujoco.mj_step(self.model, self.data)

    # ----- internals -----
    def _body(self, name: str) -> int:
        return mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)

    def _pose(self, state: np.ndarray) -> None:
        d = self.data
        self._ik.solve(np.array([state[0], state[1], HAND_Z]))
        d.qpos[7:9] = FINGER_QPOS
        d.qvel[:] = 0.0
        d.mocap_pos[0] = (state[0], state[1], HAND_Z)
        d.mocap_quat[0] = HAND_QUAT
        for i, adr in enumerate(self._puck_adr):
            d.qpos[adr : adr + 7] = (state[2 + 2 * i], state[3 + 2 * i], scene.PUCK_HALF_HEIGHT, 1.0, 0.0, 0.0, 0.0)

    def _render(self) -> np.ndarray:
        self._renderer.update_scene(self.data, "view")
        return self._renderer.render(out=self._frame)

    def _state(self) -> np.ndarray:
        s = np.empty(2 + 2 * self.n_pucks, np.float32)
        s[:2] = self.data.xpos[self._hand, :2]
        for i, adr in enumerate(self._puck_adr):
            s[2 + 2 * i : 4 + 2 * i] = self.data.qpos[adr : adr + 2]
        return s

    def _obs(self) -> dict[str, np.ndarray]:
        return {
            "image": self._render().copy(),
            "state": self._state(),
            "goal_image": self._goal_image.copy(),
            "goal_state": self._goal.copy(),
        }

    def _info(self, state: np.ndarray) -> dict[str, float]:
        ee = float(np.linalg.norm(state[:2] - self._goal[:2]))
        info = {"ee_distance": ee}
        pucks = [
            float(np.linalg.norm(state[2 + 2 * i : 4 + 2 * i] - self._goal[2 + 2 * i : 4 + 2 * i])) for i in range(self.n_pucks)
        ]
        if self.n_pucks == 1:
            info["puck_distance"] = pucks[0]
        elif self.n_pucks == 2:
            info.update(puck1_distance=pucks[0], puck2_distance=pucks[1], puck_distance=(pucks[0] + pucks[1]) / 2)
        info["total_distance"] = ee + sum(pucks)
        return info

    def _check_state(self, state: Any, what: str) -> np.ndarray:
        s = np.asarray(state, dtype=np.float64).reshape(-1)
        n = 2 + 2 * self.n_pucks
        if s.shape != (n,) or not np.isfinite(s).all():
            raise ValueError(f"{what} must be {n} finite numbers (hand xy{', puck xy' * self.n_pucks}), got {state!r}")
        return s
