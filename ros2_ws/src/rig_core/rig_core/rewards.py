"""Latent rewards (RIG §4.2) and the paper's alternatives: log-probability and pixel MSE."""

from __future__ import annotations

import numpy as np
import torch

from rig_core.vae import ConvVAE


def latent_distance_reward(next_latent: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """r = −‖z − z_g‖ with z the encoder mean of the next observation (RIG §4.2)."""
    return -np.linalg.norm(next_latent - goal, axis=-1)


def log_prob_reward(next_latent: np.ndarray, next_logvar: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """r = log q(z_g | s') up to a constant: Mahalanobis distance under the encoder posterior (RIG §4.2)."""
    return -0.5 * ((goal - next_latent) ** 2 / np.exp(next_logvar)).sum(-1)


def pixel_mse_reward(vae: ConvVAE, next_latent: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """r = −MSE between decoded observation and decoded goal, in pixel space (RIG's HER baseline metric);
    decoded on the VAE's device, returned as a CPU array."""
    with torch.no_grad():
        images = vae.decode(torch.as_tensor(np.concatenate([next_latent, goal]), device=vae.device))
        obs_img, goal_img = images.split(len(next_latent))
        return -(obs_img - goal_img).pow(2).flatten(1).mean(1).cpu().numpy()


def compute_reward(kind: str, vae: ConvVAE, next_latent: np.ndarray, next_logvar: np.ndarray,
                   goal: np.ndarray) -> np.ndarray:
    if kind == "latent_distance":
        return latent_distance_reward(next_latent, goal)
    if kind == "log_prob":
        return log_prob_reward(next_latent, next_logvar, goal)
    if kind == "pixel_mse":
        return pixel_mse_reward(vae, next_latent, goal)
    raise ValueError(f"unknown reward type {kind!r}")
