"""Residual RL fed by a stream of recorded steps (the trainer node's learner), as ``run_residual_rl`` learns in
process (thesis Alg. 6): each pair of consecutive steps of an episode is a transition (features, residual uθ,
reward of the state reached, next features), the reward computed from the measured state by the task's reward
function, and ``updates_per_step`` TD3 / SAC gradient steps per transition once ``learning_starts`` are stored.
``save`` / ``load``: the whole learner (networks, optimizers, replay, RNG states) as one safetensors file, so a
trainer node resumes where it stopped."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from rig_core.checkpoint import _cpu_copy, _load_module, _load_optimizer, _optimizer_tensors, file_metadata, load_tensors
from rig_core.errors import CheckpointError, RigError
from rig_core.residual_rl import ACTION_DIM, FEATURE_DIM, ResidualReplay, ResidualRLConfig, make_learner, update
from rig_core.residual_weights import residual_bytes

CHECKPOINT_FILE = "residual_learner.safetensors"
CHECKPOINT_FORMAT = "rig-residual-learner-1"
REPLAY_FIELDS = ("obs", "action", "reward", "next_obs")

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

    # ---- checkpoints -------------------------------------------------------------------------------
    def save(self, directory: str | Path, progress: dict | None = None) -> Path:
        """Networks, optimizers, the stored transitions and RNG states to ``directory`` (atomically)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        learner, n = self.learner, self.replay.size
        tensors = {f"{name}.{k}": _cpu_copy(v) for name, module in learner.modules().items()
                   for k, v in module.state_dict().items()}
        for name, optim in learner.optimizers().items():
            tensors.update(_optimizer_tensors(name, optim))
        if hasattr(learner, "log_alpha"):
            tensors["log_alpha"] = _cpu_copy(learner.log_alpha)
        tensors.update({f"replay.{f}": torch.from_numpy(np.ascontiguousarray(getattr(self.replay, f)[:n]))
                        for f in REPLAY_FIELDS})
        tensors["rng.torch"] = torch.get_rng_state()
        meta = {"format": CHECKPOINT_FORMAT, "config": json.dumps(dataclasses.asdict(self.config)),
                "env_steps": str(self.env_steps), "grad_steps": str(self.grad_steps), "updates": str(learner.updates),
                "replay_head": str(self.replay.head), "numpy_rng": json.dumps(self.rng.bit_generator.state),
                "progress": json.dumps(progress or {})}
        path = directory / CHECKPOINT_FILE
        tmp = path.with_suffix(".tmp")
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)
        return path

    def load(self, directory: str | Path) -> dict:
        """Restore from ``save``'s file; CheckpointError (one line) when it is missing, corrupt or of another run's
        shape. Returns the saved progress dict. The transition that was half-done at the save is dropped."""
        path = Path(directory) / CHECKPOINT_FILE
        meta = file_metadata(path, CHECKPOINT_FORMAT, "residual learner checkpoint", "residual learner checkpoint")
        saved = json.loads(meta["config"])
        saved_shape = (saved.get("algo"), saved.get("td3", {}).get("hidden_sizes"))
        if saved_shape != (self.config.algo, list(self.config.td3.hidden_sizes)):
            raise CheckpointError(f"{path} holds a {saved_shape[0]} learner with hidden sizes {saved_shape[1]}, this run "
                                  f"has {self.config.algo} {list(self.config.td3.hidden_sizes)}")
        tensors = load_tensors(path)
        learner = self.learner
        for name, module in learner.modules().items():
            _load_module(name, module, tensors, path)
        try:
            for name, optim in learner.optimizers().items():
                _load_optimizer(name, optim, tensors)
            if hasattr(learner, "log_alpha"):
                with torch.no_grad():
                    learner.log_alpha.copy_(tensors["log_alpha"])
            n = int(tensors["replay.reward"].shape[0])
            if n > self.replay.capacity:
                raise ValueError(f"{n} transitions do not fit a replay of {self.replay.capacity}")
            for field in REPLAY_FIELDS:
                getattr(self.replay, field)[:n] = tensors[f"replay.{field}"].numpy()
            self.replay.size, self.replay.head = n, int(meta["replay_head"]) % self.replay.capacity
            torch.set_rng_state(tensors["rng.torch"])
            self.rng.bit_generator.state = json.loads(meta["numpy_rng"])
            self.env_steps, self.grad_steps = int(meta["env_steps"]), int(meta["grad_steps"])
            learner.updates = int(meta["updates"])
        except (KeyError, ValueError, RuntimeError) as err:
            raise CheckpointError(f"{path}: learner state does not match: {err}") from None
        self.pending = None
        return json.loads(meta.get("progress", "{}"))
