"""Hyper-parameters in one place, with the RIG paper's Table 1 as defaults (Nair et al. 2018, App. Table 1)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rig_core.errors import ConfigError

RELABEL_STRATEGIES = ("none", "future", "vae", "rig")
REWARD_TYPES = ("latent_distance", "log_prob", "pixel_mse")
GOAL_SAMPLERS = ("prior", "skewfit", "env")  # RIG's VAE prior (§4.1), Skew-Fit (thesis ch. 4), or sim-only: the env's
# own goal distribution, rendered and encoded (the uniform coverage Skew-Fit aims at; a diagnostic, rig_core.agent)
ARM_CONTROLS = ("mocap", "driver")  # sim arm: mocap weld, or through the real arm driver's controller (issue 9)
VAE_MODELS = ("vae", "ccvae")  # RIG's β-VAE (§4.1) or the context-conditioned VAE of CC-RIG (thesis §3.4)
SKEW_GOAL_SOURCES = ("skewed", "vae")  # thesis Table 13 "Sample Goals From": p_skewed or q_φ (the skew-fitted VAE)


@dataclass(frozen=True)
class TD3Config:
    """TD3 (Fujimoto et al. 2018) with RIG Table 1 values."""

    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    tau: float = 1e-2  # target update rate
    policy_delay: int = 2  # target update period / delayed actor updates
    target_noise: float = 0.2
    target_noise_clip: float = 0.5
    batch_size: int = 128
    gamma: float = 0.99
    # Table 1 prints 1e-4, but the authors' release (rlkit examples/rig) trains with 1, and 1e-4 does not
    # learn here: see benchmarks/RESULTS.md ("reward scale"). `--set td3.reward_scale=1e-4` restores it.
    reward_scale: float = 1.0
    hidden_sizes: tuple[int, ...] = (400, 300)
    updates_per_step: int = 4  # "# training batches per time step"


@dataclass(frozen=True)
class ExplorationConfig:
    """Ornstein-Uhlenbeck exploration noise (Table 1: θ = 0.15, σ = 0.3)."""

    ou_theta: float = 0.15
    ou_sigma: float = 0.3


@dataclass(frozen=True)
class VAEConfig:
    """Convolutional β-VAE (RIG §4.1; architecture from thesis App. C.3.5)."""

    latent_dim: int = 16
    beta: float = 5.0
    decoder: str = "bernoulli"  # "bernoulli" (RIG release) or "gaussian" (thesis App. C.3.5)
    lr: float = 1e-3
    batch_size: int = 64
    pretrain_batches: int = 2000
    beta_warmup_batches: int = 0  # β annealed from 0 over these batches (0: off, as in the paper)
    online_every: int = 0  # env steps between online VAE updates (paper: 3000); 0 = off
    online_batches: int = 500
    model: str = "vae"  # "vae" (RIG) or "ccvae" (CC-RIG, thesis §3.4.2): latent_dim is then the size of z_t
    context_dim: int = 16  # CC-VAE: size of the context latent zc = e0(s0) (the thesis gives none; our choice)
    standardise_context: bool = True  # CC-VAE: zc of z̄ standardised over the replay's contexts (ours; ccvae.py)


@dataclass(frozen=True)
class SkewFitConfig:
    """Skew-Fit (thesis ch. 4) with App. C.3 values: Tables 12–13 and the VAE schedules of C.3.5."""

    alpha: float = -1.0  # skew power α of Eq. 9 (Table 13: −1 pusher and pickup, −1/2 door)
    density_samples: int = 10  # latents per density estimate (App. C.3.1, Table 12: N = 10)
    schedule: int = 2  # VAE training schedule 1, 2 or 3 of App. C.3.5 (Table 13: 2 pusher and pickup, 1 door)
    goal_source: str = "skewed"  # goals for exploration and relabeling (Table 13): "skewed" (p_skewed) or "vae" (q_φ)
    max_candidates: int = 0  # replay states {s_n} of Eq. 10 per refresh (0: the whole replay, as Alg. 10)
    log_weight_clip: float = 0.0  # nats around the mean log-weight (0: off, as the thesis; RESULTS.md "Skew-Fit weights")
    # likelihood p(x|z) inside the density estimate: "gaussian", the identity-variance Gaussian of App. C.3.5 on the
    # decoder's mean image, or "decoder" (the VAE's own, Bernoulli by default: it carries each image's pixel-entropy
    # floor, whose spread over a replay is as large as the estimate's; RESULTS.md "Which likelihood the density needs")
    density_likelihood: str = "gaussian"
    # "importance": App. C.3.1's p̂(x); "aggregate": leave-one-out aggregate posterior at each state's latent mean, our
    # addition that scores only what the latent carries (z_t for the CC-VAE: what moved, not the scene's looks)
    density_estimate: str = "importance"

    def density_decoder(self, vae_decoder: str) -> str:
        """The decoder likelihood the density estimate uses, given the VAE's own."""
        return vae_decoder if self.density_likelihood == "decoder" else self.density_likelihood


@dataclass(frozen=True)
class RIGConfig:
    """Everything one RIG run needs. `validate()` gives a one-line error for any bad value."""

    env: str = "reacher"
    image_size: int = 48
    seed: int = 0
    total_steps: int = 10_000  # env steps, exploration included
    exploration_steps: int = 1_000  # random-policy steps collected for VAE pre-training
    relabel: str = "rig"
    future_fraction: float = 0.5  # mixture coefficient λ (Table 1): future vs VAE-prior goals
    reward: str = "latent_distance"
    goals: str = "prior"  # goal-sampling step: "prior" (RIG), "skewfit" (thesis ch. 4) or "env" (sim-only diagnostic)
    replay_capacity: int = 100_000
    eval_every: int = 1_000
    eval_goals: int = 16
    eval_seed: int = 12345  # held-out goals are the same for every run and seed
    max_episode_steps: int | None = None  # None: the env's default horizon
    arm_control: str = "mocap"  # how the sim moves the hand: "mocap" weld, or "driver" (sawyer_sim.driver_arm)
    td3: TD3Config = field(default_factory=TD3Config)
    exploration: ExplorationConfig = field(default_factory=ExplorationConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    skewfit: SkewFitConfig = field(default_factory=SkewFitConfig)

    def validate(self) -> RIGConfig:
        """Raise ConfigError naming the first bad value; return self when all are valid."""
        checks: list[tuple[bool, str]] = [
            (self.relabel in RELABEL_STRATEGIES, f"relabel must be one of {RELABEL_STRATEGIES}, got {self.relabel!r}"),
            (self.reward in REWARD_TYPES, f"reward must be one of {REWARD_TYPES}, got {self.reward!r}"),
            (self.image_size >= 32, f"image_size must be >= 32, got {self.image_size}"),
            (self.total_steps > 0, f"total_steps must be > 0, got {self.total_steps}"),
            (0 <= self.exploration_steps < self.total_steps,
             f"exploration_steps must be in [0, total_steps), got {self.exploration_steps}"),
            (0.0 <= self.future_fraction <= 1.0, f"future_fraction must be in [0, 1], got {self.future_fraction}"),
            (self.replay_capacity >= 1000, f"replay_capacity must be >= 1000, got {self.replay_capacity}"),
            (self.eval_every > 0, f"eval_every must be > 0, got {self.eval_every}"),
            (self.eval_goals > 0, f"eval_goals must be > 0, got {self.eval_goals}"),
            (self.arm_control in ARM_CONTROLS, f"arm_control must be one of {ARM_CONTROLS}, got {self.arm_control!r}"),
            (self.max_episode_steps is None or self.max_episode_steps > 1,
             f"max_episode_steps must be > 1, got {self.max_episode_steps}"),
            (0.0 < self.td3.gamma < 1.0, f"td3.gamma must be in (0, 1), got {self.td3.gamma}"),
            (0.0 < self.td3.tau <= 1.0, f"td3.tau must be in (0, 1], got {self.td3.tau}"),
            (self.td3.batch_size > 0, f"td3.batch_size must be > 0, got {self.td3.batch_size}"),
            (self.td3.policy_delay >= 1, f"td3.policy_delay must be >= 1, got {self.td3.policy_delay}"),
            (self.td3.updates_per_step >= 0, f"td3.updates_per_step must be >= 0, got {self.td3.updates_per_step}"),
            (self.td3.actor_lr > 0 and self.td3.critic_lr > 0, "td3 learning rates must be > 0"),
            (self.td3.reward_scale > 0, f"td3.reward_scale must be > 0, got {self.td3.reward_scale}"),
            (self.vae.latent_dim > 0, f"vae.latent_dim must be > 0, got {self.vae.latent_dim}"),
            (self.vae.decoder in ("bernoulli", "gaussian"),
             f"vae.decoder must be 'bernoulli' or 'gaussian', got {self.vae.decoder!r}"),
            (self.vae.beta >= 0, f"vae.beta must be >= 0, got {self.vae.beta}"),
            (self.vae.model in VAE_MODELS, f"vae.model must be one of {VAE_MODELS}, got {self.vae.model!r}"),
            (self.vae.context_dim > 0, f"vae.context_dim must be > 0, got {self.vae.context_dim}"),
            (self.vae.model != "ccvae" or self.goals in ("prior", "skewfit"),
             "vae.model=ccvae samples goals from its prior or p_skewed: use goals=prior or goals=skewfit"),
            (self.vae.lr > 0, f"vae.lr must be > 0, got {self.vae.lr}"),
            (self.vae.online_every >= 0, f"vae.online_every must be >= 0, got {self.vae.online_every}"),
            (self.goals in GOAL_SAMPLERS, f"goals must be one of {GOAL_SAMPLERS}, got {self.goals!r}"),
            (self.goals != "skewfit" or self.vae.online_every == 0,
             "goals=skewfit trains the VAE on its own schedule (skewfit.schedule); leave vae.online_every at 0"),
            (-10.0 <= self.skewfit.alpha <= 0.0, f"skewfit.alpha must be in [-10, 0], got {self.skewfit.alpha}"),
            (self.skewfit.density_samples >= 1, f"skewfit.density_samples must be >= 1, got {self.skewfit.density_samples}"),
            (self.skewfit.schedule in (1, 2, 3), f"skewfit.schedule must be 1, 2 or 3, got {self.skewfit.schedule}"),
            (self.skewfit.goal_source in SKEW_GOAL_SOURCES,
             f"skewfit.goal_source must be one of {SKEW_GOAL_SOURCES}, got {self.skewfit.goal_source!r}"),
            (self.skewfit.log_weight_clip >= 0, f"skewfit.log_weight_clip must be >= 0, got {self.skewfit.log_weight_clip}"),
            (self.skewfit.density_likelihood in ("decoder", "gaussian"),
             f"skewfit.density_likelihood must be 'decoder' or 'gaussian', got {self.skewfit.density_likelihood!r}"),
            (self.skewfit.density_estimate in ("importance", "aggregate"),
             f"skewfit.density_estimate must be 'importance' or 'aggregate', got {self.skewfit.density_estimate!r}"),
            (self.skewfit.max_candidates >= 0, f"skewfit.max_candidates must be >= 0, got {self.skewfit.max_candidates}"),
            (self.exploration.ou_sigma >= 0, f"exploration.ou_sigma must be >= 0, got {self.exploration.ou_sigma}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RIGConfig:
        """Build from a (possibly partial) nested dict, rejecting unknown keys and wrong types."""
        return _build(cls, data, "")


def _coerce(value: Any, annotation: str, name: str) -> Any:
    """`value` as the field's declared type (ints widen to float, "1e-4" parses), else ConfigError."""
    if annotation == "int | None" and value is None:
        return None
    base = annotation.removesuffix(" | None")
    if base in ("int", "float"):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{name} must be a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        if base == "int":
            if float(value) != int(value):
                raise ConfigError(f"{name} must be an integer, got {value!r}")
            return int(value)
        return float(value)
    if base == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r}")
        return value
    if base.startswith("tuple[int"):
        if not isinstance(value, list | tuple) or not all(isinstance(v, int) and v > 0 for v in value):
            raise ConfigError(f"{name} must be a list of positive integers, got {value!r}")
        return tuple(value)
    return value


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(f"unknown config key {prefix}{key}" if prefix else f"unknown config key {key!r}")
        nested = _NESTED.get(fields[key].type)
        kwargs[key] = (_build(nested, value, f"{key}.") if nested else
                       _coerce(value, str(fields[key].type), prefix + key))
    return cls(**kwargs)


_NESTED: dict[str, type] = {"TD3Config": TD3Config, "ExplorationConfig": ExplorationConfig, "VAEConfig": VAEConfig,
                            "SkewFitConfig": SkewFitConfig}


# Per-environment defaults: RIG pre-trains the reacher VAE on few images, the pushers on many (§5);
# Skew-Fit's α, VAE schedule and goal source per env from thesis Table 13 (used only with goals=skewfit).
ENV_DEFAULTS: dict[str, dict[str, Any]] = {
    "reacher": {"exploration_steps": 500, "vae": {"latent_dim": 4, "pretrain_batches": 1000}},
    "pusher": {"exploration_steps": 10_000, "total_steps": 100_000, "eval_every": 5_000,
               "vae": {"latent_dim": 16}, "skewfit": {"alpha": -1.0, "schedule": 2, "goal_source": "vae"}},
    "multi_pusher": {"exploration_steps": 10_000, "total_steps": 100_000, "eval_every": 5_000,
                     "vae": {"latent_dim": 16}},
    "color_pusher": {"exploration_steps": 10_000, "total_steps": 100_000, "eval_every": 5_000,
                     "vae": {"latent_dim": 16}},
    "varying_pusher": {"exploration_steps": 10_000, "total_steps": 100_000, "eval_every": 5_000,
                       "vae": {"latent_dim": 16}},
    "door": {"exploration_steps": 10_000, "total_steps": 100_000, "eval_every": 5_000,
             "vae": {"latent_dim": 16}, "skewfit": {"alpha": -0.5, "schedule": 1, "goal_source": "skewed"}},
    "pickup": {"exploration_steps": 10_000, "total_steps": 100_000, "eval_every": 5_000,
               "vae": {"latent_dim": 16}, "skewfit": {"alpha": -1.0, "schedule": 2, "goal_source": "skewed"}},
}


def default_config(env: str, **overrides: Any) -> RIGConfig:
    """The paper's defaults for `env`, then `overrides` (nested dicts merge into td3/vae/exploration/skewfit)."""
    data: dict[str, Any] = {"env": env}
    for source in (ENV_DEFAULTS.get(env, {}), overrides):
        for key, value in source.items():
            if isinstance(value, dict):
                data[key] = {**data.get(key, {}), **value}
            else:
                data[key] = value
    return RIGConfig.from_dict(data).validate()
