"""The one exception root of the pipeline, and the error every processor raises on broken input."""


class PipelineError(Exception):
    """Root of every error this project raises on purpose."""


class InvalidEvent(PipelineError):
    """Input that cannot become an event. The agent routes it to the dead-letter topic.

    ``reason`` is a short machine-readable slug (``bad_json``, ``not_whatsapp``, ...); the message
    is for humans and never contains message bodies or full phone numbers.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
