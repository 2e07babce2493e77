"""Task definitions: workspace rectangles, start positions and goal ranges (metres, world frame).

The RIG paper gives no ranges, so these follow multiworld's Sawyer push/reach envs in spirit. The robot
base is at the origin, the table top is the plane z = 0 and +y points away from the robot.

==============  =========================  ===========  =====================================================
env             hand rectangle (x; y)      hand start   pucks: start -> goal range (x; y)
==============  =========================  ===========  =====================================================
reacher         [-0.2, 0.2]; [0.5, 0.7]    (0, 0.6)     none (hand goal: anywhere in the rectangle)
pusher          [-0.2, 0.2]; [0.5, 0.7]    (0, 0.5)     (0, 0.6) -> [-0.15, 0.15]; [0.5, 0.7]
multi_pusher    [-0.25, 0.25]; [0.5, 0.7]  (0, 0.5)     (-0.1, 0.6) -> [-0.2, -0.05]; [0.5, 0.7]  (left half)
                                                        ( 0.1, 0.6) -> [0.05, 0.2]; [0.5, 0.7]    (right half)
==============  =========================  ===========  =====================================================

Goal states (and ``sample_state``) draw the hand uniformly from its rectangle and each puck uniformly from
its range, rejecting samples where the hand is within ``MIN_HAND_PUCK`` of a puck (so goal images never show
the gripper inside a puck). The hand moves at most ``MAX_STEP`` per env step (0.1 s), so it crosses the
0.4 m rectangle in 16 steps. The hand (mocap) height is ``HAND_Z``: the closed fingers reach 1.5 cm above
the table and the pucks (radius 3.5 cm, 3 cm tall) are pushed by them.
"""

from __future__ import annotations

from dataclasses import dataclass

HAND_Z = 0.06
MAX_STEP = 0.025  # m per env step at action magnitude 1 (0.25 m/s at the 10 Hz control rate)
MIN_HAND_PUCK = 0.08  # m, minimum hand-to-puck centre distance in sampled goal states
MOVED_DISTANCE = 0.05  # m: an object this far from its start counts as moved (goal-coverage measure)


@dataclass(frozen=True)
class TaskSpec:
    """Workspace and goal distribution of one env."""

    name: str
    hand_low: tuple[float, float]
    hand_high: tuple[float, float]
    hand_start: tuple[float, float]
    puck_starts: tuple[tuple[float, float], ...]
    puck_lows: tuple[tuple[float, float], ...]
    puck_highs: tuple[tuple[float, float], ...]
    max_episode_steps: int
    fovy: float = 32.0  # camera vertical field of view (deg): shows the hand rectangle plus the gripper

    @property
    def n_pucks(self) -> int:
        return len(self.puck_starts)


TASKS: dict[str, TaskSpec] = {
    "reacher": TaskSpec("reacher", (-0.2, 0.5), (0.2, 0.7), (0.0, 0.6), (), (), (), 50),
    "pusher": TaskSpec("pusher", (-0.2, 0.5), (0.2, 0.7), (0.0, 0.5), ((0.0, 0.6),), ((-0.15, 0.5),), ((0.15, 0.7),), 100),
    "multi_pusher": TaskSpec(
        "multi_pusher",
        (-0.25, 0.5),
        (0.25, 0.7),
        (0.0, 0.5),
        ((-0.1, 0.6), (0.1, 0.6)),
        ((-0.2, 0.5), (0.05, 0.5)),
        ((-0.05, 0.7), (0.2, 0.7)),
        100,
        37.0,
    ),
}
