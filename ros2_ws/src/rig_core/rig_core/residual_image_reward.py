"""The image-goal reward for residual RL on insertion (thesis §9.3.2 / §9.6.1: the distance between the current image
and a goal image; RIG's latent distance −‖μ(s) − μ(g)‖ in place of their pixel ℓ1): a β-VAE trained on the first
``learning_starts`` env steps' frames and goal images, which then rewards every stored transition. Until it is
trained the rewards wait; ``relabel`` fills them in once it is."""

from __future__ import annotations

import numpy as np
import torch

from rig_core.rewards import latent_distance_reward
from rig_core.vae import ConvVAE, train_vae

LATENT_DIM = 16
VAE_BATCHES = 400
VAE_BATCH_SIZE = 64
VAE_BETA = 1.0
VAE_LR = 1e-3


class ImageGoalReward:
    """Frames in until ``train``; then −‖μ(next frame) − μ(goal image)‖ for each transition."""

    def __init__(self, image_size: int, seed: int) -> None:
        self.image_size, self.seed = image_size, seed
        self.vae: ConvVAE | None = None
        self.frames: list[np.ndarray] = []
        self.waiting: list[tuple[int, np.ndarray, np.ndarray]] = []  # (replay index, next frame, goal image)
        self._goal_key: bytes | None = None
        self._goal_z: np.ndarray | None = None

    @property
    def trained(self) -> bool:
        return self.vae is not None

    def observe(self, frame: np.ndarray, goal_image: np.ndarray | None = None) -> None:
        """A frame (and, at an episode's start, its goal image) for the VAE's training set."""
        if self.vae is None:
            self.frames.append(np.array(frame, copy=True))
            if goal_image is not None:
                self.frames.append(np.array(goal_image, copy=True))

    def reward(self, index: int, next_frame: np.ndarray, goal_image: np.ndarray) -> float | None:
        """The transition's reward, or None while the VAE is untrained (it is kept for ``relabel``)."""
        if self.vae is None:  # copies: the env re-uses its goal image's array
            self.waiting.append((index, np.array(next_frame, copy=True), np.array(goal_image, copy=True)))
            return None
        key = goal_image.tobytes()
        if key != self._goal_key:  # one goal image per episode: encode it once
            self._goal_key, self._goal_z = key, self.vae.encode(goal_image[None])[0]
        z, _ = self.vae.encode(next_frame[None])
        return float(latent_distance_reward(z, self._goal_z)[0])

    def train(self) -> dict[str, float]:
        torch.manual_seed(self.seed)
        frames = np.stack(self.frames)
        vae = ConvVAE(self.image_size, LATENT_DIM)
        vae.init_output_bias(frames)
        stats = train_vae(vae, frames, VAE_BATCHES, VAE_BATCH_SIZE, VAE_BETA, torch.optim.Adam(vae.parameters(), lr=VAE_LR),
                          np.random.default_rng(self.seed))
        self.vae, self.frames = vae.eval(), []
        return stats

    def relabel(self, rewards: np.ndarray) -> int:
        """Write the rewards of the transitions that waited for the VAE into ``rewards`` (the replay's array)."""
        waiting, self.waiting = self.waiting, []
        for index, next_frame, goal_image in waiting:
            rewards[index] = self.reward(index, next_frame, goal_image)
        return len(waiting)
