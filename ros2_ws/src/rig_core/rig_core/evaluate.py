"""Evaluation on held-out goal images (RIG §5): set the env to a goal, capture its image, encode it,
run the deterministic policy for one episode, and measure final distances to the goal in metres (the door's
angle in radians)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

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


Action = Callable[[dict], np.ndarray]  # observation dict → action


def goal_episode(env, goal_state: np.ndarray, seed: int, make_act: Callable[[dict], Action]) -> tuple[dict, list[dict]]:
    """One episode towards `goal_state`: reset with `seed`, act with `make_act(first observation)` until it ends.
    Returns the final info (its distances) and every observation, the first included."""
    obs, info = env.reset(seed=seed, options={"goal_state": goal_state})
    act, observations, done = make_act(obs), [obs], False
    while not done:
        obs, _, terminated, truncated, info = env.step(act(obs))
        observations.append(obs)
        done = terminated or truncated
    return info, observations


def add_distances(per_goal: dict[str, list[float]], info: dict) -> None:
    """Append an episode's final distances (those of DISTANCE_KEYS the env reports) to `per_goal`."""
    for key in DISTANCE_KEYS:
        if key in info:
            per_goal.setdefault(key, []).append(float(info[key]))


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

    def goal_image(obs0: dict, i: int) -> np.ndarray:
        return obs0["goal_image"] if per_episode_scene else goals.images[i]

    def make_act(obs0: dict, i: int) -> Action:
        s0 = obs0["image"]
        episode_encode = encode if context_encode is None else (lambda f: context_encode(f, s0))
        goal = goal_latents[i] if goal_latents is not None else episode_encode(goal_image(obs0, i)[None])[0]
        return lambda obs: policy(episode_encode(obs["image"][None])[0], goal)

    for i, goal_state in enumerate(goals.states):
        info, observations = goal_episode(env, goal_state, seed + i, partial(make_act, i=i))
        add_distances(per_goal, info)
        if i < n_strips:
            pick = np.linspace(0, len(observations) - 1, strip_frames).round().astype(int)
            strips.append({"goal": goal_image(observations[0], i),
                           "frames": np.stack([observations[j]["image"] for j in pick])})
        if on_episode is not None:
            on_episode()
    final = {k: float(np.mean(v)) for k, v in per_goal.items()}
    return EvalResult(final, per_goal, strips)


def random_policy(seed: int, action_dim: int = 2) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Uniformly random actions: the baseline the learning curves are compared against."""
    rng = np.random.default_rng(seed)
    return lambda _z, _g: rng.uniform(-1, 1, action_dim).astype(np.float32)
