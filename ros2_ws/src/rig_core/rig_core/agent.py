"""The RIG agent: β-VAE + latent goal-conditioned TD3 + relabeling replay (RIG Alg. 1, thesis Alg. 10).

Environment-free: the in-process loop (`loop.py`) and the ROS trainer node both drive it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rig_core.ccvae import ContextConditionedVAE, train_ccvae
from rig_core.config import RIGConfig
from rig_core.context_replay import ContextReplayBuffer
from rig_core.device import parse_device
from rig_core.errors import DataError
from rig_core.images import check_frames
from rig_core.relabel import relabel_goals
from rig_core.replay import ImageReplayBuffer
from rig_core.rewards import compute_reward
from rig_core.skewfit import SkewedDistribution, skew_replay
from rig_core.td3 import TD3, Batch
from rig_core.vae import ConvVAE, train_vae

OnBatch = Callable[[int, dict[str, float]], None]
GOAL_POOL_SIZE = 256  # p_skewed goals that travel with the policy weights (rig_core.policy_weights.imagined_goal)


class RIGAgent:
    """Holds the VAE, the learner and the replay buffer; the policy input is latent state ⊕ latent goal.

    The learner is RIG's TD3 unless another one with its interface (`update(batch)`, `act(obs)`, `actor`,
    `modules()`, `optimizers()`, `updates`) is given: fine-tuning goes on with AWAC, IQL or TD3+BC.
    The VAE and the learner live on `device`; the replay buffer (frames as uint8, latents) and the goal RNG
    stay on the CPU, and each minibatch goes to the device when it is sampled.

    With `vae.model = "ccvae"` (CC-RIG, thesis §3.4.2, Alg. 2) the VAE is the context-conditioned VAE: latents are
    z̄ = (μ(s, s0), zc) with s0 the episode's first frame (`encode(frames, context)`), goals are z̄_g = (z_g, zc)
    with z_g ~ N(0, I), and prior relabeling keeps each transition's own zc; the policy sees (z̄, z̄_g).
    """

    def __init__(self, config: RIGConfig, action_dim: int = 2, learner: Any = None,
                 device: str | torch.device = "cpu") -> None:
        self.config = config.validate()
        self.action_dim = action_dim
        self.device = parse_device(device)
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.torch_rng = torch.Generator().manual_seed(config.seed)
        self.contextual = config.vae.model == "ccvae"
        if self.contextual:
            self.vae: ConvVAE | ContextConditionedVAE = ContextConditionedVAE(
                config.image_size, config.vae.latent_dim, config.vae.context_dim).to(self.device).eval()
        else:
            self.vae = ConvVAE(config.image_size, config.vae.latent_dim).to(self.device).eval()
        d = self.latent_dim = self.vae.latent_dim  # what the replay stores and the policy sees per latent
        self.vae_optim = torch.optim.Adam(self.vae.parameters(), lr=config.vae.lr)
        self.learner = learner if learner is not None else TD3(2 * d, action_dim, config.td3, seed=config.seed,
                                                               device=self.device)
        buffer_cls = ContextReplayBuffer if self.contextual else ImageReplayBuffer
        self.buffer = buffer_cls(config.replay_capacity, config.image_size, action_dim, d)
        self.vae_version = 0
        self.skew: SkewedDistribution | None = None  # Skew-Fit's p_skewed over the replay (goals=skewfit)
        self.goal_frames: np.ndarray | None = None  # goals=env: images of the env's own goal states (set_goal_frames)
        self._goal_latents: tuple[int, np.ndarray] | None = None  # (VAE version, their latents)

    # ---- perception --------------------------------------------------------------------------
    def encode(self, frames: np.ndarray, context: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encoder mean and log-variance of uint8 frames (N, S, S, 3) (or one frame). The CC-VAE needs the
        episode's first frame `context` (one, or one per frame) and returns z̄ = (μ(s, s0), zc); the VAE ignores it."""
        frames = check_frames(frames, self.config.image_size)
        if not self.contextual:
            return self.vae.encode(frames)
        if context is None:
            raise DataError("the CC-VAE encodes a frame with its episode's first frame: pass context")
        return self.vae.encode(frames, check_frames(context, self.config.image_size))

    def sample_goals(self, n: int, context_latents: np.ndarray | None = None) -> np.ndarray:
        """Imagined goals from the VAE prior (RIG §4.1); with Skew-Fit's goal source "skewed", the latents of
        replay states drawn from p_skewed (thesis Alg. 10 steps 6 and 15), the prior while there is none.
        CC-VAE: z̄_g = (z_g, zc) with zc from `context_latents` (z̄ of the episode, one row or one per goal, §3.4.2)."""
        skewed = self.config.goals == "skewfit" and self.config.skewfit.goal_source == "skewed" and self.skew is not None
        if self.contextual:
            if context_latents is None:
                raise DataError("CC-RIG goals keep the episode's context: pass context_latents")
            rows = np.broadcast_to(np.asarray(context_latents, np.float32).reshape(-1, self.latent_dim), (n, self.latent_dim))
            if skewed:
                return self._transferred_goals(rows)
            return self.vae.sample_goals(rows, self.torch_rng)
        if skewed:
            return self.buffer.latents[self.skew.sample(n, self.rng)].copy()
        if self.config.goals == "env" and self.vae_version > 0:
            return self.env_goal_latents()[self.rng.integers(0, len(self.goal_frames), n)]
        return self.vae.sample_prior(n, self.torch_rng)

    def _transferred_goals(self, context_rows: np.ndarray) -> np.ndarray:
        """CC-RIG + Skew-Fit goals: z_t of replay states drawn from p_skewed (any scene), each with the zc of its own
        row of `context_rows`. The CC-VAE keeps what moves in z_t and the scene's looks in zc (§3.4.1), so a rare
        puck position seen with a red puck becomes a goal for the blue puck on the table now. Our extension."""
        assert self.skew is not None and isinstance(self.vae, ContextConditionedVAE)
        state = self.buffer.latents[self.skew.sample(len(context_rows), self.rng), : self.vae.state_dim]
        return np.concatenate([state, context_rows[:, self.vae.state_dim:]], 1).astype(np.float32)

    def skewed_goal_pool(self, n: int = GOAL_POOL_SIZE, seed: int = 0) -> np.ndarray | None:
        """n latents of replay states drawn from p_skewed (z_t only for the CC-VAE), for the nodes that propose goals
        without the replay (the episode node); None unless goals come from p_skewed. Its own RNG: the run's
        streams stay as they are."""
        cfg = self.config
        if cfg.goals != "skewfit" or cfg.skewfit.goal_source != "skewed" or self.skew is None:
            return None
        latents = self.buffer.latents[self.skew.sample(n, np.random.default_rng(seed))]
        return latents[:, : self.vae.state_dim].copy() if self.contextual else latents.copy()

    def set_goal_frames(self, frames: np.ndarray) -> None:
        """goals=env: the images of goal states drawn from the env's own goal distribution (sim only)."""
        self.goal_frames, self._goal_latents = check_frames(frames, self.config.image_size), None

    def env_goal_latents(self) -> np.ndarray:
        """Latents of `goal_frames` under the current VAE, re-encoded after each VAE update."""
        if self.goal_frames is None:
            raise DataError("goals=env draws goals from images of the env's goal states: call set_goal_frames first "
                            "(sim only; the trainer node has no env)")
        if self._goal_latents is None or self._goal_latents[0] != self.vae_version:
            self._goal_latents = (self.vae_version, self.vae.encode(self.goal_frames)[0])  # encode batches itself
        return self._goal_latents[1]

    def pretrain_vae(self, frames: np.ndarray, n_batches: int, on_batch: OnBatch | None = None) -> dict[str, float]:
        """Train the VAE on `frames`, refit the goal prior, re-encode the replay buffer (the CC-VAE trains on the
        replay's (frame, context) pairs instead: `train_vae_on_replay`)."""
        if self.contextual:
            raise DataError("the CC-VAE trains on frames with their episode's first frame: use train_vae_on_replay")
        frames = check_frames(frames, self.config.image_size)
        if self.vae_version == 0:
            self.vae.init_output_bias(frames)
        stats = train_vae(self.vae, frames, n_batches, self.config.vae.batch_size, self.config.vae.beta,
                          self.vae_optim, self.rng, self.config.vae.decoder, on_batch,
                          beta_warmup=min(self.config.vae.beta_warmup_batches, n_batches // 2))
        if self.config.goals == "skewfit":
            self.vae.reset_prior()  # Skew-Fit's q_φ samples the VAE's own N(0, I) (thesis App. C.3.1, C.3.4)
        else:
            self.vae.fit_prior(self.vae.encode(frames)[0])
        self.buffer.reencode(self.vae.encode)
        self.vae_version += 1
        return stats

    def train_vae_on_replay(self, n_batches: int, on_batch: OnBatch | None = None, skewed: bool = False) -> dict[str, float]:
        """Online VAE training on replay frames (RIG §4.4), then refit the prior and re-encode.

        `skewed`: Skew-Fit's step (thesis Alg. 10 steps 25 and 30): build p_skewed under the current VAE and train on
        states resampled from it (SIR). With goals=skewfit the goal prior stays the VAE's own N(0, I), so prior samples
        are samples of q_φ (App. C.3.1); fitting it to the data is a RIG pre-training step (Alg. 10 step 3, C.3.4).
        """
        buf = self.buffer
        frames = buf.frames[: buf.stored_frame_count()]
        if self.contextual:
            return self._train_ccvae_on_replay(n_batches, on_batch, skewed)
        if not skewed:
            return self.pretrain_vae(frames, n_batches, on_batch)
        skew = self.refresh_skew()
        stats = train_vae(self.vae, frames, n_batches, self.config.vae.batch_size, self.config.vae.beta, self.vae_optim,
                          self.rng, self.config.vae.decoder, on_batch, index_sampler=lambda size: skew.sample(size, self.rng))
        buf.reencode(self.vae.encode)
        self.vae.reset_prior()
        self.vae_version += 1
        return {**stats, "skew/ess": skew.effective_sample_size(), "skew/candidates": float(len(skew.slots))}

    def _train_ccvae_on_replay(self, n_batches: int, on_batch: OnBatch | None, skewed: bool = False) -> dict[str, float]:
        """Minimise Eq. 7 on the replay's (s_t, s0) pairs (Alg. 2 step 1), then re-encode the replay in z̄.
        `skewed` (goals=skewfit): the pairs are resampled from p_skewed of p̂(s_t | s0) (SIR, as Alg. 10 step 30)."""
        buf, cfg = self.buffer, self.config.vae
        assert isinstance(buf, ContextReplayBuffer) and isinstance(self.vae, ContextConditionedVAE)
        frames = buf.frames[: buf.stored_frame_count()]
        if self.vae_version == 0:
            self.vae.init_output_bias(frames)
        context_rows, trainable = buf.stored_context_rows(), buf.trainable_rows()
        rows, extra = trainable, {}
        if skewed:
            skew = self.refresh_skew()
            rows = skew.sample(n_batches * cfg.batch_size, self.rng)  # drawn uniformly below: SIR from p_skewed
            extra = {"skew/ess": skew.effective_sample_size(), "skew/candidates": float(len(skew.slots))}
        stats = train_ccvae(self.vae, frames, context_rows, n_batches, cfg.batch_size, cfg.beta,
                            self.vae_optim, self.rng, cfg.decoder, on_batch,
                            beta_warmup=min(cfg.beta_warmup_batches, n_batches // 2), rows=rows)
        if cfg.standardise_context:
            self.vae.fit_context_scale(frames[np.unique(context_rows[trainable])])
        buf.reencode(self.vae.encode)
        self.vae_version += 1
        return {**stats, **extra}

    def refresh_skew(self) -> SkewedDistribution:
        """p_skewed over the replay under the current VAE (thesis Eq. 9–10, Alg. 10 step 25)."""
        cfg, buf = self.config.skewfit, self.buffer
        scene = {"context_rows": buf.stored_context_rows(), "rows": buf.trainable_rows()} \
            if isinstance(buf, ContextReplayBuffer) else {}  # CC-VAE: p̂(s | s0), rows whose s0 is stored
        self.skew = skew_replay(self.vae, buf.frames, buf.stored_frame_count(), cfg.alpha,
                                cfg.density_decoder(self.config.vae.decoder), cfg.density_samples, cfg.max_candidates,
                                self.rng, self.torch_rng, cfg.log_weight_clip, estimate=cfg.density_estimate, **scene)
        return self.skew

    # ---- control -----------------------------------------------------------------------------
    def act(self, latent: np.ndarray, goal: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """Policy action for one latent state and goal, plus optional exploration noise, in [-1, 1]."""
        obs = np.concatenate([latent, goal]).astype(np.float32)
        if not np.all(np.isfinite(obs)):
            raise DataError("latent state or goal is not finite")
        action = self.learner.act(obs)
        if noise is not None:
            action = action + noise
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    # ---- learning ----------------------------------------------------------------------------
    def sample_batch(self, batch_size: int | None = None) -> tuple[Batch, np.ndarray]:
        """A relabeled minibatch with recomputed rewards, and each goal's source code."""
        cfg = self.config
        n = batch_size or cfg.td3.batch_size
        buf = self.buffer
        demo_count = getattr(getattr(self.learner, "config", None), "demo_batch_size", 0)  # TD3+BC's N_D (§5.4.1)
        idx = buf.sample_indices(n, self.rng, demo_count)
        slots, next_slots = buf.slot(idx), buf.slot(idx + 1)
        prior = self.sample_goals(n, buf.latents[slots]) if self.contextual else self.sample_goals(n)  # own zc (§3.4.2)
        goals, source = relabel_goals(buf, idx, cfg.relabel, cfg.future_fraction, prior, self.rng)
        z, z_next = buf.latents[slots], buf.latents[next_slots]
        reward = compute_reward(cfg.reward, self.vae, z_next, buf.latent_logvars[next_slots], goals)
        batch = Batch.from_numpy(self.device, obs=np.concatenate([z, goals], 1), action=buf.actions[slots],
                                 reward=(reward * cfg.td3.reward_scale).astype(np.float32),
                                 next_obs=np.concatenate([z_next, goals], 1), is_demo=buf.is_demo[slots])
        return batch, source

    def train(self, n_updates: int) -> dict[str, float]:
        """`n_updates` learner steps on relabeled batches; returns the last step's losses."""
        stats: dict[str, torch.Tensor] = {}
        for _ in range(n_updates):
            batch, _ = self.sample_batch()
            stats.update(self.learner.update(batch))
        return {k: float(v) for k, v in stats.items()}
