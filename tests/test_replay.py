import numpy as np
import pytest

from rig_core.errors import DataError
from rig_core.replay import ImageReplayBuffer


def _frame(value: int, size: int = 8) -> np.ndarray:
    return np.full((size, size, 3), value % 256, np.uint8)


def _fill(buf: ImageReplayBuffer, episodes: list[int], start: int = 0) -> int:
    """Episodes of the given lengths; frame k holds value k and latent [k, -k]."""
    k = start
    for length in episodes:
        buf.start_episode(_frame(k), np.array([k, -k], np.float32), np.zeros(2, np.float32))
        k += 1
        for _ in range(length):
            buf.add_step(np.array([0.1, -0.1], np.float32), np.zeros(2, np.float32), _frame(k),
                         np.array([k, -k], np.float32), np.zeros(2, np.float32))
            k += 1
    return k


def test_each_frame_stored_once_and_next_frame_follows():
    buf = ImageReplayBuffer(100, 8, 2, 2)
    _fill(buf, [5, 3])
    assert buf.total_frames == 5 + 1 + 3 + 1  # T + 1 frames per episode, nothing duplicated
    assert len(buf) == 8 and buf.env_steps == 8
    idx = buf.sample_indices(500, np.random.default_rng(0))
    assert set(idx) == {0, 1, 2, 3, 4, 6, 7, 8}  # final frames (5, 9) start no transition
    np.testing.assert_array_equal(buf.frames[buf.slot(idx + 1)][:, 0, 0, 0], (idx + 1) % 256)
    np.testing.assert_array_equal(buf.episode_end[buf.slot(idx)], np.where(idx < 5, 5, 9))


def test_ring_overwrites_oldest_without_breaking_transitions():
    buf = ImageReplayBuffer(10, 8, 2, 2)
    last = _fill(buf, [4, 4, 4])  # 15 frames into 10 slots
    idx = buf.sample_indices(1000, np.random.default_rng(1))
    assert idx.min() >= last - 10
    # every sampled transition's next frame is the frame written right after it, in the same episode
    np.testing.assert_array_equal(buf.latents[buf.slot(idx + 1)][:, 0], idx + 1)
    assert np.all(buf.episode_end[buf.slot(idx)] >= idx + 1)


def test_reencode_uses_current_encoder():
    buf = ImageReplayBuffer(50, 8, 2, 2)
    _fill(buf, [6])
    buf.reencode(lambda frames: (frames[:, 0, 0, :2].astype(np.float32) * 2, np.ones((len(frames), 2), np.float32)))
    n = buf.stored_frame_count()
    np.testing.assert_array_equal(buf.latents[:n, 0], np.arange(n) * 2)
    np.testing.assert_array_equal(buf.latent_logvars[:n], 1)


def test_memory_is_one_uint8_frame_per_step():
    buf = ImageReplayBuffer(100_000, 48, 2, 16)
    assert buf.frames.dtype == np.uint8
    assert buf.nbytes() / 1e9 <= 0.75  # 100K steps at 48×48, all arrays


def test_bad_action_and_frame_rejected():
    buf = ImageReplayBuffer(20, 8, 2, 2)
    buf.start_episode(_frame(0), np.zeros(2, np.float32), np.zeros(2, np.float32))
    with pytest.raises(DataError, match="finite"):
        buf.add_step(np.array([np.nan, 0], np.float32), np.zeros(2), _frame(1), np.zeros(2), np.zeros(2))
    with pytest.raises(DataError, match="uint8"):
        buf.add_step(np.zeros(2, np.float32), np.zeros(2), np.zeros((8, 8, 3)), np.zeros(2), np.zeros(2))
    assert len(buf) == 0  # nothing half-written


def test_pinned_demos_survive_wraparound_and_checkpoint():
    buf = ImageReplayBuffer(12, 8, 2, 2)
    end = _fill(buf, [3])  # frames 0-3: a 3-step "demo" episode
    buf.is_demo[:3] = True
    assert buf.pin() == 4
    last = _fill(buf, [4, 4, 4, 4], start=end)  # 20 more frames through the 8 ring slots
    np.testing.assert_array_equal(buf.latents[:4, 0], [0, 1, 2, 3])  # never overwritten
    assert buf.is_demo[:3].all() and buf.valid[:3].all()
    idx = buf.sample_indices(2000, np.random.default_rng(2))
    demo, online = idx[idx < 4], idx[idx >= 4]
    assert set(demo) == {0, 1, 2} and online.min() >= last - 8
    np.testing.assert_array_equal(buf.latents[buf.slot(idx + 1)][:, 0], idx + 1)  # next frame follows, both kinds
    assert np.all(buf.episode_end[buf.slot(demo)] == 3) and np.all(buf.episode_end[buf.slot(online)] >= online + 1)
    # N_D demo rows per batch (thesis §5.4.1), the rest uniform over everything
    idx = buf.sample_indices(64, np.random.default_rng(3), demo_count=16)
    assert np.all(idx[:16] < 3)
    restored = ImageReplayBuffer(12, 8, 2, 2)
    restored.load_state_arrays(buf.state_arrays())
    assert restored.pinned == 4
    _fill(restored, [6], start=last)
    np.testing.assert_array_equal(restored.latents[:4, 0], [0, 1, 2, 3])


def test_pin_refuses_a_full_buffer():
    buf = ImageReplayBuffer(6, 8, 2, 2)
    _fill(buf, [5])
    with pytest.raises(DataError, match="no room"):
        buf.pin()
