"""A text frame that is not UTF-8: closed with 1007 and one log line, no traceback (issue 8)."""

from __future__ import annotations

import logging

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect


class _Records(logging.Handler):
    """Keeps what it is given, formatted as a log file would show it (tracebacks too)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.extend(self.format(record).splitlines())


def test_a_text_frame_that_is_not_utf8_closes_1007_with_one_log_line(
    shared_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Listen on the logger uvicorn's WebSocket protocol writes to, at INFO: whether it
    # reaches the root logger depends on uvicorn's log config.
    records = _Records()
    uvicorn_error = logging.getLogger("uvicorn.error")
    caplog.set_level(logging.INFO, logger="uvicorn.error")  # restored after the test
    uvicorn_error.addHandler(records)
    try:
        with connect(f"ws://{shared_server}/tts/websocket") as ws:
            # uvicorn logs before it sends its close frame: the record exists once the close
            # arrives.
            ws.send(b'{"transcript": "\xff\xfe"}', text=True)
            with pytest.raises(ConnectionClosedError):
                ws.recv(timeout=10)
            assert ws.close_code == 1007
    finally:
        uvicorn_error.removeHandler(records)
    log = "\n".join(records.lines)
    assert records.lines and "Traceback" not in log, log
    about_it = [line for line in records.lines if "UTF-8" in line]
    assert len(about_it) == 1, log
    assert all(r.exc_info is None for r in records.records), log
