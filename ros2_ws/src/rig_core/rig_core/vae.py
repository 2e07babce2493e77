"""Convolutional β-VAE for 48×48 (or larger) RGB images (RIG §4.1; architecture: thesis App. C.3.5).

Encoder: conv 5×5/16/stride 3 → 3×3/32/2 → 3×3/64/2 → linear to (μ, log σ²). Decoder mirrors it.
Gaussian decoder with identity variance (a sum-of-squares reconstruction loss), KL weighted by β.
The encoder mean is the latent state; a diagonal Gaussian fitted to the latents of the data is the
prior goals are sampled from (RIG §4.1, thesis Alg. 10 step 3).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rig_core.device import module_device
from rig_core.images import to_tensor


def _conv_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


class ConvVAE(nn.Module):
    """β-VAE over uint8 RGB frames; `encode` takes (N, S, S, 3) uint8 arrays or tensors (on the CPU: each
    batch of frames goes to the VAE's device as uint8) and returns CPU arrays."""

    kernels = (5, 3, 3)
    channels = (16, 32, 64)
    strides = (3, 2, 2)

    def __init__(self, image_size: int = 48, latent_dim: int = 16) -> None:
        super().__init__()
        self.image_size = image_size
        self.latent_dim = latent_dim
        layers: list[nn.Module] = []
        in_ch, size, sizes = 3, image_size, [image_size]
        for k, c, s in zip(self.kernels, self.channels, self.strides, strict=True):
            layers += [nn.Conv2d(in_ch, c, k, s), nn.ReLU()]
            in_ch, size = c, _conv_out(size, k, s)
            sizes.append(size)
        self.encoder = nn.Sequential(*layers, nn.Flatten())
        self.feature_shape = (in_ch, size, size)
        flat = in_ch * size * size
        self.to_mu = nn.Linear(flat, latent_dim)
        self.to_logvar = nn.Linear(flat, latent_dim)
        self.from_latent = nn.Linear(latent_dim, flat)
        deconv: list[nn.Module] = []
        rev = list(zip(self.kernels, self.channels, self.strides, strict=True))[::-1]
        for i, (k, c, s) in enumerate(rev):
            out_ch = rev[i + 1][1] if i + 1 < len(rev) else 3
            target = sizes[len(rev) - 1 - i]
            padding = target - ((sizes[len(rev) - i] - 1) * s + k)  # output_padding to hit the exact size
            deconv.append(nn.ConvTranspose2d(c, out_ch, k, s, output_padding=padding))
            if out_ch != 3:
                deconv.append(nn.ReLU())
        self.decoder = nn.Sequential(*deconv)
        self.register_buffer("prior_mu", torch.zeros(latent_dim))
        self.register_buffer("prior_std", torch.ones(latent_dim))

    @property
    def device(self) -> torch.device:
        return module_device(self)

    def encode_tensor(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """float (N, 3, S, S) in [0, 1] → (μ, log σ²)."""
        h = self.encoder(images)
        return self.to_mu(h), self.to_logvar(h).clamp(-10.0, 10.0)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.from_latent(z)).view(-1, *self.feature_shape)
        return self.decoder(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents (N, D) → images (N, 3, S, S) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    @torch.no_grad()
    def encode(self, frames: np.ndarray | torch.Tensor, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """uint8 frames (N, S, S, 3) → (μ, log σ²) as float32 arrays, in batches, in eval mode."""
        mus, logvars = [], []
        device = self.device
        for start in range(0, len(frames), batch_size):
            mu, logvar = self.encode_tensor(to_tensor(frames[start:start + batch_size], device))
            mus.append(mu)
            logvars.append(logvar)
        if not mus:
            empty = np.zeros((0, self.latent_dim), np.float32)
            return empty, empty.copy()
        return torch.cat(mus).cpu().numpy(), torch.cat(logvars).cpu().numpy()

    def loss(self, images: torch.Tensor, beta: float, decoder: str = "bernoulli") -> tuple[torch.Tensor, dict[str, float]]:
        """Negative ELBO with β-weighted KL, averaged over the batch.

        decoder "bernoulli": −log p(x|z) = Σ BCE(x̂, x) over pixels (the RIG release's decoder);
        "gaussian": identity-variance Gaussian, ½‖x − x̂‖² (thesis App. C.3.5).
        """
        mu, logvar = self.encode_tensor(images)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        logits = self.decode_logits(z)
        if decoder == "bernoulli":
            recon_loss = F.binary_cross_entropy_with_logits(logits, images, reduction="none").flatten(1).sum(1).mean()
        elif decoder == "gaussian":
            recon_loss = 0.5 * (torch.sigmoid(logits) - images).pow(2).flatten(1).sum(1).mean()
        else:
            raise ValueError(f"unknown VAE decoder {decoder!r}")
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
        total = recon_loss + beta * kl
        return total, {"vae/loss": total.item(), "vae/recon": recon_loss.item(), "vae/kl": kl.item()}

    @torch.no_grad()
    def init_output_bias(self, frames: np.ndarray) -> None:
        """Start the decoder at the data's mean colour, so training goes straight to what varies.

        Measured on our images: from the default init the posterior collapses (KL ≈ 0) for the first
        ~1000 batches; from this init the latents carry information within ~200 batches.
        """
        mean = to_tensor(frames[: min(len(frames), 4096)], self.device).mean((0, 2, 3)).clamp(1e-3, 1 - 1e-3)
        self.decoder[-1].bias.copy_(torch.log(mean / (1 - mean)))

    def fit_prior(self, latents: np.ndarray) -> None:
        """Fit the diagonal Gaussian goal prior to encoder means of the data (RIG §4.1)."""
        self.prior_mu.copy_(torch.as_tensor(latents.mean(0)))
        self.prior_std.copy_(torch.as_tensor(latents.std(0) + 1e-6))

    def reset_prior(self) -> None:
        """The VAE's own prior N(0, I) as goal prior (Skew-Fit's q_φ, thesis App. C.3.1)."""
        self.prior_mu.zero_()
        self.prior_std.fill_(1.0)

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> np.ndarray:
        """Imagined goals: n latents from the fitted prior, drawn on the CPU (`generator` is a CPU generator,
        so a seed gives the same goals on every device)."""
        eps = torch.randn(n, self.latent_dim, generator=generator)
        mu, std = self.prior_mu.detach().cpu(), self.prior_std.detach().cpu()
        return (mu + eps * std).numpy().astype(np.float32)


def train_vae(
    vae: ConvVAE,
    frames: np.ndarray,
    n_batches: int,
    batch_size: int,
    beta: float,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
    decoder: str = "bernoulli",
    on_batch: Callable[[int, dict[str, float]], None] | None = None,
    beta_warmup: int = 0,
    index_sampler: Callable[[int], np.ndarray] | None = None,
) -> dict[str, float]:
    """Train on minibatches of uint8 frames, sampled uniformly or by `index_sampler(n)` → n row indices of
    `frames` (Skew-Fit's SIR); return the last batch's losses.

    With `beta_warmup` > 0, β rises linearly from 0 over that many batches (KL annealing), which
    keeps the posterior from collapsing onto the prior before the decoder uses the latent.
    """
    if len(frames) == 0:
        raise ValueError("cannot train the VAE on zero images")
    device = vae.device  # frames stay uint8 on the CPU; each minibatch goes to the device
    size = min(batch_size, len(frames))

    def sample() -> np.ndarray:
        return index_sampler(size) if index_sampler is not None else rng.integers(0, len(frames), size=size)

    return optimise_batches(vae, n_batches, sample, lambda idx, b: vae.loss(to_tensor(frames[idx], device), b, decoder),
                            beta, optimizer, on_batch, beta_warmup)


def optimise_batches(model: nn.Module, n_batches: int, sample: Callable[[], np.ndarray],
                     batch_loss: Callable[[np.ndarray, float], tuple[torch.Tensor, dict[str, float]]], beta: float,
                     optimizer: torch.optim.Optimizer, on_batch: Callable[[int, dict[str, float]], None] | None = None,
                     beta_warmup: int = 0) -> dict[str, float]:
    """The VAEs' training loop: per batch, `sample()` row indices and step on `batch_loss(rows, β)`, β rising
    linearly from 0 over `beta_warmup` batches; the model in train mode meanwhile; the last batch's stats."""
    model.train()
    stats: dict[str, float] = {}
    for i in range(n_batches):
        idx = sample()
        loss, stats = batch_loss(idx, beta * min(1.0, i / beta_warmup) if beta_warmup > 0 else beta)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_batch is not None:
            on_batch(i, stats)
    model.eval()
    return stats


def vae_loss_on(vae: ConvVAE, frames: np.ndarray, beta: float, decoder: str = "bernoulli", seed: int = 0) -> float:
    """Mean negative ELBO on `frames` (fixed sampling noise), for held-out checks."""
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        total, count = 0.0, 0
        for start in range(0, len(frames), 512):
            chunk = frames[start:start + 512]
            loss, _ = vae.loss(to_tensor(chunk, vae.device), beta, decoder)
            total += loss.item() * len(chunk)
            count += len(chunk)
    return total / max(count, 1) if math.isfinite(total) else float("inf")
