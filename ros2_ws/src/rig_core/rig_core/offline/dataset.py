"""Goal-conditioned offline datasets from latent trajectories, relabeled as RIG relabels (RIG §4.2–4.3).

Steps (latent z, action a, next latent z', is_demo, episode id) are grouped into episodes and stored
frame by frame the way `ImageReplayBuffer` stores them (an episode of T steps is T + 1 latents, the
next latent of step t is latent t + 1), without images. The dataset therefore exposes exactly the
fields `relabel.relabel_goals` reads (`latents`, `goals`, `episode_end`, `slot`), so goals come from
the same trajectory's future by the very code the online agent uses, and rewards are
`rewards.latent_distance_reward`: r = −‖z' − z_g‖.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rig_core.device import parse_device
from rig_core.errors import DataError
from rig_core.relabel import relabel_goals
from rig_core.rewards import latent_distance_reward
from rig_core.td3 import Batch

DemoBatch = Batch  # a `td3.Batch` whose `is_demo` marks demonstrations (None: every row is one)


class TrajectoryDataset:
    """Whole episodes of latent transitions; samples relabeled goal-conditioned `DemoBatch`es."""

    def __init__(self, latents: np.ndarray, actions: np.ndarray, next_latents: np.ndarray,
                 is_demo: np.ndarray, episode_ids: np.ndarray, goals: np.ndarray | None = None,
                 atol: float = 1e-5) -> None:
        """Per-step arrays, steps of one episode in time order (episodes may interleave).

        `goals` (per step, optional) are the goals the steps were collected with (relabel strategy
        "none"); by default each episode's final latent, as demonstrations set their goal from the
        final frame. Raises DataError when shapes disagree or an episode's next latent at step t is
        not its latent at step t + 1 (a gap: split the episode).
        """
        latents, next_latents = np.asarray(latents, np.float32), np.asarray(next_latents, np.float32)
        actions = np.asarray(actions, np.float32)
        is_demo, episode_ids = np.asarray(is_demo, bool).reshape(-1), np.asarray(episode_ids).reshape(-1)
        n = len(latents)
        if n == 0:
            raise DataError("no transitions")
        if latents.ndim != 2 or next_latents.shape != latents.shape or actions.ndim != 2 \
                or len(actions) != n or len(is_demo) != n or len(episode_ids) != n:
            raise DataError(f"per-step arrays disagree: latents {latents.shape}, next_latents {next_latents.shape}, "
                            f"actions {actions.shape}, is_demo {is_demo.shape}, episode_ids {episode_ids.shape}")
        if goals is not None:
            goals = np.asarray(goals, np.float32)
            if goals.shape != latents.shape:
                raise DataError(f"goals must have shape {latents.shape}, got {goals.shape}")
        if not (np.isfinite(latents).all() and np.isfinite(next_latents).all() and np.isfinite(actions).all()):
            raise DataError("latents and actions must be finite")
        _, first, inverse = np.unique(episode_ids, return_index=True, return_inverse=True)
        order = np.argsort(first)  # episodes in order of first appearance
        episodes = [np.flatnonzero(inverse == k) for k in order]
        n_frames = n + len(episodes)
        d = latents.shape[1]
        self.latent_dim, self.action_dim = d, actions.shape[1]
        self.latents = np.zeros((n_frames, d), np.float32)
        self.actions = np.zeros((n_frames, actions.shape[1]), np.float32)
        self.goals = np.zeros((n_frames, d), np.float32)
        self.episode_end = np.zeros(n_frames, np.int64)
        self.valid = np.zeros(n_frames, bool)
        self.is_demo = np.zeros(n_frames, bool)
        start = 0
        for steps in episodes:
            if not np.allclose(next_latents[steps[:-1]], latents[steps[1:]], atol=atol):
                t = int(np.flatnonzero(~np.isclose(next_latents[steps[:-1]], latents[steps[1:]], atol=atol).all(1))[0])
                raise DataError(f"episode {episode_ids[steps[0]]}: next latent of step {t} is not the latent of "
                                f"step {t + 1}; split the episode at the gap")
            end = start + len(steps)  # index of the episode's last frame
            self.latents[start:end] = latents[steps]
            self.latents[end] = next_latents[steps[-1]]
            self.actions[start:end] = actions[steps]
            self.goals[start:end] = self.latents[end] if goals is None else goals[steps]
            self.goals[end] = self.goals[end - 1]
            self.episode_end[start:end + 1] = end
            self.valid[start:end] = True
            self.is_demo[start:end] = is_demo[steps]
            start = end + 1
        self.n_episodes = len(episodes)
        self._all = np.flatnonzero(self.valid)
        self._demos = np.flatnonzero(self.valid & self.is_demo)

    def __len__(self) -> int:
        return len(self._all)

    @property
    def n_demo_transitions(self) -> int:
        return len(self._demos)

    def slot(self, index: np.ndarray) -> np.ndarray:
        """Storage index of frame `index` (identity: no ring); the name `relabel_goals` calls."""
        return index

    def sample(self, batch_size: int, rng: np.random.Generator, strategy: str = "future",
               future_fraction: float = 0.5, prior: Callable[[int], np.ndarray] | None = None,
               demo_batch_size: int = 0, reward_scale: float = 1.0, device: torch.device | str = "cpu") -> DemoBatch:
        """A relabeled minibatch: `demo_batch_size` transitions drawn from demonstrations only (thesis §5.4.1,
        the N_D extra demo examples) and the rest uniformly from all transitions. Sampling and relabeling run on
        the CPU; the batch's tensors are on `device`.

        Goals follow `relabel.relabel_goals` ("none", "future", "vae", "rig"; the latter two need
        `prior(n) -> (n, latent_dim)` goal samples, e.g. `RIGAgent.sample_goals`).
        """
        if strategy in ("vae", "rig") and prior is None:
            raise ValueError(f"relabel strategy {strategy!r} needs prior goal samples")
        n_demo = min(demo_batch_size, batch_size) if len(self._demos) else 0
        idx = np.concatenate([self._demos[rng.integers(0, len(self._demos), n_demo)],
                              self._all[rng.integers(0, len(self._all), batch_size - n_demo)]])
        prior_sample = prior(batch_size) if prior is not None else np.zeros((batch_size, self.latent_dim), np.float32)
        goals, _ = relabel_goals(self, idx, strategy, future_fraction, prior_sample, rng)
        z, z_next = self.latents[idx], self.latents[idx + 1]
        reward = latent_distance_reward(z_next, goals) * reward_scale
        return DemoBatch.from_numpy(parse_device(device), obs=np.concatenate([z, goals], 1), action=self.actions[idx],
                                    reward=reward, next_obs=np.concatenate([z_next, goals], 1), is_demo=self.is_demo[idx])
