"""Several arms' steps, interleaved as they arrive, into one replay: every transition joins two consecutive
steps of one arm's episode, carries that arm's id, and an arm that stops sending holds up no other."""

from __future__ import annotations

import numpy as np

from rig_core.experience_stream import MultiArmAssembler
from rig_core.replay import ImageReplayBuffer


def _frame(arm: int, episode: int, t: int) -> np.ndarray:
    frame = np.zeros((8, 8, 3), np.uint8)
    frame[0, 0] = (arm, episode, t)
    return frame


def _encode(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = frames[:, 0, 0, :2].astype(np.float32)
    return z, np.zeros_like(z)


def _stream(arms: int, episodes: int, horizon: int, drop: set[tuple[int, int, int]] = frozenset()) -> list[tuple]:
    """Round-robin steps (arm, episode, t, frame, action, goal, is_last), as the trainer receives them."""
    per_arm = [[(a, e, t, _frame(a, e, t), None if t == horizon else np.array([a, t], np.float32),
                 np.array([a, e], np.float32), t == horizon) for e in range(episodes) for t in range(horizon + 1)
                if (a, e, t) not in drop] for a in range(arms)]
    return [step for group in zip(*per_arm, strict=False) for step in group]


def _transitions(buf: ImageReplayBuffer) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """(arm, (arm, episode, t) of the frame, of the next frame) of every stored transition."""
    slots = np.flatnonzero(buf.valid)
    return [(int(buf.arm[s]), tuple(int(v) for v in buf.frames[s, 0, 0]), tuple(int(v) for v in buf.frames[s + 1, 0, 0]))
            for s in slots]


def test_interleaved_arms_become_whole_episodes_with_their_arm() -> None:
    buf = ImageReplayBuffer(1000, 8, 2, 2)
    arms = MultiArmAssembler(buf, _encode)
    for step in _stream(arms=3, episodes=2, horizon=6):
        arms.add(*step)
    assert buf.env_steps == len(buf) == 3 * 2 * 6 and arms.arm_steps == {0: 12, 1: 12, 2: 12}
    for arm, (a, e, t), (a2, e2, t2) in _transitions(buf):
        assert arm == a == a2 and e == e2 and t2 == t + 1  # never across arms, episodes or time
    stored = np.flatnonzero(buf.valid)
    assert np.array_equal(buf.actions[stored], np.stack([buf.frames[stored, 0, 0, 0], buf.frames[stored, 0, 0, 2]], 1))
    assert np.array_equal(buf.goals[stored], buf.frames[stored, 0, 0, :2].astype(np.float32))


def test_a_silent_arm_holds_up_no_other_and_a_gap_costs_one_transition() -> None:
    buf = ImageReplayBuffer(1000, 8, 2, 2)
    arms = MultiArmAssembler(buf, _encode)
    steps = _stream(arms=2, episodes=3, horizon=5, drop={(1, 0, 2)})
    cut = [s for s in steps if not (s[0] == 0 and s[1] > 0)]  # arm 0 dies after its first episode
    for step in cut:
        arms.add(*step)
    # arm 1: 3 episodes of 5 transitions, less the two that touched the lost step t=2 of episode 0
    assert arms.arm_steps == {0: 5, 1: 13}
    assert all(t2 == t + 1 for _, (_, _, t), (_, _, t2) in _transitions(buf))


def test_long_episodes_are_written_in_pieces_without_losing_a_transition() -> None:
    buf = ImageReplayBuffer(1000, 8, 2, 2)
    arms = MultiArmAssembler(buf, _encode, max_staged=4)
    for step in _stream(arms=2, episodes=1, horizon=10):
        arms.add(*step)
    assert arms.arm_steps == {0: 10, 1: 10} and len(buf) == 20
    assert sorted((a, t) for a, (_, _, t), _ in _transitions(buf)) == [(a, t) for a in (0, 1) for t in range(10)]


def test_arm_ids_survive_a_checkpoint() -> None:
    buf = ImageReplayBuffer(100, 8, 2, 2)
    arms = MultiArmAssembler(buf, _encode)
    for step in _stream(arms=2, episodes=1, horizon=4):
        arms.add(*step)
    restored = ImageReplayBuffer(100, 8, 2, 2)
    restored.load_state_arrays(buf.state_arrays())
    assert np.array_equal(restored.arm, buf.arm) and set(restored.arm[restored.valid]) == {0, 1}
