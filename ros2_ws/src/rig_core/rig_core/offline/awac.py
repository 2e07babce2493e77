"""Advantage weighted actor critic (thesis ch. 6, §6.4, Algorithm 4; implementation details App. D.2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rig_core.offline.actor_critic import GaussianActorCritic
from rig_core.td3 import Batch


@dataclass(frozen=True)
class AWACConfig:
    """Thesis Table 16 (RL hyper-parameters) and App. D.2 (λ = 0.3 for manipulation, 1.0 for MuJoCo)."""

    lagrange: float = 0.3  # λ: weights are exp(A / λ)
    normalize_weights: bool = True  # divide exp(A/λ) by its batch mean (a batch softmax); False: clip at max_weight
    max_weight: float = 100.0  # only when normalize_weights is False
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    policy_weight_decay: float = 1e-4
    tau: float = 5e-3  # target network τ
    gamma: float = 0.99
    batch_size: int = 1024
    reward_scale: float = 1.0
    policy_hidden_sizes: tuple[int, ...] = (256, 256, 256, 256)
    critic_hidden_sizes: tuple[int, ...] = (256, 256, 256, 256)  # Table 23 (VAL) uses (256, 256)
    offline_steps: int = 25_000  # "number of pretraining steps"


def awac_weights(advantage: torch.Tensor, lagrange: float, normalize: bool = True,
                 max_weight: float = 100.0) -> torch.Tensor:
    """exp(A(s, a) / λ) of Eq. 35 with the per-state Z(s) omitted (App. D.2, Table 15).

    `normalize`: divided by the batch mean, i.e. B · softmax_batch(A / λ). That rescales every weight in
    the batch by one constant, so the relative weighting of Eq. 35 is unchanged and exp cannot overflow.
    """
    if normalize:
        return torch.softmax(advantage / lagrange, dim=0) * advantage.shape[0]
    return torch.exp(advantage / lagrange).clamp(max=max_weight)


class AWAC(GaussianActorCritic):
    """Twin-Q policy evaluation by TD on the current policy and advantage-weighted maximum likelihood."""

    def __init__(self, obs_dim: int, action_dim: int, config: AWACConfig | None = None, seed: int = 0,
                 device: str | torch.device = "cpu") -> None:
        self.config = config = config or AWACConfig()
        super().__init__(obs_dim, action_dim, config.policy_hidden_sizes, config.critic_hidden_sizes,
                         config.actor_lr, config.critic_lr, seed, device)
        self.actor_optim.param_groups[0]["weight_decay"] = config.policy_weight_decay

    def update(self, batch: Batch) -> dict[str, float]:
        """One step of Algorithm 4, lines 6–8, then the soft target update."""
        cfg = self.config
        # Algorithm 4 line 6–7 (Eq. 25/26): y = r + γ E_{a'∼π}[Q̂(s', a')], clipped double Q
        with torch.no_grad():
            next_action = self.actor.sample(batch.next_obs)
            target_q = self.critic_target(batch.next_obs, next_action).min(0).values
            target = batch.reward + cfg.gamma * (1.0 - batch.done) * target_q
        critic_loss = (self.critic(batch.obs, batch.action) - target).pow(2).mean(1).sum()
        self.critic_optim.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optim.step()
        # thesis §6.4 Eq. 35: max E[log π(a|s) exp(A(s, a)/λ)], A = Q(s, a) − Q(s, a_π), a_π ∼ π(·|s)
        with torch.no_grad():
            q_data = self.critic(batch.obs, batch.action).min(0).values
            v_pi = self.critic(batch.obs, self.actor.sample(batch.obs)).min(0).values
            weight = awac_weights(q_data - v_pi, cfg.lagrange, cfg.normalize_weights, cfg.max_weight)
        actor_loss = self.weighted_actor_step(batch.obs, batch.action, weight, cfg.tau)
        return {"awac/critic_loss": critic_loss.detach(), "awac/actor_loss": actor_loss,
                "awac/weight_max": weight.max()}
