"""Evaluation on held-out goal images (RIG §5): set the env to a goal, capture its image, encode it,
run the deterministic policy for one episode, and measure final distances to the goal in metres (the door's
angle in radians)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

DISTANCE_KEYS = ("ee_distance", "puck_distance", "angle_distance", "object_distance", "total_distance")


@dataclass
class GoalSet:
    """Held-out goals: underlying states (for measuring) and their images (what the policy sees)."""

    states: np.ndarray
    images: np.ndarray


@dataclass
class EvalResult:
    final: dict[str, float]  # mean final distance per key, over goals
    per_goal: dict[str, list[float]]
    strips: list[dict[str, np.ndarray]] = field(default_factory=list)  # goal image + frames, a few goals


def make_goal_set(env, n: int, seed: int) -> GoalSet:
    """`n` goals from the env's goal distribution, the same for every run with the same `seed`."""
    rng = np.random.default_rng(seed)
    states = np.stack([env.unwrapped.sample_goal_state(rng) for _ in range(n)])
    images = np.stack([env.unwrapped.render_state(s) for s in states])
    return GoalSet(states.astype(np.float32), images)


def evaluate(env, goals: GoalSet, policy: Callable[[np.ndarray, np.ndarray], np.ndarray],
             encode: Callable[[np.ndarray], np.ndarray], n_strips: int = 4, strip_frames: int = 6,
             seed: int = 0, on_episode: Callable[[], object] | None = None,
             context_encode: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> EvalResult:
    """Run one episode per goal; `policy(latent, goal_latent)` → action; `encode(frames)` → latents;
    `on_episode()` after each episode. With `context_encode(frames, s0)` (CC-RIG, thesis §3.4.2: z_g = μ(s_g, s0))
    the goal and every frame are encoded with the episode's first frame s0. Envs whose appearance changes per
    episode (`randomises_appearance`, e.g. the puck colour) give the goal image of that episode's scene at reset."""
    per_episode_scene = bool(getattr(env.unwrapped, "randomises_appearance", False))
    goal_latents = encode(goals.images) if context_encode is None and not per_episode_scene else None
    per_goal: dict[str, list[float]] = {}
    strips = []
    for i, goal_state in enumerate(goals.states):
        obs, info = env.reset(seed=seed + i, options={"goal_state": goal_state})
        goal_image = obs["goal_image"] if per_episode_scene else goals.images[i]
        s0 = obs["image"]
        episode_encode = encode if context_encode is None else (lambda f, s0=s0: context_encode(f, s0))
        goal_latent = goal_latents[i] if goal_latents is not None else episode_encode(goal_image[None])[0]
        frames = [obs["image"]]
        done = False
        while not done:
            action = policy(episode_encode(obs["image"][None])[0], goal_latent)
            obs, _, terminated, truncated, info = env.step(action)
            frames.append(obs["image"])
            done = terminated or truncated
        for key in DISTANCE_KEYS:
            if key in info:
                per_goal.setdefault(key, []).append(float(info[key]))
        if i < n_strips:
            pick = np.linspace(0, len(frames) - 1, strip_frames).round().astype(int)
            strips.append({"goal": goal_image, "frames": np.stack([frames[j] for j in pick])})
        if on_episode is not None:
            on_episode()
    final = {k: float(np.mean(v)) for k, v in per_goal.items()}
    return EvalResult(final, per_goal, strips)


def random_policy(seed: int, action_dim: int = 2) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Uniformly random actions: the baseline the learning curves are compared against."""
    rng = np.random.default_rng(seed)
    return lambda _z, _g: rng.uniform(-1, 1, action_dim).astype(np.float32)
