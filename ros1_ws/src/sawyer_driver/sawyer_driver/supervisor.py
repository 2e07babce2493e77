"""What the driver may send this tick, decided from the ages of its inputs and the robot's enable state.

Plain Python with explicit times (seconds, any monotonic clock), so the deadman, the enable / e-stop gate
and the lost-robot check are unit-tested without ROS. The driver logs one line and publishes the status
whenever ``Decision.status`` changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

# RobotAssemblyState constants (intera_core_msgs).
ESTOP_BUTTONS = {0: "unpressed", 1: "pressed", 2: "unknown", 3: "released (robot still stopped)"}
ESTOP_SOURCES = {0: "none", 1: "user (the red button)", 2: "unknown", 3: "motor controller fault", 4: "engine request"}


class Action(Enum):
    VELOCITY = "velocity"  # run the controller and send joint velocities
    STOP = "stop"  # send one zero-velocity command (then the robot's own command timeout holds the arm)
    NOTHING = "nothing"  # send no command


@dataclass(frozen=True)
class RobotState:
    """The fields of intera's RobotAssemblyState that gate motion."""

    enabled: bool
    stopped: bool
    error: bool = False
    estop_button: int = 0
    estop_source: int = 0

    def blocking_reason(self) -> str | None:
        """Why no command may be sent, or None when the robot can move."""
        if self.stopped:
            button = ESTOP_BUTTONS.get(self.estop_button, str(self.estop_button))
            source = ESTOP_SOURCES.get(self.estop_source, str(self.estop_source))
            return f"e-stopped: robot stopped (e-stop button {button}, source {source}); release it and re-enable"
        if self.error:
            return "error: the robot reports an error; clear it (reset) and re-enable"
        if not self.enabled:
            return "disabled: robot is not enabled; enable it (set the driver's enable parameter or enable_robot.py -e)"
        return None


@dataclass(frozen=True)
class Decision:
    action: Action
    status: str  # "<level>: <reason>", level one of ok, idle, waiting, disabled, e-stopped, error


class Supervisor:
    """Deadman, enable gate and lost-robot check (defaults: commands 0.2 s, joint states 0.2 s)."""

    def __init__(self, command_timeout: float = 0.2, state_timeout: float = 0.2, tick: float = 0.0) -> None:
        """``tick``: the control period; a command that will be older than the timeout at the next tick counts
        as expired now, so the arm is stopped within ``command_timeout`` of the last command, not a tick later."""
        if not (command_timeout > 0 and state_timeout > 0 and 0 <= tick < command_timeout):
            raise ValueError("timeouts must be positive and longer than the tick")
        self.command_timeout, self.state_timeout, self.tick = command_timeout, state_timeout, tick
        self.last_command = -math.inf
        self.last_joint_state = -math.inf
        self.robot: RobotState | None = None
        self._moving = False  # velocity commands were sent since the last stop
        self._fresh_after = -math.inf  # only commands received after this time may move the arm

    def on_command(self, now: float) -> None:
        self.last_command = now

    def on_joint_state(self, now: float) -> None:
        self.last_joint_state = now

    def on_robot_state(self, state: RobotState, now: float) -> None:
        if self.robot is not None and self.robot.blocking_reason() and not state.blocking_reason():
            self._fresh_after = now  # re-enabled: a command from before must not move the arm
        self.robot = state

    def hold(self, now: float) -> None:
        """Something else moved the arm (the reset): wait for a command newer than ``now``."""
        self._fresh_after = now
        self._moving = False

    def blocked(self, now: float) -> str | None:
        """The status that forbids any motion now (no robot state, robot lost, disabled, e-stop), else None.
        No side effects, unlike :meth:`decide`."""
        if self.robot is None:
            return "waiting: no /robot/state from the robot yet"
        if now - self.last_joint_state > self.state_timeout:
            age = now - self.last_joint_state
            why = "no /robot/joint_states yet" if math.isinf(age) else f"no /robot/joint_states for {age:.2f} s"
            return f"error: robot lost ({why}); arm stopped"
        return self.robot.blocking_reason()

    def decide(self, now: float) -> Decision:
        """What to send this tick (called once per control tick: a STOP is returned once)."""
        reason = self.blocked(now)
        if reason:
            return self._stop(reason)
        if self.last_command <= self._fresh_after:
            return self._stop("idle: waiting for /robot/ee_velocity_cmd")
        if now + self.tick - self.last_command > self.command_timeout:
            return self._stop(f"idle: no /robot/ee_velocity_cmd for {self.command_timeout:.2f} s (deadman); arm stopped")
        self._moving = True
        return Decision(Action.VELOCITY, "ok: following /robot/ee_velocity_cmd")

    def _stop(self, status: str) -> Decision:
        action = Action.STOP if self._moving else Action.NOTHING
        self._moving = False
        return Decision(action, status)
