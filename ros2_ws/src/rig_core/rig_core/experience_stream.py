"""Streamed experience steps (episode, t, frame, latent, action, goal) → replay episodes, robust to lost
messages: what the trainer node does with /policy/experience and offline training with a bag."""

from __future__ import annotations

import numpy as np

from rig_core.errors import DataError
from rig_core.replay import ImageReplayBuffer


class EpisodeAssembler:
    """Feeds streamed (episode, t) steps into an ImageReplayBuffer. A gap or a new episode starts a new
    stored episode, so lost messages cost at most one transition and never join unrelated frames."""

    def __init__(self, buffer: ImageReplayBuffer) -> None:
        self.buffer = buffer
        self._key: tuple[int, int] | None = None  # (episode, t) of the last stored frame
        self._pending: tuple[np.ndarray, np.ndarray] | None = None  # action, goal taken after that frame

    def add(self, episode: int, t: int, frame: np.ndarray, latent: np.ndarray, logvar: np.ndarray,
            action: np.ndarray | None, goal: np.ndarray, is_last: bool) -> bool:
        """Store one step; return True when it completed a transition."""
        goal = np.asarray(goal, np.float32)
        if goal.shape != (self.buffer.latent_dim,):
            raise DataError(f"goal must have {self.buffer.latent_dim} entries, got {goal.shape}")
        completed = False
        if self._key == (episode, t - 1) and self._pending is not None:
            self.buffer.add_step(self._pending[0], self._pending[1], frame, latent, logvar)
            completed = True
        else:
            self.buffer.start_episode(frame, latent, logvar)
        self._key = (episode, t)
        usable = action is not None and len(action) == self.buffer.action_dim and not is_last
        self._pending = (np.asarray(action, np.float32), goal) if usable else None
        return completed
