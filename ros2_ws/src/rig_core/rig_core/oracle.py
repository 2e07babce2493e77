"""The state oracle: RIG's TD3, replay and relabeling on the simulator's true state instead of VAE latents.

"Oracle: RL with direct access to state information for observations and rewards" (RIG §6; thesis §3.5.1). It
bounds what an image-based method can reach on the same env, schedule and goals: the policy sees the state and the
goal state, scaled to [-1, 1] by the env's state bounds, and the reward is −‖s′ − g‖ in those units (RIG §4.2's
distance, on states). Relabeling is RIG's mixture (§4.3, λ = `future_fraction`): a later state of the same episode,
or a goal from the env's goal distribution where RIG samples its VAE prior. Rollout goals come from that
distribution too. Sim only: a real robot has no true state to give it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rig_core.config import RIGConfig
from rig_core.evaluate import Action, add_distances, goal_episode, make_goal_set, random_policy
from rig_core.noise import OUNoise
from rig_core.progress import Phase, Progress
from rig_core.relabel import relabel_goals
from rig_core.replay import ImageReplayBuffer
from rig_core.rewards import latent_distance_reward
from rig_core.td3 import TD3, Batch

GOAL_POOL = 20_000  # goal states drawn once from the env's goal distribution; relabeling samples from them
_NO_FRAME = np.zeros((1, 1, 3), np.uint8)  # the replay's frame slot: the oracle stores no images


@dataclass
class OracleResult:
    config: RIGConfig
    curve: list[dict[str, float]]  # step and mean final distances per evaluation
    random_baseline: dict[str, float]
    timings: dict[str, float] = field(default_factory=dict)


class StateScaler:
    """Maps states to [-1, 1] with the env's state bounds (the observation space of ``state``)."""

    def __init__(self, low: np.ndarray, high: np.ndarray) -> None:
        self.center = ((np.asarray(high, np.float64) + low) / 2).astype(np.float32)
        self.half = np.maximum((np.asarray(high, np.float64) - low) / 2, 1e-6).astype(np.float32)

    def __call__(self, state: np.ndarray) -> np.ndarray:
        return ((np.asarray(state, np.float32) - self.center) / self.half).astype(np.float32)


class OracleAgent:
    """TD3 on (state, goal state) with RIG's relabeling; the replay's latents hold the scaled states."""

    def __init__(self, config: RIGConfig, state_dim: int, action_dim: int, goal_pool: np.ndarray) -> None:
        self.config = config.validate()
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.action_dim = action_dim
        self.goal_pool = np.asarray(goal_pool, np.float32)
        self.learner = TD3(2 * state_dim, action_dim, config.td3, seed=config.seed)
        self.buffer = ImageReplayBuffer(config.replay_capacity, 1, action_dim, state_dim)

    def sample_goals(self, n: int) -> np.ndarray:
        return self.goal_pool[self.rng.integers(0, len(self.goal_pool), n)]

    def act(self, state: np.ndarray, goal: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        action = self.learner.act(np.concatenate([state, goal]).astype(np.float32))
        return np.clip(action if noise is None else action + noise, -1.0, 1.0).astype(np.float32)

    def train(self, n_updates: int) -> None:
        cfg, buf = self.config, self.buffer
        for _ in range(n_updates):
            idx = buf.sample_indices(cfg.td3.batch_size, self.rng)
            slots, next_slots = buf.slot(idx), buf.slot(idx + 1)
            goals, _ = relabel_goals(buf, idx, cfg.relabel, cfg.future_fraction, self.sample_goals(len(idx)), self.rng)
            s, s_next = buf.latents[slots], buf.latents[next_slots]
            reward = latent_distance_reward(s_next, goals) * cfg.td3.reward_scale
            self.learner.update(Batch.from_numpy(self.learner.device, obs=np.concatenate([s, goals], 1),
                                                 action=buf.actions[slots], reward=reward.astype(np.float32),
                                                 next_obs=np.concatenate([s_next, goals], 1)))


def evaluate_states(env: Any, goal_states: np.ndarray, policy: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    scale: StateScaler, seed: int) -> dict[str, float]:
    """One episode per goal, as `rig_core.evaluate` runs them (same resets and seeds), acting on true states."""
    per_goal: dict[str, list[float]] = {}

    def make_act(obs0: dict) -> Action:
        goal = scale(obs0["goal_state"])
        return lambda obs: policy(scale(obs["state"]), goal)

    for i, goal_state in enumerate(goal_states):
        add_distances(per_goal, goal_episode(env, goal_state, seed + i, make_act)[0])
    return {k: float(np.mean(v)) for k, v in per_goal.items()}


def run_oracle(config: RIGConfig, make_env: Callable[[], Any], show_progress: bool = True) -> OracleResult:
    """The oracle on one seed, on `run_rig`'s schedule: OU exploration for `exploration_steps`, then practice
    with goals from the env's goal distribution, evaluated every `eval_every` steps on `run_rig`'s held-out goals."""
    config = config.validate()
    wall_start = time.monotonic()
    env, eval_env = make_env(), make_env()
    space = env.observation_space["state"]
    scale = StateScaler(space.low, space.high)
    pool_rng = np.random.default_rng(config.seed + 1)
    pool = np.stack([scale(env.unwrapped.sample_goal_state(pool_rng)) for _ in range(GOAL_POOL)])
    agent = OracleAgent(config, int(space.shape[0]), int(env.action_space.shape[0]), pool)
    goal_states = make_goal_set(eval_env, config.eval_goals, config.eval_seed).states
    noise = OUNoise(agent.action_dim, config.exploration.ou_theta, config.exploration.ou_sigma, agent.rng)
    bar = Progress([Phase("exploration", "env steps", config.exploration_steps),
                    Phase("practice", "env steps", config.total_steps - config.exploration_steps)],
                   desc=f"oracle {config.env} seed {config.seed}", enabled=show_progress)
    random_baseline = evaluate_states(eval_env, goal_states, random_policy(config.seed, agent.action_dim), scale,
                                      config.eval_seed)
    curve: list[dict[str, float]] = []
    step = 0

    def record_eval() -> None:
        curve.append({"step": step, **evaluate_states(eval_env, goal_states, agent.act, scale, config.eval_seed)})
        bar.note(f"evaluation at step {step}: " + " ".join(f"{k}={v:.3f}" for k, v in curve[-1].items() if k != "step"))

    def run_episode(explore_only: bool) -> None:
        nonlocal step
        obs, _ = env.reset(seed=config.seed if step == 0 else None)
        state = scale(obs["state"])
        agent.buffer.start_episode(_NO_FRAME, state, state * 0)
        goal = agent.sample_goals(1)[0]
        noise.reset()
        done = False
        while not done and step < config.total_steps:
            action = np.clip(noise.sample(), -1, 1) if explore_only else agent.act(state, goal, noise.sample())
            obs, _, terminated, truncated, _ = env.step(action)
            state = scale(obs["state"])
            agent.buffer.add_step(action, goal, _NO_FRAME, state, state * 0)
            step += 1
            done = terminated or truncated
            if not explore_only:
                if len(agent.buffer) >= config.td3.batch_size:
                    agent.train(config.td3.updates_per_step)
                if step % config.eval_every == 0 or step == config.total_steps:
                    record_eval()
            bar.advance()

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    bar.start("exploration")
    while step < config.exploration_steps:
        run_episode(explore_only=True)
    timings["exploration_s"] = time.monotonic() - t0
    record_eval()
    t0 = time.monotonic()
    bar.start("practice")
    while step < config.total_steps:
        run_episode(explore_only=False)
    timings["practice_s"] = time.monotonic() - t0
    bar.close()
    if curve[-1]["step"] != step:
        record_eval()
    timings["wall_clock_s"] = time.monotonic() - wall_start
    env.close()
    eval_env.close()
    return OracleResult(config, curve, random_baseline, timings)
