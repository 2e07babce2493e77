"""Replay buffer for CC-RIG: the image replay plus, per frame, which stored frame is its episode's context s0
(thesis §3.4.2: "we save the first image s0 when starting a rollout").

Latents are z̄ = (μ(s, s0), zc); `reencode` encodes each frame with its own episode's first frame. When the ring
overwrites an episode's first frame, that episode's remaining transitions lose their context and are no longer
sampled (at most one episode at a time).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rig_core.errors import DataError
from rig_core.replay import ImageReplayBuffer

ContextEncode = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class ContextReplayBuffer(ImageReplayBuffer):
    """ImageReplayBuffer whose frames each know their episode's first frame (`context_index`, absolute)."""

    def __init__(self, capacity: int, image_size: int, action_dim: int, latent_dim: int) -> None:
        super().__init__(capacity, image_size, action_dim, latent_dim)
        self.context_index = np.zeros(self.capacity, np.int64)

    def _write_frame(self, frame: np.ndarray, latent: np.ndarray, logvar: np.ndarray) -> int:
        slot = int(self.slot(self.total_frames))
        overwritten = self.total_frames - (self.capacity - self.pinned)  # absolute index of the frame replaced
        if overwritten >= 0 and self.context_index[slot] == overwritten:  # an episode's s0 goes: drop its steps
            self.valid[self.context_index == overwritten] = False
        index = super()._write_frame(frame, latent, logvar)
        self.context_index[slot] = index if self._episode_start is None or self._episode_start < 0 else self._episode_start
        return index

    def start_episode(self, frame: np.ndarray, latent: np.ndarray, logvar: np.ndarray) -> None:
        self._episode_start = -1  # the frame written now is its own context
        super().start_episode(frame, latent, logvar)

    def context_slots(self, slots: np.ndarray) -> np.ndarray:
        """Ring slots of the context frames of the frames at `slots`."""
        return self.slot(self.context_index[slots])

    def stored_context_rows(self) -> np.ndarray:
        """For each stored frame row, the row of its context frame (for training the CC-VAE on the replay)."""
        return np.asarray(self.context_slots(np.arange(self.stored_frame_count())), np.int64)

    def trainable_rows(self) -> np.ndarray:
        """Stored rows whose context frame is still stored (every row but those of an episode cut by the ring)."""
        n = self.stored_frame_count()
        oldest = max(self.total_frames - (self.capacity - self.pinned), 0)
        return np.flatnonzero(self.context_index[:n] >= oldest)

    def reencode(self, encode: ContextEncode, batch_size: int = 2048) -> None:  # type: ignore[override]
        """Recompute z̄ of every stored frame with `encode(frames, their context frames)`."""
        n = self.stored_frame_count()
        rows = self.stored_context_rows()
        for start in range(0, n, batch_size):
            end = min(start + batch_size, n)
            self.latents[start:end], self.latent_logvars[start:end] = encode(self.frames[start:end],
                                                                             self.frames[rows[start:end]])

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {**super().state_arrays(), "context_index": self.context_index[: self.stored_frame_count()]}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        if "context_index" not in arrays:
            raise DataError("replay data has no context_index: it was not written by a CC-RIG run")
        super().load_state_arrays(arrays)
        self.context_index[: len(arrays["context_index"])] = arrays["context_index"]
