"""Skew-Fit (Nair thesis ch. 4; Pong, Dalal et al. 2019): goals that spread over the states the robot can reach.

RIG's VAE prior is fitted to past data, so the goals it imagines crowd around the states seen most often.
Skew-Fit re-weights the replay states by their density under the VAE raised to a negative power α, draws a
skewed data set from them by sampling-importance-resampling (SIR) and fits the VAE to that; goals for
practice and relabeling come from the same skewed distribution (or from the VAE trained on it).

One iteration (thesis Alg. 3 / Alg. 10 steps 25–31):
    1. p̂(s) for every replay state s: importance sampling with the encoder as proposal (App. C.3.1), with the
       identity-variance Gaussian likelihood of App. C.3.5 on the decoder's mean image by default.
    2. w(s) = p̂(s)^α, α < 0 (Eq. 9), normalised by Z_α = Σ w (Eq. 10): the skewed distribution p_skewed.
    3. Fit the VAE to states resampled from p_skewed (SIR, §4.3.1), at the cadence of App. C.3.5.
The thesis adds no clipping of the weights: its variance control is SIR instead of importance-weighted
losses (§4.3.1, App. C.2.2) and a decoder whose likelihood cannot collapse to zero (§4.4). The weights are
computed and normalised in log space here, so no power of a tiny density overflows; an optional clip of the
log-weights (`clip`, off by default) is this project's addition, for image densities whose spread leaves SIR
with an effective sample size near 1 (measured: benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from rig_core.ccvae import ContextConditionedVAE
from rig_core.images import to_tensor
from rig_core.vae import ConvVAE

Encoder = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # x → (μ, log σ²) of q(z | x)
LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x (B, …), z (K, B, D)) → log p(x | z) (K, B)


def _log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; μ, diag exp(logvar)), summed over the last dimension."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def log_density_is(x: torch.Tensor, encode: Encoder, log_likelihood: LogLikelihood, n_samples: int = 10,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """log q(x) by importance sampling with the encoder as proposal (thesis App. C.3.1).

    q(x) = E_{z∼q(z|x)}[p(z) p(x|z) / q(z|x)] ≈ (1/N) Σᵢ p(zᵢ) p(x|zᵢ) / q(zᵢ|x), zᵢ ∼ q(z|x), p(z) = N(0, I);
    evaluated as a log-sum-exp over the N samples. Returns one value per row of `x`.
    """
    mu, logvar = encode(x)
    eps = torch.randn((n_samples, *mu.shape), generator=generator, dtype=mu.dtype).to(mu.device)  # CPU generator
    z = mu + eps * (0.5 * logvar).exp()  # (N, B, D)
    log_prior = _log_normal(z, torch.zeros_like(mu), torch.zeros_like(logvar))
    log_proposal = _log_normal(z, mu, logvar)
    log_w = log_prior - log_proposal + log_likelihood(x, z)
    return torch.logsumexp(log_w, 0) - math.log(n_samples)


def vae_log_likelihood(vae: ConvVAE, decoder: str) -> LogLikelihood:
    """log p(x | z) of the VAE's decoder: Bernoulli (the RIG release) or identity-variance Gaussian (App. C.3.5)."""

    def log_likelihood(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        k, b = z.shape[:2]
        return _log_likelihood_of_logits(vae.decode_logits(z.reshape(k * b, -1)).view(k, b, *x.shape[1:]), x, decoder)

    return log_likelihood


def _log_likelihood_of_logits(logits: torch.Tensor, x: torch.Tensor, decoder: str) -> torch.Tensor:
    """log p(x | z) (K, B) from the decoder's logits (K, B, …) of images x (B, …): Bernoulli or unit Gaussian."""
    target = x.expand(logits.shape[0], *x.shape)
    if decoder == "bernoulli":
        return -F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(2).sum(-1)
    if decoder == "gaussian":
        d = x[0].numel()
        return -0.5 * (torch.sigmoid(logits) - target).pow(2).flatten(2).sum(-1) - 0.5 * d * math.log(2 * math.pi)
    raise ValueError(f"unknown VAE decoder {decoder!r}")


@torch.no_grad()
def vae_log_density(vae: ConvVAE, frames: np.ndarray, decoder: str = "bernoulli", n_samples: int = 10,
                    batch_size: int = 128, generator: torch.Generator | None = None) -> np.ndarray:
    """log p̂(x) of uint8 frames (N, S, S, 3) under the VAE, N = 10 latents each by default (App. C.3.1, Table 12)."""
    was_training = vae.training
    vae.eval()
    device = next(vae.parameters()).device  # frames stay uint8 on the CPU; each batch goes to the VAE's device
    log_likelihood = vae_log_likelihood(vae, decoder)
    out = np.empty(len(frames), np.float64)
    for start in range(0, len(frames), batch_size):
        x = to_tensor(frames[start:start + batch_size]).to(device)
        log_p = log_density_is(x, vae.encode_tensor, log_likelihood, n_samples, generator)
        out[start:start + len(x)] = log_p.double().cpu().numpy()
    vae.train(was_training)
    return out


@torch.no_grad()
def ccvae_log_density(vae: ContextConditionedVAE, frames: np.ndarray, contexts: np.ndarray, decoder: str = "gaussian",
                      n_samples: int = 10, batch_size: int = 128, generator: torch.Generator | None = None) -> np.ndarray:
    """log p̂(x | s0) of uint8 frames under the CC-VAE, each with its episode's first frame (one row per frame).

    The estimate of App. C.3.1 inside the scene: proposal q(z_t | x, zc), prior p(z_t) = N(0, I) (§3.4.2) and
    likelihood p(x | z_t, zc) with zc = e0(s0), so a frame is rare for what changed in its scene (a moved puck),
    not for the scene's looks (the puck's colour). Our extension of Skew-Fit to CC-RIG; the thesis pairs them nowhere.
    """
    if len(contexts) != len(frames):
        raise ValueError(f"need one context per frame, got {len(contexts)} for {len(frames)} frames")
    was_training = vae.training
    vae.eval()
    device = vae.device
    out = np.empty(len(frames), np.float64)
    for start in range(0, len(frames), batch_size):
        x = to_tensor(frames[start:start + batch_size]).to(device)
        zc = vae.encode_context_tensor(to_tensor(contexts[start:start + batch_size]).to(device))
        zc_bar = vae.standardise_context(zc)  # decode_logits takes z̄ = (z_t, zc) as `encode` hands it out

        def log_likelihood(images: torch.Tensor, z: torch.Tensor, zc_bar: torch.Tensor = zc_bar) -> torch.Tensor:
            k, b = z.shape[:2]
            z_bar = torch.cat([z.reshape(k * b, -1), zc_bar.repeat(k, 1)], 1)  # row i·b + j pairs sample i with frame j
            return _log_likelihood_of_logits(vae.decode_logits(z_bar).view(k, b, *images.shape[1:]), images, decoder)

        log_p = log_density_is(x, lambda images, zc=zc: vae.encode_tensor(images, zc), log_likelihood, n_samples,
                               generator)
        out[start:start + len(x)] = log_p.double().cpu().numpy()
    vae.train(was_training)
    return out


@torch.no_grad()
def latent_posteriors(vae: ConvVAE | ContextConditionedVAE, frames: np.ndarray, contexts: np.ndarray | None = None,
                      batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(μ, log σ²) of q(z | x) for uint8 frames; for the CC-VAE q(z_t | x, zc) with zc = e0 of each frame's context."""
    was_training = vae.training
    vae.eval()
    device = next(vae.parameters()).device
    mus, logvars = [], []
    for start in range(0, len(frames), batch_size):
        x = to_tensor(frames[start:start + batch_size]).to(device)
        if isinstance(vae, ContextConditionedVAE):
            if contexts is None:
                raise ValueError("the CC-VAE encodes each frame with its episode's first frame: pass contexts")
            mu, logvar = vae.encode_tensor(x, vae.encode_context_tensor(to_tensor(contexts[start:start + batch_size])
                                                                        .to(device)))
        else:
            mu, logvar = vae.encode_tensor(x)
        mus.append(mu.double().cpu().numpy())
        logvars.append(logvar.double().cpu().numpy())
    vae.train(was_training)
    return np.concatenate(mus), np.concatenate(logvars)


def aggregate_log_density(mu: np.ndarray, logvar: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Leave-one-out log q(μᵢ) of the aggregate posterior q(z) = 1/(N−1) Σ_{j≠i} q(z | xⱼ) over N encoded states.

    The density of a state's latent among the other visited states' posteriors: rare where few states encode
    nearby. With the CC-VAE's z_t it scores only what changed in the scene, not the scene's looks, which zc carries
    and the decoder's likelihood still reads as rarity (benchmarks/RESULTS.md, CC-RIG + Skew-Fit). Not in the
    thesis: our alternative to App. C.3.1's estimate, which it replaces only when `density_estimate` asks for it.
    """
    n = len(mu)
    if n < 2:
        raise ValueError("the leave-one-out aggregate density needs at least 2 states")
    m, lv = torch.as_tensor(mu, dtype=torch.float64), torch.as_tensor(logvar, dtype=torch.float64)
    out = np.empty(n, np.float64)
    for start in range(0, n, chunk):
        rows = torch.arange(start, min(start + chunk, n))
        log_q = _log_normal(m[rows, None, :], m[None], lv[None])  # (rows, N): log q(μᵢ | xⱼ)
        log_q[torch.arange(len(rows)), rows] = -math.inf  # leave state i out of its own density
        out[start:start + len(rows)] = (torch.logsumexp(log_q, 1) - math.log(n - 1)).numpy()
    return out


def skew_log_weights(log_density: np.ndarray, alpha: float, clip: float = 0.0) -> np.ndarray:
    """log of w(s) / Z_α with w(s) = p̂(s)^α (Eq. 9) and Z_α = Σₙ w(sₙ) (Eq. 10); α = 0 gives uniform weights.

    `clip` > 0 (not in the thesis; off by default): log w is clipped to its mean ± `clip` nats before normalising,
    which bounds the ratio of any two weights by e^(2·clip) (see benchmarks/RESULTS.md, "Skew-Fit weights").
    """
    log_w = alpha * np.asarray(log_density, np.float64)
    if not np.all(np.isfinite(log_w)):
        raise ValueError("density estimates must be finite to skew them")
    if clip > 0:
        log_w = np.clip(log_w, log_w.mean() - clip, log_w.mean() + clip)
    return log_w - np.logaddexp.reduce(log_w)


def entropy(probs: np.ndarray) -> float:
    """Shannon entropy (nats) of a discrete distribution."""
    p = np.asarray(probs, np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


@dataclass
class SkewedDistribution:
    """p_skewed (Eq. 10): replay slots {sₙ} and their normalised weights; `sample` is SIR's resampling step."""

    slots: np.ndarray
    probs: np.ndarray
    log_density: np.ndarray
    alpha: float

    @classmethod
    def from_log_density(cls, slots: np.ndarray, log_density: np.ndarray, alpha: float,
                         clip: float = 0.0) -> SkewedDistribution:
        probs = np.exp(skew_log_weights(log_density, alpha, clip))
        return cls(np.asarray(slots, np.int64), probs / probs.sum(), np.asarray(log_density, np.float64), alpha)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n replay slots drawn with replacement in proportion to the skew weights (SIR, §4.3.1)."""
        return self.slots[rng.choice(len(self.slots), size=n, p=self.probs)]

    def effective_sample_size(self) -> float:
        """(Σw)² / Σw² of the weights: how many distinct states the skewed set is worth."""
        return float(1.0 / np.square(self.probs).sum())


def estimate_log_density(vae: ConvVAE | ContextConditionedVAE, frames: np.ndarray, contexts: np.ndarray | None,
                         estimate: str, decoder: str, n_samples: int,
                         generator: torch.Generator | None = None) -> np.ndarray:
    """log p̂ of frames by `estimate`: "importance" (App. C.3.1; p̂(x | s0) for the CC-VAE, given `contexts`) or
    "aggregate" (`aggregate_log_density` of their latents)."""
    if estimate == "aggregate":
        return aggregate_log_density(*latent_posteriors(vae, frames, contexts))
    if estimate != "importance":
        raise ValueError(f"unknown density estimate {estimate!r}")
    if isinstance(vae, ContextConditionedVAE):
        if contexts is None:
            raise ValueError("the CC-VAE scores each frame with its episode's first frame: pass contexts")
        return ccvae_log_density(vae, frames, contexts, decoder, n_samples, generator=generator)
    return vae_log_density(vae, frames, decoder, n_samples, generator=generator)


def skew_replay(vae: ConvVAE | ContextConditionedVAE, frames: np.ndarray, n_stored: int, alpha: float, decoder: str,
                n_samples: int, max_candidates: int, rng: np.random.Generator, generator: torch.Generator | None = None,
                clip: float = 0.0, context_rows: np.ndarray | None = None,
                rows: np.ndarray | None = None, estimate: str = "importance") -> SkewedDistribution:
    """Build p_skewed over the first `n_stored` replay slots (Alg. 10 step 25).

    The states {sₙ} of Eq. 10 are the whole replay, or a uniform subsample of `max_candidates` of it (still iid
    samples of the visited-state distribution, so Eq. 10 holds with a smaller N). A CC-VAE needs `context_rows`
    (each stored row's context row) and scores p̂(x | s0); `rows` limits the candidates (rows whose s0 is stored).
    `estimate`: "importance" (App. C.3.1) or "aggregate" (`aggregate_log_density` of the candidates' latents).
    """
    pool = np.arange(n_stored) if rows is None else np.asarray(rows, np.int64)
    if len(pool) == 0:
        raise ValueError("cannot skew an empty replay buffer")
    # choice over the array draws what choice over its length does: the same slots as a plain range
    slots = np.sort(rng.choice(pool, size=max_candidates, replace=False)) if 0 < max_candidates < len(pool) else pool
    if isinstance(vae, ContextConditionedVAE) and context_rows is None:
        raise ValueError("the CC-VAE scores each frame with its episode's first frame: pass context_rows")
    contexts = None if context_rows is None else frames[context_rows[slots]]
    log_density = estimate_log_density(vae, frames[slots], contexts, estimate, decoder, n_samples, generator)
    return SkewedDistribution.from_log_density(slots, log_density, alpha, clip)


# VAE training schedules of App. C.3.5, by number: list of (until env step, every n steps, batches, skewed).
SCHEDULES: dict[int, tuple[tuple[float, int, int, bool], ...]] = {
    1: ((5_000, 500, 1000, False), (math.inf, 500, 200, True)),
    2: ((5_000, 500, 1000, False), (50_000, 500, 200, True), (math.inf, 1000, 200, True)),
    3: ((40_000, 4000, 1000, False), (math.inf, 4000, 200, True)),
}


def vae_training_due(schedule: int, step: int) -> tuple[int, bool] | None:
    """(batches, skewed) when schedule `schedule` (App. C.3.5) trains the VAE after env step `step`, else None.

    Training before the first phase ends is plain MLE on uniformly sampled replay; afterwards on p_skewed.
    """
    if step <= 0:
        return None
    for until, every, batches, skewed in SCHEDULES[schedule]:
        if step <= until:
            return (batches, skewed) if step % every == 0 else None
    return None


def skew_active(schedule: int, step: int) -> bool:
    """Whether the schedule has passed its plain-MLE phase at `step` (p_skewed exists from then on)."""
    return step > SCHEDULES[schedule][0][0]
