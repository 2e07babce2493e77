"""Residual RL on a hand-designed P-controller (Nair thesis Alg. 6, §8.3.1 Eq. 45, §9.4.2 Eqs. 49–50), state-based.

The executed action is u′ = clip(πH(s) + b · πθ(s), −1, 1): πH(s) = −kp ⊙ (x − x*) (Eq. 50, in action units:
metres / the env's step size) and πθ ∈ [−1, 1]ᴬ the learned residual, so the residual never moves any axis by more
than the bound b. As in Alg. 6 the replay stores the residual uθ (not u′): the controller is part of the dynamics the
critic learns. With ``zero_init`` the actor's last layer starts at zero, so before learning the behaviour is exactly
the P-controller's. kp = 0 and b = 1 is plain RL on the same observation ("RL alone", §8.5.1). TD3 (§8.3.2) or SAC
(§9.4.1, ``algo="sac"``) learns πθ; hyper-parameters are the thesis' Table 10 TD3 values except where
``ResidualRLConfig`` says otherwise (chapters 8–9 list none of their own).

Observation of πθ (the state of §9.3.2.2 plus where the socket is): peg tip relative to the socket's inserted pose,
tip relative to the controller's target x*, and the force f_z. The learner thus sees the socket (as a camera would);
the P-controller only knows x*, which is off by the env's ``target_error``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rig_core.config import TD3Config, _build
from rig_core.errors import ConfigError
from rig_core.sac import SAC
from rig_core.td3 import TD3, Batch

KP_AXES = (1.0, 1.0, 0.3)  # §9.4.2: kp = [1, 1, 0.3]
POSITION_SCALE = 0.02  # m → network input units
FORCE_SCALE = 5.0  # N → network input units
ALGOS = ("td3", "sac")  # §8.3.2 TD3; §9.4.1 also SAC
REWARDS = ("dense", "sparse", "image")  # Eq. 48, Eq. 47, the goal-image distance (§9.6.1; rig_core.residual_image_reward)
STATE_DIM = 4  # the env's state: peg tip xyz (m), f_z (N)
FEATURE_DIM = 7  # πθ's input (``features``)
ACTION_DIM = 3
MAX_STEP = 0.01  # m per env step at action 1 (sawyer_sim.insertion.MAX_STEP, which imports MuJoCo)


@dataclass(frozen=True)
class ResidualRLConfig:
    """One residual-RL run on the insertion env; ``validate()`` gives a one-line error for a bad value."""

    kp: float = 1.0  # P-gain scale: kp = kp · KP_AXES (Eq. 50); 0 turns the controller off (RL alone)
    residual_bound: float = 1.0  # b: |residual| ≤ b per axis, in action units
    zero_init: bool = True  # actor's last layer at zero: the run starts as the P-controller
    algo: str = "td3"
    target_error: float = 0.006  # m, the env's controller-target error (±, per axis; sawyer_sim.insertion.TARGET_ERROR)
    reward: str = "dense"  # the learner's reward: dense (Eq. 48) | sparse (Eq. 47) | image (latent distance to the goal image)
    total_steps: int = 6000
    learning_starts: int = 300  # env steps before the first gradient update
    critic_burn_in: int = 0  # TD3: first updates train the critic only (not in the thesis; RESULTS.md "burn-in")
    exploration_sigma: float = 0.2  # Gaussian noise on the residual (TD3's exploration; pre-bound units)
    eval_every: int = 500
    eval_episodes: int = 20
    eval_seed: int = 10_000  # evaluation episodes use seeds eval_seed + i, the same for every run
    max_episode_steps: int | None = None
    seed: int = 0
    replay_capacity: int = 100_000
    td3: TD3Config = field(default_factory=lambda: TD3Config(hidden_sizes=(256, 256), updates_per_step=1))

    def validate(self) -> ResidualRLConfig:
        checks = [
            (self.kp >= 0, f"kp must be >= 0, got {self.kp}"),
            (0 < self.residual_bound <= 2, f"residual_bound must be in (0, 2], got {self.residual_bound}"),
            (isinstance(self.zero_init, bool), f"zero_init must be true or false, got {self.zero_init!r}"),
            (self.algo in ALGOS, f"algo must be one of {ALGOS}, got {self.algo!r}"),
            (0 <= self.target_error <= 0.05, f"target_error must be in [0, 0.05] m, got {self.target_error}"),
            (self.reward in REWARDS, f"reward must be one of {REWARDS}, got {self.reward!r}"),
            (self.total_steps >= 0, f"total_steps must be >= 0, got {self.total_steps}"),
            (self.learning_starts >= 0, f"learning_starts must be >= 0, got {self.learning_starts}"),
            (self.critic_burn_in >= 0, f"critic_burn_in must be >= 0, got {self.critic_burn_in}"),
            (self.critic_burn_in == 0 or self.algo == "td3", "critic_burn_in is for algo td3"),
            (self.exploration_sigma >= 0, f"exploration_sigma must be >= 0, got {self.exploration_sigma}"),
            (self.eval_every > 0 and self.eval_episodes > 0, "eval_every and eval_episodes must be > 0"),
            (self.replay_capacity >= 1000, f"replay_capacity must be >= 1000, got {self.replay_capacity}"),
            (self.td3.batch_size > 0, f"td3.batch_size must be > 0, got {self.td3.batch_size}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResidualRLConfig:
        td3 = data.get("td3", {})
        base = cls().td3
        merged = {**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)}, **td3}
        return _build(cls, {**data, "td3": merged}, "").validate()


def p_controller(tip: np.ndarray, target: np.ndarray, kp: np.ndarray, step_size: float) -> np.ndarray:
    """πH(s) = −kp ⊙ (x − x*) (Eq. 50), in action units (metres / step_size), clipped to [−1, 1]."""
    return np.clip(-kp * (np.asarray(tip, np.float64) - target) / step_size, -1.0, 1.0)


def combine(controller: np.ndarray, residual: np.ndarray, bound: float) -> np.ndarray:
    """u′ = πH(s) + b · πθ(s) (Eq. 49) with πθ clipped to [−1, 1], then the action box [−1, 1]."""
    return np.clip(controller + bound * np.clip(residual, -1.0, 1.0), -1.0, 1.0).astype(np.float32)


def features(state: np.ndarray, goal: np.ndarray, target: np.ndarray) -> np.ndarray:
    """πθ's input: (tip − inserted pose, tip − x*) / POSITION_SCALE and f_z / FORCE_SCALE."""
    tip = np.asarray(state[:3], np.float64)
    return np.concatenate([(tip - goal[:3]) / POSITION_SCALE, (tip - target) / POSITION_SCALE,
                           [state[3] / FORCE_SCALE]]).astype(np.float32)


class ResidualPolicy:
    """The controller plus a bounded learned residual; ``residual_fn(features) → [−1, 1]ᴬ`` (None: zero)."""

    def __init__(self, kp: float, bound: float, step_size: float,
                 residual_fn: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.kp, self.bound, self.step_size, self.residual_fn = np.asarray(KP_AXES) * kp, bound, step_size, residual_fn

    def __call__(self, obs: dict, target: np.ndarray, noise: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(executed action u′, residual uθ as stored in the replay)."""
        feats = features(obs["state"], obs["goal_state"], target)
        residual = np.zeros(ACTION_DIM, np.float32) if self.residual_fn is None else self.residual_fn(feats)
        if noise is not None:
            residual = np.clip(residual + noise, -1.0, 1.0).astype(np.float32)
        return combine(p_controller(obs["state"][:3], target, self.kp, self.step_size), residual, self.bound), residual


class ResidualReplay:
    """Ring buffer of (features, residual, reward, next features), float32."""

    def __init__(self, capacity: int, obs_dim: int, action_dim: int) -> None:
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.action = np.zeros((capacity, action_dim), np.float32)
        self.reward = np.zeros(capacity, np.float32)
        self.capacity, self.size, self.head = capacity, 0, 0

    def add(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray) -> None:
        i = self.head
        self.obs[i], self.action[i], self.reward[i], self.next_obs[i] = obs, action, reward, next_obs
        self.head, self.size = (i + 1) % self.capacity, min(self.size + 1, self.capacity)

    def sample(self, rng: np.random.Generator, n: int, device: torch.device, scale: float) -> Batch:
        idx = rng.integers(0, self.size, n)
        return Batch.from_numpy(device, self.obs[idx], self.action[idx], self.reward[idx] * scale, self.next_obs[idx])


def make_learner(config: ResidualRLConfig, obs_dim: int = FEATURE_DIM, action_dim: int = ACTION_DIM) -> TD3 | SAC:
    """TD3 or SAC; with ``zero_init`` the layer that gives the (mean) action is zero, so tanh(·) = 0 on any input."""
    if config.algo == "sac":
        learner = SAC(obs_dim, action_dim, config.td3, seed=config.seed)
        last_layers = [learner.actor.mean_head]
    else:
        learner = TD3(obs_dim, action_dim, config.td3, seed=config.seed)
        last_layers = [learner.actor.net[-2], learner.actor_target.net[-2]]
    if config.zero_init:
        for layer in last_layers:
            torch.nn.init.zeros_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    return learner


def critic_only_step(learner: TD3, batch: Batch) -> None:
    """A TD3 critic update and the critic target's Polyak step, the actor (the residual) left as it is."""
    learner.critic_step(batch)
    with torch.no_grad():
        torch._foreach_lerp_(list(learner.critic_target.parameters()), list(learner.critic.parameters()), learner.config.tau)


def update(learner: TD3 | SAC, replay: ResidualReplay, rng: np.random.Generator, config: ResidualRLConfig) -> None:
    """One gradient step on a replay batch (critic only during TD3's ``critic_burn_in``)."""
    batch = replay.sample(rng, config.td3.batch_size, learner.device, config.td3.reward_scale)
    if learner.updates < config.critic_burn_in:
        critic_only_step(learner, batch)
    else:
        learner.update(batch)


def evaluate_policy(env, policy: ResidualPolicy, episodes: int, seed: int) -> dict[str, float]:
    """Deterministic episodes on seeds seed … seed + episodes − 1: success rate (inserted at the end), mean
    final tip-to-goal distance (m) and mean return."""
    success, distance, returns = [], [], []
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        done, total = False, 0.0
        while not done:
            action, _ = policy(obs, env.controller_target)
            obs, reward, terminated, truncated, info = env.step(action)
            total += reward
            done = terminated or truncated
        success.append(float(info["is_success"]))
        distance.append(info["ee_distance"])
        returns.append(total)
    return {"success_rate": float(np.mean(success)), "final_distance": float(np.mean(distance)),
            "return": float(np.mean(returns))}


def make_env(config: ResidualRLConfig, image_size: int | None = None):
    """The insertion env of ``config``; it renders its camera with ``image_size`` (rollout strips) or for the image
    reward (the env's own reward is then the dense one, unused)."""
    import sawyer_sim

    kwargs: dict[str, Any] = {"target_error": config.target_error,
                              "reward": "dense" if config.reward == "image" else config.reward,
                              "render_images": image_size is not None or config.reward == "image"}
    if image_size is not None:
        kwargs["image_size"] = image_size
    if config.max_episode_steps:
        kwargs["max_episode_steps"] = config.max_episode_steps
    return sawyer_sim.make("insertion", **kwargs)


def run_residual_rl(config: ResidualRLConfig, log: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Train for ``config.total_steps`` env steps (Alg. 6), evaluating every ``eval_every``; returns the curve."""
    return train_residual_rl(config, log)[0]


def train_residual_rl(config: ResidualRLConfig, log: Callable[[str], None] | None = print) -> tuple[dict[str, Any], TD3 | SAC]:
    """``run_residual_rl``'s curve and the trained learner."""
    from rig_core.residual_image_reward import ImageGoalReward

    config = config.validate()
    env = make_env(config)
    eval_env = make_env(dataclasses.replace(config, reward="dense") if config.reward == "image" else config)  # no camera
    image_reward = ImageGoalReward(env.image_size, config.seed) if config.reward == "image" else None
    learner = make_learner(config)
    rng = np.random.default_rng(config.seed)

    def residual_fn(feats: np.ndarray) -> np.ndarray:
        return learner.act(feats)

    policy = ResidualPolicy(config.kp, config.residual_bound, env.max_step, residual_fn)
    # Exploration: Gaussian noise on TD3's residual; SAC samples its own stochastic policy.
    explore = ResidualPolicy(config.kp, config.residual_bound, env.max_step, learner.sample) if config.algo == "sac" else None
    replay = ResidualReplay(min(config.replay_capacity, max(config.total_steps, 1000)), FEATURE_DIM, ACTION_DIM)
    curve: list[dict[str, float]] = []
    start = time.monotonic()

    def record(step: int) -> None:
        row = {"step": step, **evaluate_policy(eval_env, policy, config.eval_episodes, config.eval_seed)}
        curve.append(row)
        if log:
            log(f"step {step:6d}  success {row['success_rate']:.2f}  final distance {row['final_distance'] * 1000:.1f} mm"
                f"  ({time.monotonic() - start:.0f} s)")

    record(0)
    obs, _ = env.reset(seed=config.seed)
    if image_reward is not None:
        image_reward.observe(obs["image"], obs["goal_image"])
    for step in range(1, config.total_steps + 1):
        feats = features(obs["state"], obs["goal_state"], env.controller_target)
        if explore is not None:
            action, residual = explore(obs, env.controller_target)
        else:
            noise = rng.normal(0.0, config.exploration_sigma, ACTION_DIM).astype(np.float32)
            action, residual = policy(obs, env.controller_target, noise)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        if image_reward is not None:  # the goal image's reward; 0 until the VAE is trained, then relabelled
            image_reward.observe(next_obs["image"])
            reward = image_reward.reward(replay.head, next_obs["image"], obs["goal_image"]) or 0.0
        replay.add(feats, residual, reward, features(next_obs["state"], next_obs["goal_state"], env.controller_target))
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
            if image_reward is not None:
                image_reward.observe(obs["image"], obs["goal_image"])
        if image_reward is not None and not image_reward.trained and step >= config.learning_starts:
            t0 = time.monotonic()
            image_reward.train()
            n = image_reward.relabel(replay.reward)
            if log:
                log(f"step {step:6d}  VAE for the image-goal reward trained ({time.monotonic() - t0:.0f} s), "
                    f"{n} transitions rewarded")
        if step >= config.learning_starts:
            for _ in range(config.td3.updates_per_step):
                update(learner, replay, rng, config)
        if step % config.eval_every == 0 or step == config.total_steps:
            record(step)
    env.close()
    eval_env.close()
    return {"config": dataclasses.asdict(config), "curve": curve, "wall_s": time.monotonic() - start}, learner


def controller_only(config: ResidualRLConfig) -> dict[str, float]:
    """The P-controller alone (no residual) on the evaluation episodes."""
    env = make_env(config.validate())
    result = evaluate_policy(env, ResidualPolicy(config.kp, config.residual_bound, env.max_step), config.eval_episodes,
                             config.eval_seed)
    env.close()
    return result


def write_results(result: dict[str, Any], out: str | Path) -> Path:
    path = Path(out) / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    return path
