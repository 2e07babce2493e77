"""Residual-RL weights as they travel from a trainer to the policy node: the learner's actor πθ and the run's
``ResidualRLConfig`` (controller gain, residual bound, algorithm) as safetensors bytes with JSON metadata, never
pickled; rebuilt with a one-line CheckpointError when unusable. The policy node acts with exactly what the trainer's
critic learned: u′ = πH(s) + b · πθ(s) (thesis Eq. 49), the controller the config names."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from rig_core.errors import CheckpointError, ConfigError
from rig_core.networks import Actor
from rig_core.policy_weights import safetensors_metadata
from rig_core.residual_rl import ACTION_DIM, FEATURE_DIM, STATE_DIM, ResidualPolicy, ResidualRLConfig
from rig_core.sac import SAC, GaussianActor
from rig_core.td3 import TD3

KIND = "residual"  # rig_interfaces/Weights.kind of these bytes
FORMAT = "rig-residual-weights-1"


@dataclass
class ResidualWeights:
    """A residual actor and its config; ``policy(step_size)`` is the controller plus the bounded residual."""

    version: int
    config: ResidualRLConfig
    actor: Actor | GaussianActor
    env_steps: int = 0  # env steps the trainer had taken in when it exported these

    contextual = False  # no CC-VAE: a residual policy acts on the state
    exploring = False  # no exploration-only phase: the zero residual plus noise is the P-controller exploring
    state_dim = STATE_DIM

    @torch.no_grad()
    def residual(self, features: np.ndarray) -> np.ndarray:
        """πθ(s) ∈ [−1, 1]ᴬ, deterministic (the mean action for SAC)."""
        obs = torch.as_tensor(features, dtype=torch.float32)
        out = self.actor.deterministic(obs) if isinstance(self.actor, GaussianActor) else self.actor(obs)
        return out.numpy().astype(np.float32)

    @torch.no_grad()
    def sample(self, features: np.ndarray) -> np.ndarray:
        """SAC's stochastic residual (its own exploration); TD3 explores with noise added by the caller."""
        if not isinstance(self.actor, GaussianActor):
            return self.residual(features)
        return self.actor(torch.as_tensor(features, dtype=torch.float32)[None])[0][0].numpy().astype(np.float32)

    def policy(self, step_size: float, stochastic: bool = False) -> ResidualPolicy:
        """The executed policy u′ (``stochastic``: SAC samples its residual, for exploration)."""
        fn = self.sample if stochastic and self.config.algo == "sac" else self.residual
        return ResidualPolicy(self.config.kp, self.config.residual_bound, step_size, fn)


def residual_bytes(learner: TD3 | SAC, config: ResidualRLConfig, version: int, env_steps: int = 0) -> bytes:
    """The actor (CPU tensors) and config as safetensors bytes."""
    tensors = {f"actor.{k}": v.detach().cpu().contiguous().clone() for k, v in learner.actor.state_dict().items()}
    meta = {"format": FORMAT, "kind": KIND, "version": str(version), "env_steps": str(env_steps),
            "config": json.dumps(asdict(config))}
    return save(tensors, metadata=meta)


def load_residual_weights(data: bytes) -> ResidualWeights:
    """Rebuild the actor from ``residual_bytes`` output; CheckpointError with a one-line reason if unusable."""
    data = bytes(data)
    try:
        tensors = load(data)
        meta = safetensors_metadata(data)
        if meta.get("format") != FORMAT:
            raise KeyError(f"format {meta.get('format')!r} is not {FORMAT!r}")
        config = ResidualRLConfig.from_dict(json.loads(meta["config"]))
    except (SafetensorError, ValueError, KeyError, TypeError, ConfigError) as err:
        raise CheckpointError(f"residual weights are unreadable: {err}") from None
    hidden, action_dim = config.td3.hidden_sizes, ACTION_DIM
    actor: Actor | GaussianActor = (GaussianActor(FEATURE_DIM, action_dim, hidden) if config.algo == "sac"
                                    else Actor(FEATURE_DIM, action_dim, hidden))
    found = {k[len("actor."):]: v for k, v in tensors.items() if k.startswith("actor.")}
    try:
        actor.load_state_dict(found, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"weights do not fit the residual actor: {str(err).splitlines()[0]}") from None
    return ResidualWeights(int(meta.get("version", 0)), config, actor.eval(), int(meta.get("env_steps", 0)))
