"""Streamed experience steps (episode, t, frame, latent, action, goal) → replay episodes, robust to lost
messages: what the trainer node does with /policy/experience and offline training with a bag."""

from __future__ import annotations

from collections.abc import Callable

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

    def starts_episode(self, episode: int, t: int) -> bool:
        """Whether step (episode, t) would start a new stored episode (its frame then is that episode's s0)."""
        return not (self._key == (episode, t - 1) and self._pending is not None)

    def add(self, episode: int, t: int, frame: np.ndarray, latent: np.ndarray, logvar: np.ndarray,
            action: np.ndarray | None, goal: np.ndarray, is_last: bool) -> bool:
        """Store one step; return True when it completed a transition."""
        goal = np.asarray(goal, np.float32)
        if goal.shape != (self.buffer.latent_dim,):
            raise DataError(f"goal must have {self.buffer.latent_dim} entries, got {goal.shape}")
        completed = False
        if not self.starts_episode(episode, t):
            self.buffer.add_step(self._pending[0], self._pending[1], frame, latent, logvar)
            completed = True
        else:
            self.buffer.start_episode(frame, latent, logvar)
        self._key = (episode, t)
        usable = action is not None and len(action) == self.buffer.action_dim and not is_last
        self._pending = (np.asarray(action, np.float32), goal) if usable else None
        return completed


Encoder = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class MultiArmAssembler:
    """Steps of several arms, interleaved on the wire, into one replay with the arm of every transition.

    The replay keeps an episode's frames in consecutive slots, so each arm's episode is staged and written
    in one piece: when it ends (is_last), at a gap or a new episode, or after `max_staged` steps (the
    last frame then also starts the next piece). Frames are encoded when written, with the VAE of that
    moment, as the replay's other frames are after each VAE update. An arm that stops sending leaves only
    its staged steps behind; the others go on."""

    def __init__(self, buffer: ImageReplayBuffer, encode: Encoder, max_staged: int = 1000) -> None:
        self.buffer, self.encode, self.max_staged = buffer, encode, max_staged
        self._staged: dict[int, list[tuple[int, int, np.ndarray, np.ndarray | None, np.ndarray]]] = {}
        self.arm_steps: dict[int, int] = {}  # transitions stored per arm

    def add(self, arm: int, episode: int, t: int, frame: np.ndarray, action: np.ndarray | None, goal: np.ndarray,
            is_last: bool) -> int:
        """Stage one step of `arm`; return the transitions this stored in the replay (0 while staging)."""
        goal = np.asarray(goal, np.float32)
        if goal.shape != (self.buffer.latent_dim,):
            raise DataError(f"goal must have {self.buffer.latent_dim} entries, got {goal.shape}")
        staged = self._staged.setdefault(arm, [])
        stored = 0
        if staged and (staged[-1][0], staged[-1][1] + 1) != (episode, t):
            stored += self.flush(arm)
            staged = self._staged.setdefault(arm, [])
        usable = action is not None and len(action) == self.buffer.action_dim and not is_last
        staged.append((episode, t, frame, np.asarray(action, np.float32) if usable else None, goal))
        if is_last or not usable:
            stored += self.flush(arm)
        elif len(staged) >= self.max_staged:
            stored += self.flush(arm, keep_last=True)
        return stored

    def flush(self, arm: int, keep_last: bool = False) -> int:
        """Write the staged piece of `arm`'s episode to the replay; return its transitions."""
        staged = self._staged.pop(arm, [])
        if keep_last and staged:
            self._staged[arm] = [staged[-1]]
        if len(staged) < 2:
            return 0
        z, logvar = self.encode(np.stack([s[2] for s in staged]))
        self.buffer.start_episode(staged[0][2], z[0], logvar[0])
        for i in range(1, len(staged)):
            _, _, _, action, goal = staged[i - 1]
            self.buffer.add_step(action, goal, staged[i][2], z[i], logvar[i], arm=arm)
        self.arm_steps[arm] = self.arm_steps.get(arm, 0) + len(staged) - 1
        return len(staged) - 1
