"""Replay buffer that stores every camera frame once (uint8) and the latents of the current VAE.

Frames live in one ring in the order they were seen. An episode of T steps takes T + 1 consecutive
slots (its last slot holds the final observation and starts no transition), so the next observation
of the transition at slot i is slot i + 1: no duplicated next-frame copies. After each VAE update the
latents of all stored frames are recomputed (`reencode`), as RIG requires when the VAE changes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rig_core.errors import DataError


class ImageReplayBuffer:
    """Ring buffer of frames, actions, rollout goals and episode bounds, with latents per frame."""

    def __init__(self, capacity: int, image_size: int, action_dim: int, latent_dim: int) -> None:
        self.capacity = int(capacity)
        self.image_size, self.action_dim, self.latent_dim = image_size, action_dim, latent_dim
        self.frames = np.zeros((self.capacity, image_size, image_size, 3), np.uint8)
        self.latents = np.zeros((self.capacity, latent_dim), np.float32)
        self.latent_logvars = np.zeros((self.capacity, latent_dim), np.float32)
        self.actions = np.zeros((self.capacity, action_dim), np.float32)
        self.goals = np.zeros((self.capacity, latent_dim), np.float32)  # the rollout goal of each step
        self.episode_end = np.zeros(self.capacity, np.int64)  # absolute index of the episode's last frame
        self.valid = np.zeros(self.capacity, bool)  # slot starts a transition whose next frame is stored
        self.is_demo = np.zeros(self.capacity, bool)  # the transition at this slot was demonstrated
        self.arm = np.zeros(self.capacity, np.int16)  # which arm took the transition at this slot (several arms)
        self.total_frames = 0  # absolute frame counter; slot = self.slot(index)
        self.pinned = 0  # frames [0, pinned) are kept for good (demonstrations); the ring wraps over the rest
        self._episode_start: int | None = None
        self.env_steps = 0

    # ---- writing -------------------------------------------------------------------------------
    def _write_frame(self, frame: np.ndarray, latent: np.ndarray, logvar: np.ndarray) -> int:
        if frame.shape != self.frames.shape[1:] or frame.dtype != np.uint8:
            raise DataError(f"frame must be uint8 {self.frames.shape[1:]}, got {frame.dtype} {frame.shape}")
        index = self.total_frames
        slot = int(self.slot(index))
        self.valid[slot] = self.is_demo[slot] = False
        self.arm[slot] = 0
        self.frames[slot] = frame
        self.latents[slot] = latent
        self.latent_logvars[slot] = logvar
        self.episode_end[slot] = index
        self.total_frames += 1
        return index

    def start_episode(self, frame: np.ndarray, latent: np.ndarray, logvar: np.ndarray) -> None:
        """Store the first observation of a new episode."""
        self._episode_start = self._write_frame(frame, latent, logvar)

    def add_step(self, action: np.ndarray, goal: np.ndarray, next_frame: np.ndarray,
                 next_latent: np.ndarray, next_logvar: np.ndarray, is_demo: bool = False, arm: int = 0) -> None:
        """Store action and rollout goal for the previous frame and the frame that followed it (taken by `arm`)."""
        if self._episode_start is None:
            raise RuntimeError("add_step() before start_episode()")
        action = np.asarray(action, np.float32)
        if action.shape != (self.action_dim,) or not np.all(np.isfinite(action)):
            raise DataError(f"action must be a finite ({self.action_dim},) vector, got {action!r}")
        prev_slot = int(self.slot(self.total_frames - 1))
        self.actions[prev_slot] = action
        self.goals[prev_slot] = goal
        index = self._write_frame(next_frame, next_latent, next_logvar)
        self.valid[prev_slot] = True
        self.is_demo[prev_slot] = is_demo
        self.arm[prev_slot] = arm
        # Every stored step of this episode now ends at `index` (needed by "future" relabeling).
        first = max(self._episode_start, index - (self.capacity - self.pinned) + 1)
        self.episode_end[self.slot(np.arange(first, index + 1))] = index
        self.env_steps += 1

    def pin(self) -> int:
        """Keep every frame stored so far (e.g. demonstrations) for good: later frames never overwrite them,
        the ring wraps over the remaining capacity. Closes the episode in progress; returns the pinned count."""
        if self.total_frames > self.capacity - 2:
            raise DataError(f"cannot pin {self.total_frames} frames in a buffer of capacity {self.capacity}: "
                            "it leaves no room to learn online (raise replay_capacity)")
        self.pinned, self._episode_start = self.total_frames, None
        return self.pinned

    # ---- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.valid.sum())

    def sample_indices(self, batch_size: int, rng: np.random.Generator, demo_count: int = 0) -> np.ndarray:
        """Absolute frame indices of `batch_size` sampled stored transitions: `demo_count` of them from
        demonstrated transitions (thesis §5.4.1: the N_D demo examples), the rest uniformly from all."""
        valid_slots = np.flatnonzero(self.valid)
        if len(valid_slots) == 0:
            raise RuntimeError("replay buffer holds no transitions yet")
        demo_slots = valid_slots[self.is_demo[valid_slots]] if demo_count > 0 else valid_slots[:0]
        n_demo = min(demo_count, batch_size) if len(demo_slots) else 0
        slots = np.concatenate([demo_slots[rng.integers(0, max(len(demo_slots), 1), size=n_demo)],
                                valid_slots[rng.integers(0, len(valid_slots), size=batch_size - n_demo)]])
        return self._absolute(slots)

    def _absolute(self, slots: np.ndarray) -> np.ndarray:
        """Map slots back to absolute indices (the newest frame written to each slot)."""
        newest, p = self.total_frames - 1, self.pinned
        ring = newest - ((self.slot(newest) - slots) % (self.capacity - p))
        return np.where(slots < p, slots, ring)

    def slot(self, index: np.ndarray | int) -> np.ndarray:
        """Ring slot of absolute frame indices; pinned frames keep their own slots."""
        index, p = np.asarray(index), self.pinned
        if p == 0:
            return index % self.capacity
        return np.where(index < p, index, p + (index - p) % (self.capacity - p))

    def stored_frame_count(self) -> int:
        return min(self.total_frames, self.capacity)

    def reencode(self, encode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                 batch_size: int = 2048) -> None:
        """Recompute latents of every stored frame with the current encoder."""
        for start in range(0, self.stored_frame_count(), batch_size):
            end = min(start + batch_size, self.stored_frame_count())
            self.latents[start:end], self.latent_logvars[start:end] = encode(self.frames[start:end])

    def nbytes(self) -> int:
        arrays = (self.frames, self.latents, self.latent_logvars, self.actions, self.goals,
                  self.episode_end, self.valid, self.is_demo, self.arm)
        return sum(a.nbytes for a in arrays)

    # ---- checkpointing -------------------------------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        n = self.stored_frame_count()
        return {"frames": self.frames[:n], "latents": self.latents[:n], "latent_logvars": self.latent_logvars[:n],
                "actions": self.actions[:n], "goals": self.goals[:n], "episode_end": self.episode_end[:n],
                "valid": self.valid[:n], "is_demo": self.is_demo[:n], "arm": self.arm[:n],
                "counters": np.array([self.total_frames, self.env_steps, self.pinned], np.int64)}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore from `state_arrays()`; the episode in progress at save time is closed."""
        n = len(arrays["frames"])
        if n > self.capacity or arrays["frames"].shape[1:] != self.frames.shape[1:] \
                or arrays["latents"].shape[1:] != self.latents.shape[1:] \
                or arrays["actions"].shape[1:] != self.actions.shape[1:]:
            raise DataError("replay data does not match this buffer's capacity, image size or dimensions")
        for name in ("frames", "latents", "latent_logvars", "actions", "goals", "episode_end", "valid"):
            getattr(self, name)[:n] = arrays[name]
        self.is_demo[:n] = arrays.get("is_demo", False)  # older checkpoints: none
        self.arm[:n] = arrays.get("arm", 0)  # older checkpoints: one arm
        counters = [int(v) for v in arrays["counters"]]
        self.total_frames, self.env_steps = counters[:2]
        self.pinned = counters[2] if len(counters) > 2 else 0  # older checkpoints: nothing pinned
        self._episode_start = None
