"""A scripted demonstrator that knows the true scene state (sim only): it drives the hand to the goal and,
for pushers, first pushes each puck to its goal from behind. Actions are in [-1, 1] (1 = full speed),
the convention of the sim and of `policy_node`; the caller adds noise if it wants varied demos."""

from __future__ import annotations

import numpy as np

PUSH_OFFSET = 0.06  # m: hand centre behind the puck centre while pushing (puck radius 3.5 cm + fingers)
PUCK_TOLERANCE = 0.02  # m: a puck this close to its goal is done
LINE_TOLERANCE = 0.02  # m: hand this close to the pushing position pushes, else it goes there first


def scripted_action(state: np.ndarray, goal: np.ndarray, gain: float = 8.0, max_step: float = 0.025) -> np.ndarray:
    """Action toward `goal` from `state` (both [hand x, y, puck1 x, y, ...]); `gain` is (1/m) of the
    P-controller, so the hand slows over its last 1/gain metres; `max_step` (m per unit action) only
    scales the approach detour."""
    state, goal = np.asarray(state, np.float64), np.asarray(goal, np.float64)
    hand = state[:2]
    for i in range((len(state) - 2) // 2):
        puck, puck_goal = state[2 + 2 * i:4 + 2 * i], goal[2 + 2 * i:4 + 2 * i]
        to_goal = puck_goal - puck
        dist = float(np.linalg.norm(to_goal))
        if dist < PUCK_TOLERANCE:
            continue
        direction = to_goal / dist
        behind = puck - PUSH_OFFSET * direction
        if np.linalg.norm(hand - behind) > LINE_TOLERANCE + max_step:
            # Go round the puck, not through it: aim beside it while the hand is in front of it.
            if np.dot(hand - puck, direction) > -PUSH_OFFSET / 2:
                side = np.array([-direction[1], direction[0]])
                side = side if np.dot(hand - puck, side) >= 0 else -side
                behind = puck + 1.5 * PUSH_OFFSET * side - 0.5 * PUSH_OFFSET * direction
            return _toward(hand, behind, gain)
        return _toward(hand, puck_goal - (PUSH_OFFSET - 0.01) * direction, gain)
    return _toward(hand, goal[:2], gain)


def _toward(position: np.ndarray, target: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(gain * (target - position), -1.0, 1.0).astype(np.float32)
