"""Errors the core raises for bad input; the CLI turns them into one-line messages."""


class RigError(Exception):
    """Base class for user-facing errors (bad config, bad checkpoint, bad data)."""


class ConfigError(RigError):
    """A configuration value is out of range or inconsistent."""


class CheckpointError(RigError):
    """A checkpoint is missing, corrupt, or does not match the model it is loaded into."""


class DataError(RigError):
    """Input data (images, actions) is malformed: wrong shape, dtype, or non-finite values."""


class DeviceError(RigError):
    """A requested torch device is malformed or not present on this machine."""
