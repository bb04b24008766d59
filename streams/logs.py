"""Worker logs: phone numbers masked in every line, and JSON lines when SCRM_LOG_FORMAT=json.

Message bodies are never logged by the pipeline's own code; phone numbers can still reach a log
line inside an id (a contact key is ``phone_number_id:wa_id``) or a library's message, so every
run of 8 to 15 digits is masked to its last two (``…67``) before a line is written."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mode.utils.logging import DEFAULT_FORMAT, DefaultFormatter

_PHONE = re.compile(r"(?<![\w.])\+?\d{6,13}(\d{2})(?![\w])")


def redact(text: str) -> str:
    return _PHONE.sub(r"…\1", text)


def _redacted(record: logging.LogRecord) -> logging.LogRecord:
    copy = logging.makeLogRecord(record.__dict__)
    copy.msg, copy.args = redact(record.getMessage()), None
    if record.exc_info and not record.exc_text:
        copy.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        copy.exc_text = redact(record.exc_text)
    copy.exc_info = None
    return copy


class RedactingFormatter(DefaultFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return str(super().format(_redacted(record)))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        r = _redacted(record)
        doc: dict[str, Any] = {"ts": datetime.fromtimestamp(r.created, UTC).isoformat(timespec="milliseconds"),
                               "level": r.levelname, "logger": r.name, "pid": r.process, "msg": r.msg}
        if r.exc_text:
            doc["exc"] = r.exc_text
        return json.dumps(doc, ensure_ascii=False)


def logging_config(log_format: str) -> dict[str, Any]:
    """Merged into mode's logging setup by the worker (``App(logging_config=...)``)."""
    formatter = ({"()": "streams.logs.JsonFormatter"} if log_format == "json"
                 else {"()": "streams.logs.RedactingFormatter", "format": DEFAULT_FORMAT})
    return {"merge": True, "version": 1, "formatters": {"default": formatter, "colored": formatter}}


def keep_root_level() -> None:
    """Stop Faust's worker from lowering the root logger to DEBUG for its start-up spinner.

    ``faust.Worker._setup_spinner_handler`` sets the root logger to DEBUG (and adds a DEBUG handler
    that spins a terminal spinner) whenever the log level is WARN or above, and never restores it.
    Every ``logger.debug`` call in Faust and aiokafka then builds a LogRecord that no handler
    writes: 7 % of the worker's event-loop time in a profile (bench/RESULTS.md). Without it the
    root logger keeps the level given with ``-l``; the spinner just does not spin."""
    from faust.worker import Worker

    def _setup_spinner_handler(self: Any, logger: logging.Logger, level: int) -> None:
        return None

    Worker._setup_spinner_handler = _setup_spinner_handler  # type: ignore[method-assign]


BUFFER_FULL = "producer buffer full"


class Repeats(logging.Filter):
    """Let one record starting with ``prefix`` through per ``interval_s``; the next one that passes
    says how many were held back. For Faust's "producer buffer full size N": its conductor logs it
    at WARNING every time it holds the next record back until the table writes' changelog records
    are handed to the producer (more than 100 waiting). That is Faust's normal backpressure while a
    worker works through a backlog, and it came several times a second (714 lines in one demo)."""

    def __init__(self, prefix: str, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.prefix, self.interval_s, self.clock = prefix, interval_s, clock
        self.last: float | None = None
        self.held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(self.prefix):
            return True
        now = self.clock()
        if self.last is not None and now - self.last < self.interval_s:
            self.held += 1
            return False
        if self.held:
            record.msg = (f"{message} ({self.held} more in the last {now - self.last:.0f}s"  # type: ignore[operator]
                          " - backpressure while table writes wait for the producer, nothing is lost)")
            record.args = ()
        self.last, self.held = now, 0
        return True


def quiet_repeats() -> None:
    """Install ``Repeats`` on Faust's producer logger (``faust.transport.producer``)."""
    logging.getLogger("faust.transport.producer").addFilter(Repeats(BUFFER_FULL))
