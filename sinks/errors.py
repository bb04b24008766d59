"""Sink errors: transient ones are retried forever (nothing is acked meanwhile); data errors are
isolated to the offending rows, which go to the dead-letter topic."""

from processors.errors import PipelineError


class SinkError(PipelineError):
    """A write failed."""


class TransientSinkError(SinkError):
    """The destination is unavailable or overloaded; retry the same batch later."""


class RejectedRowsError(SinkError):
    """The destination refused the data itself (bad value, wrong type); retrying will not help."""


class MigrationError(SinkError):
    """A migration could not be applied, or an applied migration file was changed afterwards."""
