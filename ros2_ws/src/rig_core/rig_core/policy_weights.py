"""Policy weights as they travel between processes: actor + VAE (or CC-VAE) rebuilt from the safetensors bytes of
`checkpoint.policy_bytes()`, with a one-line CheckpointError when they are unusable."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load

from rig_core.ccvae import ContextConditionedVAE
from rig_core.config import RIGConfig
from rig_core.errors import CheckpointError
from rig_core.networks import Actor
from rig_core.vae import ConvVAE


@dataclass
class PolicyWeights:
    """Actor and VAE rebuilt from `checkpoint.policy_bytes()` output."""

    version: int
    config: RIGConfig
    vae: ConvVAE | ContextConditionedVAE
    actor: Actor
    vae_version: int | None = None  # VAE updates behind these weights; None: weights from before it was sent
    goal_pool: np.ndarray | None = None  # Skew-Fit: latents (z_t for the CC-VAE) of replay states from p_skewed

    @property
    def exploring(self) -> bool:
        """No VAE trained yet: RIG's exploration phase, where the policy acts on noise alone (rig_core.loop)."""
        return self.vae_version == 0

    @property
    def contextual(self) -> bool:
        """CC-RIG: latents are z̄ = (μ(s, s0), zc), encoded with the episode's first frame s0 (thesis §3.4.2)."""
        return isinstance(self.vae, ContextConditionedVAE)

    def encode(self, frames: np.ndarray, context: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encoder mean and log-variance of uint8 frames (N, S, S, 3); the CC-VAE also takes the episode's first
        frame `context` (one, or one per frame) and returns z̄ = (μ(s, s0), zc), the VAE ignores it (as RIGAgent.encode)."""
        if self.contextual and context is not None:
            return self.vae.encode(frames, context)
        return self.vae.encode(frames)

    @torch.no_grad()
    def act(self, latent: np.ndarray, goal: np.ndarray) -> np.ndarray:
        obs = torch.as_tensor(np.concatenate([latent, goal]), dtype=torch.float32)
        return self.actor(obs).numpy().astype(np.float32)


def safetensors_metadata(data: bytes) -> dict[str, str]:
    """The JSON metadata in the header of safetensors bytes."""
    header_len = int(np.frombuffer(data[:8], "<u8")[0])
    return json.loads(data[8:8 + header_len]).get("__metadata__", {}) or {}


def _load_strict(module: torch.nn.Module, prefix: str, tensors: dict[str, torch.Tensor]) -> None:
    found = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(found, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"weights do not fit the {prefix[:-1]} network: {str(err).splitlines()[0]}") from None


def load_policy_weights(data: bytes) -> PolicyWeights:
    """Rebuild actor + VAE from safetensors bytes; CheckpointError with a one-line reason if unusable."""
    data = bytes(data)
    try:
        tensors = load(data)
        meta = safetensors_metadata(data)
        config = RIGConfig.from_dict(json.loads(meta["config"]))
    except (SafetensorError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"policy weights are unreadable: {err}") from None
    if config.vae.model == "ccvae":
        vae: ConvVAE | ContextConditionedVAE = ContextConditionedVAE(
            config.image_size, config.vae.latent_dim, config.vae.context_dim).eval()
    else:
        vae = ConvVAE(config.image_size, config.vae.latent_dim).eval()
    d = vae.latent_dim
    _load_strict(vae, "vae.", tensors)
    biases = sorted((k for k in tensors if k.startswith("actor.") and k.endswith(".bias")),
                    key=lambda k: int(k.split(".")[-2]) if k.split(".")[-2].isdigit() else -1)
    action_dim = int(tensors[biases[-1]].shape[0]) if biases else 2
    actor = Actor(2 * d, action_dim, config.td3.hidden_sizes).eval()
    _load_strict(actor, "actor.", tensors)
    vae_version = int(meta["vae_version"]) if "vae_version" in meta else None
    pool = tensors.get("goals.skewed")
    width = vae.state_dim if isinstance(vae, ContextConditionedVAE) else d
    if pool is not None and (pool.ndim != 2 or pool.shape[0] == 0 or pool.shape[1] != width):
        raise CheckpointError(f"goals.skewed has shape {tuple(pool.shape)}, the VAE needs (N, {width})")
    goal_pool = None if pool is None else pool.numpy().astype(np.float32)
    return PolicyWeights(int(meta.get("version", 0)), config, vae, actor, vae_version, goal_pool)


def imagined_goal(weights: PolicyWeights, generator: torch.Generator, context: np.ndarray | None = None) -> np.ndarray:
    """One imagined goal latent for a new episode, as `rig run` draws it: from the VAE prior (RIG §4.1), or with
    Skew-Fit's p_skewed goals a row of the weights' goal pool (thesis Alg. 10 step 6). CC-RIG appends the zc of the
    episode's first frame `context` (§3.4.2), so a pooled z_t becomes a goal in this scene."""
    pool = weights.goal_pool
    pooled = None if pool is None else pool[int(torch.randint(len(pool), (1,), generator=generator))].copy()
    if context is None or not weights.contextual:
        return pooled if pooled is not None else weights.vae.sample_prior(1, generator)[0]
    scene = weights.encode(context[None], context[None])[0]
    if pooled is not None:
        return np.concatenate([pooled, scene[0, weights.vae.state_dim:]]).astype(np.float32)
    return weights.vae.sample_goals(scene, generator)[0]  # z̄_g = (z_g ~ N(0, I), zc = e0(s0)) (Alg. 2 step 3)


def load_weights(data: bytes, kind: str = "policy"):
    """The weights a Weights message carries, by its ``kind``: "policy" (actor + VAE, RIG) or "residual"
    (a residual actor and its controller, rig_core.residual_weights); CheckpointError for anything else."""
    if kind == "residual":
        from rig_core.residual_weights import load_residual_weights

        return load_residual_weights(data)
    if kind in ("policy", ""):
        return load_policy_weights(data)
    raise CheckpointError(f"unknown weights kind {kind!r} (policy or residual)")
