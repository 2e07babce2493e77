import numpy as np
import pytest
import torch

from rig_core.errors import DataError
from rig_core.images import check_frames
from rig_core.vae import ConvVAE, train_vae, vae_loss_on


@pytest.mark.parametrize("size", [48, 64, 84])
def test_shapes_for_each_image_size(size):
    vae = ConvVAE(size, 8)
    frames = np.random.default_rng(0).integers(0, 255, (3, size, size, 3), dtype=np.uint8)
    mu, logvar = vae.encode(frames)
    assert mu.shape == logvar.shape == (3, 8)
    assert vae.decode(torch.as_tensor(mu)).shape == (3, 3, size, size)


def test_loss_falls_and_prior_fits(point_env_factory):
    env = point_env_factory()
    rng = np.random.default_rng(0)
    frames = np.stack([env.render_state(env.sample_goal_state(rng)) for _ in range(300)])
    train, held_out = frames[:250], frames[250:]
    torch.manual_seed(0)
    vae = ConvVAE(48, 4)
    before = vae_loss_on(vae, held_out, beta=5.0)
    optim = torch.optim.Adam(vae.parameters(), lr=1e-3)
    train_vae(vae, train, 300, 64, 5.0, optim, rng)
    after = vae_loss_on(vae, held_out, beta=5.0)
    assert after < 0.9 * before
    mu, _ = vae.encode(train)
    vae.fit_prior(mu)
    np.testing.assert_allclose(vae.prior_mu.numpy(), mu.mean(0), rtol=1e-5, atol=1e-6)
    samples = vae.sample_prior(2000, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(samples.std(0), mu.std(0), rtol=0.15)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 48, 48, 3), np.float32), "uint8"),
    (np.zeros((2, 32, 32, 3), np.uint8), "shape"),
    (np.zeros((2, 48, 48), np.uint8), "shape"),
])
def test_malformed_images_are_rejected(bad, message):
    with pytest.raises(DataError, match=message):
        check_frames(bad, 48)
