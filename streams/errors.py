"""Errors of the streaming layer."""

from processors.errors import PipelineError


class ConfigError(PipelineError):
    """A setting is missing or malformed; the message names the variable and what to set."""


class DecodeError(PipelineError):
    """Bytes on a topic that the Avro codec cannot decode (unknown schema, bad framing, corrupt)."""


class RegistryError(PipelineError):
    """The schema registry refused or could not be reached."""


class PublishError(PipelineError):
    """Kafka did not acknowledge a record in time (the caller must not report success)."""
