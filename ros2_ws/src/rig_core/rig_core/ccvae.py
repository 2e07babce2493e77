"""Context-conditioned VAE (CC-VAE, thesis §3.4.1, Fig. 9) for CC-RIG (thesis §3.4.2, Alg. 2).

The context is the episode's first image s0. A convolutional encoder e0 (no weights shared with the state encoder e)
maps it to zc = e0(s0), deterministically. The state latent z_t ~ q(z | s_t, zc) is the bottleneck; the decoder
reconstructs s_t from (z_t, zc), and a second decoder d0 reconstructs s0 from zc alone. Loss (Eq. 6–7):

    L_CC-VAE = −E_q[log p(s_t | z_t, zc)] + β KL(q(z_t | s_t, zc) ‖ N(0, I)) − log p(s0 | zc)

(the thesis writes the last term with a "+": it is the context reconstruction's negative log-likelihood in a loss).
Only z_t pays the KL, so what stays fixed in an episode (the puck's colour) goes through zc and z_t keeps what
changes (positions). RL runs in z̄ = (z_t, zc): `encode` returns z̄ and the goal prior is N(0, I) on z_t with the
episode's zc appended (§3.4.2: z̄_g = (z_g, zc)), so decoded goals keep the scene of s0.

The zc that `encode` hands out (and `decode` takes back) is standardised per dimension with the mean and spread of
the replay's contexts (`fit_context_scale`; identity until fitted). This is our addition, not the thesis': with no KL
on it, e0's output grew to a norm of ~20 against ~2.5 for z_t, and TD3 fed that collapsed to one saturated action on
2 of 3 seeds (benchmarks/RESULTS.md, "Multi-colour pusher"). The map is affine and shared by every z̄ of a scene, so
rewards −‖z̄′ − z̄_g‖ (zc cancels) and decoded images are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rig_core.device import module_device
from rig_core.images import to_tensor
from rig_core.vae import ConvVAE, optimise_batches


def _conv_stack(image_size: int) -> tuple[nn.Sequential, int]:
    """The β-VAE's encoder convolutions (thesis App. C.3.5), flattened; returns it and its output width."""
    layers: list[nn.Module] = []
    in_ch, size = 3, image_size
    for k, c, s in zip(ConvVAE.kernels, ConvVAE.channels, ConvVAE.strides, strict=True):
        layers += [nn.Conv2d(in_ch, c, k, s), nn.ReLU()]
        in_ch, size = c, (size - k) // s + 1
    return nn.Sequential(*layers, nn.Flatten()), in_ch * size * size


def _recon_nll(logits: torch.Tensor, images: torch.Tensor, decoder: str) -> torch.Tensor:
    """−log p(x | ·) per image, summed over pixels, averaged over the batch (Bernoulli or unit Gaussian)."""
    if decoder == "bernoulli":
        return F.binary_cross_entropy_with_logits(logits, images, reduction="none").flatten(1).sum(1).mean()
    if decoder == "gaussian":
        return 0.5 * (torch.sigmoid(logits) - images).pow(2).flatten(1).sum(1).mean()
    raise ValueError(f"unknown VAE decoder {decoder!r}")


class ContextConditionedVAE(nn.Module):
    """CC-VAE over uint8 RGB frames and their episode's first frame; z̄ = (z_t, zc) has `latent_dim` entries."""

    def __init__(self, image_size: int = 48, state_dim: int = 16, context_dim: int = 16) -> None:
        super().__init__()
        self.image_size, self.state_dim, self.context_dim = image_size, state_dim, context_dim
        self.latent_dim = state_dim + context_dim
        self.encoder, flat = _conv_stack(image_size)  # e: s_t → features
        self.to_mu = nn.Linear(flat + context_dim, state_dim)  # q(z_t | s_t, zc)
        self.to_logvar = nn.Linear(flat + context_dim, state_dim)
        self.context_encoder, flat0 = _conv_stack(image_size)  # e0: s0 → zc (its own weights, §3.4.1)
        self.to_context = nn.Linear(flat0, context_dim)
        shapes = ConvVAE(image_size, 1)  # borrow the β-VAE's decoder layout (sizes, output padding)
        self.feature_shape = shapes.feature_shape
        self.from_latent = nn.Linear(self.latent_dim, flat)  # p(s_t | z_t, zc)
        self.decoder = shapes.decoder
        self.from_context = nn.Linear(context_dim, flat)  # d0: p(s0 | zc)
        self.context_decoder = ConvVAE(image_size, 1).decoder
        self.register_buffer("prior_mu", torch.zeros(state_dim))  # p(z_t) = N(0, I) (§3.4.2)
        self.register_buffer("prior_std", torch.ones(state_dim))
        self.register_buffer("context_mu", torch.zeros(context_dim))  # zc standardisation (module docstring)
        self.register_buffer("context_std", torch.ones(context_dim))

    @property
    def device(self) -> torch.device:
        return module_device(self)

    # ---- the model -----------------------------------------------------------------------------
    def encode_context_tensor(self, contexts: torch.Tensor) -> torch.Tensor:
        """float (N, 3, S, S) context images → zc = e0(s0)."""
        return self.to_context(self.context_encoder(contexts))

    def encode_tensor(self, images: torch.Tensor, zc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """float (N, 3, S, S) images and their zc → (μ, log σ²) of q(z_t | s_t, zc)."""
        h = torch.cat([self.encoder(images), zc], 1)
        return self.to_mu(h), self.to_logvar(h).clamp(-10.0, 10.0)

    def _state_logits(self, z: torch.Tensor, zc: torch.Tensor) -> torch.Tensor:
        """z_t and e0's own zc → logits of p(s_t | z_t, zc)."""
        return self.decoder(F.relu(self.from_latent(torch.cat([z, zc], 1))).view(-1, *self.feature_shape))

    def standardise_context(self, zc: torch.Tensor) -> torch.Tensor:
        """e0's zc → the zc of z̄ (per-dimension standardised)."""
        return (zc - self.context_mu) / self.context_std

    def _unstandardise_context(self, zc: torch.Tensor) -> torch.Tensor:
        """The zc of z̄ → e0's own zc (inverse of `standardise_context`)."""
        return zc * self.context_std + self.context_mu

    def decode_logits(self, z_bar: torch.Tensor) -> torch.Tensor:
        """z̄ = (z_t, standardised zc), as `encode` gives it → logits of p(s_t | z_t, zc)."""
        z, zc = z_bar[:, : self.state_dim], z_bar[:, self.state_dim:]
        return self._state_logits(z, self._unstandardise_context(zc))

    def decode(self, z_bar: torch.Tensor) -> torch.Tensor:
        """z̄ = (z_t, zc) (N, latent_dim), as `encode` gives it → images (N, 3, S, S) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z_bar))

    def _context_logits(self, zc: torch.Tensor) -> torch.Tensor:
        """e0's own zc → logits of p(s0 | zc) (d0)."""
        return self.context_decoder(F.relu(self.from_context(zc)).view(-1, *self.feature_shape))

    def decode_context(self, zc: torch.Tensor) -> torch.Tensor:
        """The zc of z̄, as `encode` gives it → ŝ0 = d0(zc) in [0, 1]."""
        return torch.sigmoid(self._context_logits(self._unstandardise_context(zc)))

    def loss(self, images: torch.Tensor, contexts: torch.Tensor, beta: float,
             decoder: str = "bernoulli") -> tuple[torch.Tensor, dict[str, float]]:
        """L_CC-VAE of Eq. 7 averaged over the batch: the CVAE's negative ELBO (Eq. 6, c = s0) + −log p(s0 | zc)."""
        zc = self.encode_context_tensor(contexts)
        mu, logvar = self.encode_tensor(images, zc)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        recon = _recon_nll(self._state_logits(z, zc), images, decoder)
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
        context_recon = _recon_nll(self._context_logits(zc), contexts, decoder)
        total = recon + beta * kl + context_recon
        return total, {"vae/loss": total.item(), "vae/recon": recon.item(), "vae/kl": kl.item(),
                       "vae/context_recon": context_recon.item()}

    # ---- arrays in, arrays out (what the agent uses) --------------------------------------------
    @torch.no_grad()
    def encode(self, frames: np.ndarray | torch.Tensor, contexts: np.ndarray | torch.Tensor,
               batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """uint8 frames (N, S, S, 3) and each one's context frame (N, S, S, 3), or one context for all →
        z̄ = (μ(s, s0), zc) and its log-variance (0 for zc, which is deterministic), as float32 arrays."""
        if len(contexts) == 1:
            contexts = contexts[np.zeros(len(frames), np.int64)]
        if len(contexts) != len(frames):
            raise ValueError(f"need one context per frame or one for all, got {len(contexts)} for {len(frames)} frames")
        out_z, out_logvar = [], []
        device = self.device
        for start in range(0, len(frames), batch_size):
            zc = self.encode_context_tensor(to_tensor(contexts[start:start + batch_size], device))
            mu, logvar = self.encode_tensor(to_tensor(frames[start:start + batch_size], device), zc)
            out_z.append(torch.cat([mu, self.standardise_context(zc)], 1))
            out_logvar.append(torch.cat([logvar, torch.zeros_like(zc)], 1))
        if not out_z:
            empty = np.zeros((0, self.latent_dim), np.float32)
            return empty, empty.copy()
        return torch.cat(out_z).cpu().numpy(), torch.cat(out_logvar).cpu().numpy()

    @torch.no_grad()
    def fit_context_scale(self, contexts: np.ndarray, batch_size: int = 1024) -> None:
        """Standardise zc with the mean and standard deviation of e0 over `contexts` (uint8 first frames)."""
        if len(contexts) < 2:  # no spread to measure: the identity
            self.context_mu.zero_()
            self.context_std.fill_(1.0)
            return
        raw = torch.cat([self.encode_context_tensor(to_tensor(contexts[i:i + batch_size], self.device))
                         for i in range(0, len(contexts), batch_size)])
        self.context_mu.copy_(raw.mean(0))
        self.context_std.copy_(raw.std(0).clamp_min(1e-3))

    @torch.no_grad()
    def init_output_bias(self, frames: np.ndarray) -> None:
        """Both decoders start at the data's mean colour (as ConvVAE.init_output_bias)."""
        mean = to_tensor(frames[: min(len(frames), 4096)], self.device).mean((0, 2, 3)).clamp(1e-3, 1 - 1e-3)
        for decoder in (self.decoder, self.context_decoder):
            decoder[-1].bias.copy_(torch.log(mean / (1 - mean)))

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> np.ndarray:
        """n state latents z_g ~ N(0, I) (§3.4.2), drawn on the CPU; append an episode's zc to make z̄_g."""
        eps = torch.randn(n, self.state_dim, generator=generator)
        return (self.prior_mu.detach().cpu() + eps * self.prior_std.detach().cpu()).numpy().astype(np.float32)

    def sample_goals(self, context_latents: np.ndarray, generator: torch.Generator | None = None) -> np.ndarray:
        """One imagined goal z̄_g = (z_g, zc) per row of `context_latents` (z̄ rows or zc rows) (§3.4.2, Alg. 2 step 3)."""
        zc = np.asarray(context_latents, np.float32)[:, -self.context_dim:]
        return np.concatenate([self.sample_prior(len(zc), generator), zc], 1)


def train_ccvae(
    vae: ContextConditionedVAE,
    frames: np.ndarray,
    context_rows: np.ndarray,
    n_batches: int,
    batch_size: int,
    beta: float,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
    decoder: str = "bernoulli",
    on_batch: Callable[[int, dict[str, float]], None] | None = None,
    beta_warmup: int = 0,
    rows: np.ndarray | None = None,
) -> dict[str, float]:
    """Minimise Eq. 7 on minibatches of (s_t, s0) pairs: frame row i of `frames` with its context frame
    `frames[context_rows[i]]`, rows drawn uniformly from `rows` (default: all); return the last batch's losses."""
    rows = np.arange(len(frames)) if rows is None else np.asarray(rows)
    if len(rows) == 0:
        raise ValueError("cannot train the CC-VAE on zero images")
    device = vae.device
    size = min(batch_size, len(rows))

    def batch_loss(idx: np.ndarray, batch_beta: float) -> tuple[torch.Tensor, dict[str, float]]:
        return vae.loss(to_tensor(frames[idx], device), to_tensor(frames[context_rows[idx]], device), batch_beta, decoder)

    return optimise_batches(vae, n_batches, lambda: rows[rng.integers(0, len(rows), size=size)], batch_loss, beta,
                            optimizer, on_batch, beta_warmup)


def ccvae_loss_on(vae: ContextConditionedVAE, frames: np.ndarray, contexts: np.ndarray, beta: float,
                  decoder: str = "bernoulli", seed: int = 0) -> float:
    """Mean L_CC-VAE on (frame, context) pairs with fixed sampling noise, for held-out checks."""
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        total = 0.0
        for start in range(0, len(frames), 512):
            f, c = frames[start:start + 512], contexts[start:start + 512]
            loss, _ = vae.loss(to_tensor(f, vae.device), to_tensor(c, vae.device), beta, decoder)
            total += loss.item() * len(f)
    return total / max(len(frames), 1)
