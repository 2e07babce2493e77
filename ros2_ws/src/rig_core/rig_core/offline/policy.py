"""Gaussian policy for AWAC and IQL: tanh-bounded mean, state-independent log-std (thesis App. E.2)."""

from __future__ import annotations

import torch
from torch import nn

from rig_core.networks import mlp


class GaussianPolicy(nn.Module):
    """π(a | s, g) = N(tanh(f(s, g)), diag σ²) with σ a learned vector; actions live in [-1, 1]^A.

    The thesis parameterises IQL's policy "as a Gaussian distribution with a state-independent standard
    deviation" (App. E.2); AWAC's weighted likelihood (Eq. 35) needs any density, so both use this one.
    log σ is clamped to [log_std_min, log_std_max]; σ ≤ 1 by default because actions span [-1, 1].
    """

    def __init__(self, obs_dim: int, action_dim: int, hidden: tuple[int, ...],
                 log_std_min: float = -5.0, log_std_max: float = 0.0) -> None:
        super().__init__()
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.mean_net = mlp([obs_dim, *hidden, action_dim], nn.Tanh())
        self.log_std = nn.Parameter(torch.zeros(action_dim))
        self.log_std_min, self.log_std_max = log_std_min, log_std_max

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Normal:
        std = self.log_std.clamp(self.log_std_min, self.log_std_max).exp()
        # no argument validation: it reads the tensors back to the host (a GPU sync at every call); σ > 0 by the clamp
        return torch.distributions.Normal(self.mean_net(obs), std, validate_args=False)

    def log_prob(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """log π(a | s) summed over action dimensions, shape (B,)."""
        return self.distribution(obs).log_prob(action).sum(-1)

    def sample(self, obs: torch.Tensor) -> torch.Tensor:
        """A stochastic action, clipped to [-1, 1]."""
        return self.distribution(obs).sample().clamp(-1.0, 1.0)

    def deterministic_state_dict(self) -> dict[str, torch.Tensor]:
        """The mean network as a TD3 `networks.Actor` state dict: what the policy node executes."""
        return mean_as_actor_state(self.state_dict())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The mean action (what `act` executes at evaluation)."""
        return self.mean_net(obs)


def mean_as_actor_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A GaussianPolicy state dict's mean network (`mean_net.*`) renamed to a TD3 `Actor`'s keys (`net.*`)."""
    return {k.replace("mean_net.", "net.", 1): v for k, v in state.items() if k.startswith("mean_net.")}
