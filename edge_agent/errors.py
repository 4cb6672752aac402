"""The agent's own error hierarchy: adapters turn library failures into these."""


class EdgeAgentError(Exception):
    """Base of every error the agent raises on purpose."""


class ConfigError(EdgeAgentError):
    """A site config that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StoreError(EdgeAgentError):
    """The local store cannot do what was asked (disk full, corrupt file...)."""


class StoreFullError(StoreError):
    """The store is at its size bound and nothing more can be dropped to make room."""


class DecodeError(EdgeAgentError):
    """A payload that a codec cannot decode: wrong length, unknown fPort, bad value."""


class DeviceError(EdgeAgentError):
    """A device did not answer, or answered with an error."""


class WriteRejected(EdgeAgentError):
    """A write that the device profile forbids (not writable, out of range)."""


class LinkDown(EdgeAgentError):
    """An MQTT broker is not connected: nothing can be published to it now."""
