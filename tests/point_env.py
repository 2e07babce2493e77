"""A small goal-conditioned image environment for fast core tests: a dot moved by velocity commands.

Same API as sawyer_sim's envs (Dict observation with image/state/goal_image/goal_state, distances in
`info`, `sample_goal_state`, `render_state`), drawn with NumPy so learning tests run in seconds.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np


class PointImageEnv(gym.Env):
    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, image_size: int = 48, max_episode_steps: int = 20, max_speed: float = 0.15,
                 seed: int | None = None) -> None:
        self.image_size, self.max_episode_steps, self.max_speed = image_size, max_episode_steps, max_speed
        img = gym.spaces.Box(0, 255, (image_size, image_size, 3), np.uint8)
        vec = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.observation_space = gym.spaces.Dict({"image": img, "state": vec, "goal_image": img, "goal_state": vec})
        self.action_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        yy, xx = np.mgrid[0:image_size, 0:image_size]
        self._grid = ((xx + 0.5) / image_size * 2 - 1, (yy + 0.5) / image_size * 2 - 1)
        self.pos = np.zeros(2, np.float32)
        self.goal = np.zeros(2, np.float32)
        self.t = 0
        if seed is not None:
            self.reset(seed=seed)

    def render_state(self, state: np.ndarray) -> np.ndarray:
        gx, gy = self._grid
        mask = (gx - state[0]) ** 2 + (gy - state[1]) ** 2 < 0.3**2
        image = np.full((self.image_size, self.image_size, 3), 40, np.uint8)
        image[mask] = (230, 60, 40)
        return image

    def sample_goal_state(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-0.8, 0.8, 2).astype(np.float32)

    def _obs(self) -> dict[str, np.ndarray]:
        return {"image": self.render_state(self.pos), "state": self.pos.copy(),
                "goal_image": self.render_state(self.goal), "goal_state": self.goal.copy()}

    def _info(self) -> dict[str, float]:
        d = float(np.linalg.norm(self.pos - self.goal))
        return {"ee_distance": d, "total_distance": d}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        self.pos = np.zeros(2, np.float32)
        options = options or {}
        goal = options.get("goal_state")
        self.goal = (np.asarray(goal, np.float32) if goal is not None else self.sample_goal_state(self.np_random))
        return self._obs(), self._info()

    def step(self, action):
        action = np.asarray(action, np.float32)
        if not np.all(np.isfinite(action)):
            raise ValueError("action must be finite")
        self.pos = np.clip(self.pos + self.max_speed * np.clip(action, -1, 1), -0.9, 0.9).astype(np.float32)
        self.t += 1
        info = self._info()
        return self._obs(), -info["ee_distance"], False, self.t >= self.max_episode_steps, info


class ColourPointImageEnv(PointImageEnv):
    """The dot takes a random RGB colour on each reset (as the multi-colour point navigation of thesis App. B.1):
    only goals with the episode's colour are feasible. `reset(options={"colour": (r, g, b)})` sets it (0-255)."""

    background = 40
    randomises_appearance = True  # goal images belong to one episode's scene

    def __init__(self, *args, **kwargs) -> None:
        self.colour = np.array((230, 60, 40), np.uint8)
        super().__init__(*args, **kwargs)

    def render_state(self, state: np.ndarray) -> np.ndarray:
        gx, gy = self._grid
        image = np.full((self.image_size, self.image_size, 3), self.background, np.uint8)
        image[(gx - state[0]) ** 2 + (gy - state[1]) ** 2 < 0.3**2] = self.colour
        return image

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        gym.Env.reset(self, seed=seed)
        colour = (options or {}).get("colour")
        self.colour = np.asarray(colour if colour is not None else self.np_random.integers(0, 256, 3), np.uint8)
        return super().reset(options=options)

    def dot_colour(self, images: np.ndarray) -> np.ndarray:
        """Mean colour (0-1) of the pixels that differ from the background, per image; the background if none."""
        diff = np.abs(images.astype(np.float32) - self.background).sum(-1) > 60
        total = np.maximum(diff.sum((1, 2)), 1)[:, None]
        colour = (images.astype(np.float32) * diff[..., None]).sum((1, 2)) / total
        return np.where(diff.any((1, 2))[:, None], colour, self.background) / 255.0
