"""TD3 (Fujimoto et al. 2018), the off-policy learner RIG uses (RIG §4, Table 1 hyper-parameters)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from rig_core.config import TD3Config
from rig_core.device import parse_device
from rig_core.networks import Actor, TwinCritic


@dataclass
class Batch:
    """One minibatch of transitions; rewards are already scaled and goals already relabeled."""

    obs: torch.Tensor  # (B, obs_dim): latent state ⊕ latent goal
    action: torch.Tensor  # (B, A)
    reward: torch.Tensor  # (B,)
    next_obs: torch.Tensor  # (B, obs_dim)
    done: torch.Tensor  # (B,) 1.0 where the episode terminated (not merely truncated)
    is_demo: torch.Tensor | None = None  # (B,) 1.0 on demonstrated transitions (BC loss, Q-filter); TD3 ignores it

    @classmethod
    def from_numpy(cls, device: torch.device, obs: np.ndarray, action: np.ndarray, reward: np.ndarray,
                   next_obs: np.ndarray, is_demo: np.ndarray | None = None) -> Batch:
        """A batch on `device` from CPU arrays (float32; `done` all zero: episodes end by time limit only,
        so every transition bootstraps). On the CPU the tensors share the arrays' memory."""
        def put(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.asarray(array, np.float32)).to(device)

        return cls(obs=put(obs), action=put(action), reward=put(reward), next_obs=put(next_obs),
                   done=torch.zeros(len(reward), device=device), is_demo=None if is_demo is None else put(is_demo))


def _adam(params, lr: float) -> torch.optim.Adam:
    """Fused Adam where torch has the kernels (CPU, CUDA), else the foreach one (e.g. on "meta")."""
    params = list(params)
    if all(p.device.type in ("cpu", "cuda") for p in params):
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError):  # fused Adam unavailable on this build
            pass
    return torch.optim.Adam(params, lr=lr, foreach=True)


class TD3:
    """Twin critics, clipped target-policy smoothing, delayed actor and target updates.

    The networks are initialised on the CPU (the same weights for a seed on every device), then moved to
    `device`; `update` takes batches on that device and `act` takes and returns CPU arrays.
    """

    def __init__(self, obs_dim: int, action_dim: int, config: TD3Config, seed: int = 0,
                 device: str | torch.device = "cpu") -> None:
        torch.manual_seed(seed)
        self.config = config
        self.device = parse_device(device)
        self.actor = Actor(obs_dim, action_dim, config.hidden_sizes).to(self.device)
        self.critic = TwinCritic(obs_dim, action_dim, config.hidden_sizes).to(self.device)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_optim = _adam(self.actor.parameters(), config.actor_lr)
        self.critic_optim = _adam(self.critic.parameters(), config.critic_lr)
        self.updates = 0
        self._pairs = [
            (list(self.actor_target.parameters()), list(self.actor.parameters())),
            (list(self.critic_target.parameters()), list(self.critic.parameters())),
        ]

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic action(s) for (obs_dim,) or (N, obs_dim) float32 observations."""
        tensor = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        return self.actor(tensor).cpu().numpy()

    def critic_step(self, batch: Batch, regularizer: torch.Tensor | None = None) -> torch.Tensor:
        """Twin-critic regression onto the clipped double-Q target with target-policy smoothing."""
        cfg = self.config
        with torch.no_grad():
            noise = (torch.randn_like(batch.action) * cfg.target_noise).clamp_(
                -cfg.target_noise_clip, cfg.target_noise_clip)
            next_action = (self.actor_target(batch.next_obs) + noise).clamp_(-1.0, 1.0)
            target_q = self.critic_target(batch.next_obs, next_action).min(0).values
            target = batch.reward + cfg.gamma * (1.0 - batch.done) * target_q
        q = self.critic(batch.obs, batch.action)
        critic_loss = (q - target).pow(2).mean(1).sum()  # MSE of each of the twin critics, summed
        if regularizer is not None:
            critic_loss = critic_loss + regularizer
        self.critic_optim.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optim.step()
        self.updates += 1
        return critic_loss.detach()

    def actor_step(self, actor_loss: torch.Tensor) -> None:
        """Apply an actor loss, then Polyak-average both target networks."""
        self.actor_optim.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optim.step()
        with torch.no_grad():
            for target_params, params in self._pairs:
                torch._foreach_lerp_(target_params, params, self.config.tau)

    def update(self, batch: Batch) -> dict[str, float]:
        """One TD3 gradient step (critic every call; actor and targets every `policy_delay`)."""
        stats = {"td3/critic_loss": self.critic_step(batch)}
        if self.updates % self.config.policy_delay == 0:
            actor_loss = -self.critic.q1_frozen(batch.obs, self.actor(batch.obs)).mean()
            self.actor_step(actor_loss)
            stats["td3/actor_loss"] = actor_loss.detach()
        return stats

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"actor": self.actor, "critic": self.critic,
                "actor_target": self.actor_target, "critic_target": self.critic_target}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"actor_optim": self.actor_optim, "critic_optim": self.critic_optim}
