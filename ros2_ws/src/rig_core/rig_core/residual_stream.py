"""Residual RL fed by a stream of recorded steps (the trainer node's learner), as ``run_residual_rl`` learns in
process (thesis Alg. 6): each pair of consecutive steps of an episode is a transition (features, residual uθ,
reward of the state reached, next features), the reward computed from the measured state by the task's reward
function, and ``updates_per_step`` TD3 / SAC gradient steps per transition once ``learning_starts`` are stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rig_core.errors import RigError
from rig_core.residual_rl import ACTION_DIM, FEATURE_DIM, ResidualReplay, ResidualRLConfig, make_learner, update
from rig_core.residual_weights import residual_bytes

RewardFn = Callable[[np.ndarray, np.ndarray], float]  # (state reached, goal state) → reward


@dataclass
class _Pending:
    episode: int
    t: int
    features: np.ndarray
    residual: np.ndarray


class ResidualStreamLearner:
    """Transitions from a step stream, a replay, and the learner; ``weights(version)`` for the policy node."""

    def __init__(self, config: ResidualRLConfig, reward_fn: RewardFn) -> None:
        self.config = config.validate()
        self.reward_fn = reward_fn
        self.learner = make_learner(self.config)
        self.replay = ResidualReplay(self.config.replay_capacity, FEATURE_DIM, ACTION_DIM)
        self.rng = np.random.default_rng(self.config.seed)
        self.pending: _Pending | None = None
        self.env_steps = 0  # transitions stored
        self.grad_steps = 0

    def add(self, episode: int, t: int, features: np.ndarray, state: np.ndarray, goal: np.ndarray,
            residual: np.ndarray | None, is_last: bool) -> bool:
        """Take in one step; True when it completed a transition. A step with no residual (the last of an episode)
        only ends the one before it; a gap in ``t`` drops the unfinished transition."""
        features = np.asarray(features, np.float32)
        if features.shape != (FEATURE_DIM,) or not np.all(np.isfinite(features)):
            raise RigError(f"features must be {FEATURE_DIM} finite numbers, got shape {features.shape}")
        if residual is not None:
            residual = np.asarray(residual, np.float32)
            if residual.shape != (ACTION_DIM,) or not np.all(np.isfinite(residual)):
                raise RigError(f"residual must be {ACTION_DIM} finite numbers, got shape {residual.shape}")
        prev, stored = self.pending, False
        if prev is not None and prev.episode == episode and prev.t + 1 == t:
            reward = float(self.reward_fn(np.asarray(state, np.float64), np.asarray(goal, np.float64)))
            self.replay.add(prev.features, prev.residual, reward, features)
            self.env_steps += 1
            stored = True
        self.pending = None if is_last or residual is None else _Pending(episode, t, features, residual)
        return stored

    def update_budget(self) -> int:
        """Gradient steps owed: ``updates_per_step`` for every transition from the ``learning_starts``-th on."""
        owed = max(0, self.env_steps - self.config.learning_starts + 1) * self.config.td3.updates_per_step
        return owed - self.grad_steps

    def train(self, n: int) -> None:
        for _ in range(n):
            update(self.learner, self.replay, self.rng, self.config)
            self.grad_steps += 1

    def weights(self, version: int) -> bytes:
        return residual_bytes(self.learner, self.config, version, self.env_steps)
