"""The precise error codes a command response can carry."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    MALFORMED = "malformed"  # not JSON, not an object, or no usable id
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_COMMAND = "unknown_command"
    BAD_FIELD = "bad_field"  # a field missing, of the wrong type, or not expected
    OUT_OF_RANGE = "out_of_range"
    DEVICE_UNKNOWN = "device_unknown"
    GROUP_UNKNOWN = "group_unknown"
    EXPIRED = "expired"
    BUSY = "busy"  # the command queue is full
    IN_PROGRESS = "in_progress"  # a config push is already being tried
    UNSUPPORTED = "unsupported"  # this gateway cannot do it (no rules engine, device not readable)
    DEVICE_FAILED = "device_failed"
    CONFIG_INVALID = "config_invalid"
    ROLLED_BACK = "rolled_back"
    INTERNAL = "internal"


class CommandFailure(Exception):
    """A request that is answered with an error."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retryable = retryable  # nothing was changed: a repeat of the id runs it again (not remembered)

    def as_json(self) -> dict[str, str]:
        out = {"code": self.code.value, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out
