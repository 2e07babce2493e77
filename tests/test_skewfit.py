"""Skew-Fit (rig_core/skewfit.py): the density estimate, SIR weights and resampling, the entropy lemma, the
VAE schedule, and the agent's skewed VAE training and goals."""

import math

import numpy as np
import pytest
import torch

from rig_core.agent import RIGAgent
from rig_core.config import default_config
from rig_core.errors import ConfigError
from rig_core.skewfit import (
    SkewedDistribution,
    aggregate_log_density,
    entropy,
    log_density_is,
    skew_log_weights,
    vae_log_density,
    vae_training_due,
)
from rig_core.vae import ConvVAE


# ---- density estimate on a linear-Gaussian "VAE", whose marginal is known ---------------------------------------
class LinearGaussian:
    """z ~ N(0, I_d), x | z ~ N(W z + b, σ² I_D); W has orthogonal columns, so the exact posterior is diagonal."""

    def __init__(self, d: int = 3, big_d: int = 6, sigma: float = 0.5, seed: int = 0) -> None:
        g = np.random.default_rng(seed)
        q, _ = np.linalg.qr(g.normal(size=(big_d, d)))
        self.w = torch.tensor(q * np.array([2.0, 1.0, 0.5])[:d], dtype=torch.float64)
        self.b = torch.tensor(g.normal(size=big_d), dtype=torch.float64)
        self.sigma = sigma
        self.post_var = 1.0 / (1.0 + (self.w ** 2).sum(0) / sigma**2)  # diag of (I + WᵀW/σ²)⁻¹

    def true_log_density(self, x: torch.Tensor) -> torch.Tensor:
        cov = self.w @ self.w.T + self.sigma**2 * torch.eye(len(self.b), dtype=torch.float64)
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(x)

    def exact_encoder(self, x: torch.Tensor):
        mu = (x - self.b) @ self.w * self.post_var / self.sigma**2
        return mu, self.post_var.log().expand_as(mu)

    def rough_encoder(self, x: torch.Tensor):  # a proposal that is off: shifted mean, 3× the variance
        mu, logvar = self.exact_encoder(x)
        return mu + 0.3, logvar + math.log(3.0)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        mean = z @ self.w.T + self.b
        return torch.distributions.Normal(mean, self.sigma).log_prob(x.expand_as(mean)).sum(-1)


def test_importance_sampling_density_is_exact_with_the_true_posterior():
    model = LinearGaussian()
    xs = torch.distributions.Normal(model.b, 1.5).sample((64,)).double()
    estimate = log_density_is(xs, model.exact_encoder, model.log_likelihood, n_samples=1,
                              generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(estimate, model.true_log_density(xs), atol=1e-9, rtol=0)


def test_importance_sampling_density_converges_with_a_rough_proposal():
    model = LinearGaussian()
    xs = torch.distributions.Normal(model.b, 1.5).sample((64,)).double()
    truth = model.true_log_density(xs)
    errors = {}
    for n in (1, 10, 2000):
        est = log_density_is(xs, model.rough_encoder, model.log_likelihood, n, generator=torch.Generator().manual_seed(1))
        errors[n] = (est - truth).abs().mean().item()
    assert errors[2000] < 0.05 < errors[1]  # consistent: the error shrinks with the number of latents
    assert errors[10] < errors[1]


def test_vae_density_is_a_tighter_bound_than_the_elbo(point_env_factory):
    """With K latents the estimate is the K-sample importance-weighted bound, ≥ the ELBO (β = 1) on average."""
    torch.manual_seed(0)
    env = point_env_factory()
    rng = np.random.default_rng(0)
    frames = np.stack([env.render_state(env.sample_goal_state(rng)) for _ in range(32)])
    vae = ConvVAE(48, 4).eval()
    gen = torch.Generator().manual_seed(0)
    log_p = vae_log_density(vae, frames, "bernoulli", n_samples=10, generator=gen)
    assert log_p.shape == (32,) and np.all(np.isfinite(log_p))
    from rig_core.images import to_tensor

    with torch.no_grad():
        elbo = -np.mean([vae.loss(to_tensor(frames), 1.0, "bernoulli")[0].item() for _ in range(20)])
    assert log_p.mean() >= elbo - 1.0
    again = vae_log_density(vae, frames, "bernoulli", n_samples=10, generator=torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(log_p, again)  # the generator makes it reproducible
    gaussian = vae_log_density(vae, frames, "gaussian", n_samples=10, generator=gen)
    assert np.all(np.isfinite(gaussian))


# ---- SIR weights and resampling ---------------------------------------------------------------------------------
def test_aggregate_density_is_the_leave_one_out_mixture_of_posteriors():
    """Three encoded states, by hand: state i's density is the mean over the other two of N(μᵢ; μⱼ, σⱼ²)."""
    mu = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    logvar = np.log(np.array([[0.25, 0.25], [1.0, 0.5], [0.5, 2.0]]))

    def log_n(x, m, var):
        return float(-0.5 * (np.log(2 * np.pi * var) + (x - m) ** 2 / var).sum())

    expected = [np.log(np.mean([np.exp(log_n(mu[i], mu[j], np.exp(logvar[j]))) for j in range(3) if j != i]))
                for i in range(3)]
    np.testing.assert_allclose(aggregate_log_density(mu, logvar, chunk=2), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        aggregate_log_density(mu[:1], logvar[:1])


def test_aggregate_density_follows_a_known_density():
    """Latent means from a known 2-D mixture (90 % near the origin, 10 % in a far cluster) and equal posteriors:
    the estimate tracks the mixture's log density convolved with the posterior, and the far cluster is rarer."""
    rng = np.random.default_rng(0)
    rare = rng.random(2000) < 0.1
    mu = np.where(rare[:, None], rng.normal(3.0, 0.3, (2000, 2)), rng.normal(0.0, 0.3, (2000, 2)))
    var = 0.2**2
    estimate = aggregate_log_density(mu, np.full_like(mu, math.log(var)))
    s2 = 0.3**2 + var  # each component convolved with the kernel

    def log_mix(x):
        comp = [np.log(w) - np.log(2 * np.pi * s2) - ((x - c) ** 2).sum(1) / (2 * s2) for w, c in ((0.9, 0.0), (0.1, 3.0))]
        return np.logaddexp(*comp)

    truth = log_mix(mu)
    assert np.corrcoef(estimate, truth)[0, 1] > 0.95
    assert abs(np.mean(estimate - truth)) < 0.2
    assert estimate[rare].mean() < estimate[~rare].mean() - 1.5  # log(0.9 / 0.1) = 2.2 nats apart in truth


def test_skew_weights_follow_eq_9_and_10():
    p = np.array([0.5, 0.25, 0.125, 0.125])
    np.testing.assert_allclose(np.exp(skew_log_weights(np.log(p), 0.0)), 0.25)  # α = 0: no skew
    w = np.exp(skew_log_weights(np.log(p), -1.0))
    np.testing.assert_allclose(w, (1 / p) / (1 / p).sum())  # α = −1: w ∝ 1/p, normalised by Z_α
    half = np.exp(skew_log_weights(np.log(p), -0.5))
    np.testing.assert_allclose(half, p**-0.5 / (p**-0.5).sum())
    huge = np.exp(skew_log_weights(np.array([-20_000.0, -20_010.0]), -1.0))  # image log densities: no overflow
    np.testing.assert_allclose(huge, [1 / (1 + math.exp(10)), 1 / (1 + math.exp(-10))])
    with pytest.raises(ValueError, match="finite"):
        skew_log_weights(np.array([0.0, np.nan]), -1.0)


def test_sir_resamples_in_proportion_to_the_weights():
    rng = np.random.default_rng(0)
    log_p = np.log(np.array([0.7, 0.2, 0.08, 0.02]))
    dist = SkewedDistribution.from_log_density(np.array([10, 11, 12, 13]), log_p, -1.0)
    draws = dist.sample(200_000, rng)
    assert set(np.unique(draws)) == {10, 11, 12, 13}
    freq = np.bincount(draws - 10, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, dist.probs, atol=0.005)
    assert freq[3] > freq[0]  # the rarest state is now drawn most
    assert 1.0 < dist.effective_sample_size() < 4.0
    uniform = SkewedDistribution.from_log_density(np.arange(4), log_p, 0.0)
    assert uniform.effective_sample_size() == pytest.approx(4.0)


# ---- the entropy lemma on a toy distribution -------------------------------------------------------------------
def test_skewing_raises_entropy_and_iterating_reaches_uniform():
    """Thesis Lemma 7 (q = p): p ∝ p^(1+α) has higher entropy for α ∈ [−1, 0) and the iteration converges to uniform;
    Lemma 6 (q ≠ p, log-densities positively correlated): a small negative α still raises the entropy."""
    k = 50
    p = np.exp(-0.5 * (np.arange(k) / 6.0) ** 2)
    p /= p.sum()
    for alpha in (-0.25, -0.5, -1.0):
        skewed = p * np.exp(skew_log_weights(np.log(p), alpha))  # p_skewed ∝ p · w with w ∝ q^α, q = p
        skewed /= skewed.sum()
        assert entropy(skewed) > entropy(p)
    pt = p.copy()
    for _ in range(30):
        pt = pt**0.5 / (pt**0.5).sum()  # α = −1/2
    assert entropy(pt) == pytest.approx(math.log(k), abs=1e-6)
    noisy_q = p * np.exp(np.random.default_rng(0).normal(0, 0.5, k))  # a model that only roughly fits p
    noisy_q /= noisy_q.sum()
    skewed = p * noisy_q**-0.2 / (p * noisy_q**-0.2).sum()
    assert entropy(skewed) > entropy(p)


def test_sir_on_samples_raises_the_empirical_entropy():
    """Eq. 10 on finitely many samples: resampling visited states by their estimated density^−1 spreads them out."""
    rng = np.random.default_rng(0)
    states = np.clip(np.round(np.abs(rng.normal(0, 4, 20_000))), 0, 29).astype(int)  # crowded near state 0
    counts = np.bincount(states, minlength=30)
    model_log_p = np.log((counts + 1) / (counts + 1).sum())  # the "generative model": a smoothed histogram
    dist = SkewedDistribution.from_log_density(np.arange(len(states)), model_log_p[states], -1.0)
    resampled = states[dist.sample(20_000, rng)]
    before = entropy(counts / counts.sum())
    after = entropy(np.bincount(resampled, minlength=30) / len(resampled))
    assert after > before + 0.3


# ---- schedule and wiring ----------------------------------------------------------------------------------------
def test_vae_schedules_of_appendix_c35():
    assert vae_training_due(2, 499) is None
    assert vae_training_due(2, 500) == (1000, False)
    assert vae_training_due(2, 5000) == (1000, False)
    assert vae_training_due(2, 5500) == (200, True)
    assert vae_training_due(2, 50_000) == (200, True)
    assert vae_training_due(2, 50_500) is None and vae_training_due(2, 51_000) == (200, True)
    assert vae_training_due(1, 80_500) == (200, True)
    assert vae_training_due(3, 4000) == (1000, False) and vae_training_due(3, 44_000) == (200, True)
    assert vae_training_due(3, 42_000) is None


def test_config_defaults_and_errors():
    cfg = default_config("pusher", goals="skewfit")
    assert (cfg.skewfit.alpha, cfg.skewfit.density_samples, cfg.skewfit.schedule) == (-1.0, 10, 2)
    assert cfg.skewfit.goal_source == "vae"  # Table 13: Visual Pusher samples goals from q_φ
    with pytest.raises(ConfigError, match="goals must be one of"):
        default_config("pusher", goals="uniform")
    with pytest.raises(ConfigError, match=r"skewfit\.alpha"):
        default_config("pusher", skewfit={"alpha": 1.0})
    assert cfg.skewfit.density_estimate == "importance"  # App. C.3.1 unless asked otherwise
    with pytest.raises(ConfigError, match=r"skewfit\.density_estimate"):
        default_config("pusher", skewfit={"density_estimate": "knn"})
    with pytest.raises(ConfigError, match=r"vae\.online_every"):
        default_config("pusher", goals="skewfit", vae={"online_every": 3000})


def _unbalanced_frames(env, n_common: int, n_rare: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mostly the dot near its start, a few frames spread over the square: what early exploration looks like."""
    common = [env.render_state(rng.normal(0, 0.03, 2).astype(np.float32)) for _ in range(n_common)]
    rare = [env.render_state(rng.uniform([0.4, -0.8], [0.8, 0.8]).astype(np.float32)) for _ in range(n_rare)]
    return np.stack(common + rare), np.r_[np.zeros(n_common, bool), np.ones(n_rare, bool)]


def test_skewed_vae_training_favours_rare_states_and_goals_come_from_the_replay():
    from point_env import PointImageEnv

    env = PointImageEnv(image_size=32)
    rng = np.random.default_rng(0)
    frames, rare = _unbalanced_frames(env, 450, 50, rng)
    cfg = default_config("reacher", goals="skewfit", replay_capacity=1000, image_size=32,
                         skewfit={"goal_source": "skewed", "alpha": -1.0}, vae={"latent_dim": 4})
    agent = RIGAgent(cfg)
    z, lv = agent.encode(frames)
    buf = agent.buffer
    buf.start_episode(frames[0], z[0], lv[0])
    for i in range(1, len(frames)):
        buf.add_step(np.zeros(2, np.float32), z[0], frames[i], z[i], lv[i])
    assert agent.sample_goals(1).shape == (1, 4)  # no p_skewed yet: the prior
    agent.train_vae_on_replay(60)  # plain MLE first, as the schedule does
    stats = agent.train_vae_on_replay(5, skewed=True)
    skew = agent.skew
    assert skew is not None and len(skew.slots) == len(frames)
    assert skew.log_density[rare].mean() < skew.log_density[~rare].mean()  # rare states are less likely
    assert skew.probs[rare].sum() > 3 * rare.mean()  # and get well over their 10 % share of the skewed set
    assert 1.0 <= stats["skew/ess"] <= len(frames)
    goals = agent.sample_goals(64)
    matches = (np.abs(goals[:, None, :] - buf.latents[None, : len(frames)]).max(-1) < 1e-6).any(1)
    assert matches.all()  # every goal is the latent of a stored state


def test_optional_clip_bounds_the_weight_ratio():
    log_p = np.array([-100.0, -50.0, -20.0, -10.0])
    w = np.exp(skew_log_weights(log_p, -1.0, clip=5.0))
    assert w.max() / w.min() == pytest.approx(math.exp(10.0))
    assert np.argmax(w) == 0 and w.sum() == pytest.approx(1.0)


def test_loop_trains_the_vae_on_the_schedule_and_resumes_with_p_skewed(point_env_factory, monkeypatch, tmp_path):
    """The in-process loop with goals=skewfit (a shortened schedule): MLE during exploration, skewed training
    after it, goals from p_skewed, and a resumed run rebuilds p_skewed from its checkpoint."""
    import rig_core.skewfit as sf
    from rig_core.loop import run_rig

    monkeypatch.setitem(sf.SCHEDULES, 1, ((100, 50, 5, False), (math.inf, 50, 3, True)))
    overrides = {"goals": "skewfit", "exploration_steps": 120, "eval_every": 80, "eval_goals": 2, "replay_capacity": 1000,
                 "td3": {"hidden_sizes": (32, 32), "batch_size": 32, "updates_per_step": 1},
                 "vae": {"latent_dim": 4}, "skewfit": {"schedule": 1, "goal_source": "skewed", "density_samples": 2}}
    cfg = default_config("reacher", total_steps=200, **overrides)
    result = run_rig(cfg, point_env_factory, tmp_path, checkpoint_every=100, show_progress=False)
    assert result.agent.vae_version == 4  # steps 50 and 100 plain MLE, 150 and 200 on p_skewed; no pre-training
    assert result.agent.skew is not None and result.agent.skew.alpha == -1.0
    np.testing.assert_array_equal(result.agent.vae.prior_std.numpy(), 1.0)  # q_φ's own N(0, I)
    assert [row["step"] for row in result.curve] == [120, 160, 200]
    resumed = run_rig(default_config("reacher", total_steps=260, **overrides), point_env_factory, tmp_path,
                      resume=True, show_progress=False)
    assert resumed.agent.vae_version == 5 and resumed.agent.skew is not None
    assert [row["step"] for row in resumed.curve] == [120, 160, 200, 240, 260]
    # a run stopped during exploration (where Skew-Fit already trains its VAE) resumes from its checkpoint there
    made = []

    def stops_at_step_110():
        env = point_env_factory()
        if not made:  # the training env (the loop builds it first, then the eval env)
            step = env.step

            def counted(action):
                counted.n += 1
                if counted.n > 110:
                    raise KeyboardInterrupt
                return step(action)

            counted.n = 0
            env.step = counted
        made.append(env)
        return env

    with pytest.raises(KeyboardInterrupt):
        run_rig(cfg, stops_at_step_110, tmp_path / "cut", checkpoint_every=50, show_progress=False)
    again = run_rig(cfg, point_env_factory, tmp_path / "cut", resume=True, show_progress=False)
    assert again.agent.vae_version == 4 and [row["step"] for row in again.curve] == [120, 160, 200]


def test_env_goals_are_the_encoded_goal_frames_and_follow_the_vae():
    """goals=env (a sim-only diagnostic): after VAE training, imagined goals are latents of the given goal images
    under the current VAE, re-encoded when the VAE changes; without goal images it says what is missing."""
    from point_env import PointImageEnv
    from rig_core.errors import DataError

    env = PointImageEnv(image_size=32)
    rng = np.random.default_rng(0)
    frames, _ = _unbalanced_frames(env, 200, 20, rng)
    cfg = default_config("reacher", goals="env", replay_capacity=1000, image_size=32, vae={"latent_dim": 4})
    agent = RIGAgent(cfg)
    z, lv = agent.encode(frames)
    agent.buffer.start_episode(frames[0], z[0], lv[0])
    for i in range(1, len(frames)):
        agent.buffer.add_step(np.zeros(2, np.float32), z[0], frames[i], z[i], lv[i])
    assert agent.sample_goals(2).shape == (2, 4)  # no VAE trained yet: the prior, as RIG explores
    agent.train_vae_on_replay(20)
    with pytest.raises(DataError, match="set_goal_frames"):
        agent.sample_goals(1)
    goal_frames = frames[::11][:16]
    agent.set_goal_frames(goal_frames)
    goals = agent.sample_goals(64)
    encoded = agent.encode(goal_frames)[0]
    assert (np.abs(goals[:, None] - encoded[None]).max(-1) < 1e-5).any(1).all()
    assert len({tuple(g) for g in np.round(goals, 5)}) > 4  # drawn across the pool
    agent.train_vae_on_replay(5)
    moved = agent.sample_goals(64)
    assert (np.abs(moved[:, None] - agent.encode(goal_frames)[0][None]).max(-1) < 1e-5).any(1).all()
    assert not (np.abs(moved[:, None] - encoded[None]).max(-1) < 1e-6).any(1).all()  # re-encoded by the new VAE


def test_bernoulli_likelihood_of_continuous_pixels_has_an_entropy_floor_the_gaussian_lacks():
    """Why `skewfit.density_likelihood=gaussian` exists: a perfect reconstruction of a grey image is 'less likely'
    than one of a black image under a Bernoulli likelihood, by the pixels' entropy; not under App. C.3.5's Gaussian."""
    from rig_core.skewfit import vae_log_likelihood

    class PerfectDecoder:  # decodes z to the image whose pixels all equal sigmoid(z[0])
        def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
            return z[:, :1, None, None].expand(len(z), 3, 4, 4)

    grey, black = torch.full((1, 3, 4, 4), 0.5), torch.full((1, 3, 4, 4), 1e-4)
    z_grey, z_black = torch.zeros(1, 1, 2), torch.full((1, 1, 2), math.log(1e-4 / (1 - 1e-4)))
    bern, gauss = vae_log_likelihood(PerfectDecoder(), "bernoulli"), vae_log_likelihood(PerfectDecoder(), "gaussian")
    assert bern(grey, z_grey).item() == pytest.approx(-48 * math.log(2), rel=1e-4)  # entropy of 48 grey pixels
    assert bern(black, z_black).item() > -0.1
    assert gauss(grey, z_grey).item() == pytest.approx(gauss(black, z_black).item(), abs=1e-6)


def test_density_likelihood_option_chooses_the_density_estimate(point_env_factory):
    cfg = default_config("reacher", goals="skewfit", replay_capacity=1000,
                         skewfit={"density_likelihood": "gaussian"}, vae={"latent_dim": 4})
    assert cfg.skewfit.density_decoder(cfg.vae.decoder) == "gaussian"
    assert default_config("reacher").skewfit.density_decoder("bernoulli") == "gaussian"  # App. C.3.5, the default
    decoder_own = default_config("reacher", skewfit={"density_likelihood": "decoder"}).skewfit
    assert decoder_own.density_decoder("bernoulli") == "bernoulli"
    with pytest.raises(ConfigError, match=r"skewfit\.density_likelihood"):
        default_config("reacher", skewfit={"density_likelihood": "laplace"})
    env = point_env_factory()
    rng = np.random.default_rng(0)
    frames = np.stack([env.render_state(rng.uniform(-0.8, 0.8, 2).astype(np.float32)) for _ in range(40)])
    agent = RIGAgent(cfg)
    z, lv = agent.encode(frames)
    agent.buffer.start_episode(frames[0], z[0], lv[0])
    for i in range(1, len(frames)):
        agent.buffer.add_step(np.zeros(2, np.float32), z[0], frames[i], z[i], lv[i])
    generator = torch.Generator()
    generator.set_state(agent.torch_rng.get_state())
    skew = agent.refresh_skew()
    expected = vae_log_density(agent.vae, frames[skew.slots], "gaussian", cfg.skewfit.density_samples,
                               generator=generator)
    np.testing.assert_allclose(skew.log_density, expected, rtol=1e-9)
    bernoulli = vae_log_density(agent.vae, frames[skew.slots], "bernoulli", cfg.skewfit.density_samples)
    assert np.abs(bernoulli - expected).min() > 1.0  # a different estimate, not the VAE's own likelihood
