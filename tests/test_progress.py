"""Progress reporting: silent without a handler, plain lines per tenth off a terminal."""

from __future__ import annotations

import logging

import pytest

from ckg.progress import counted, stage


@pytest.fixture
def records():
    log = logging.getLogger("ckg")
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect()
    old = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield seen
    log.removeHandler(handler)
    log.setLevel(old)


def test_counted_work_reports_each_tenth_once(records):
    with counted(95, "texts encoded") as advance:
        for _ in range(19):
            advance(5)
    assert records == [f"texts encoded: {n}/95" for n in (10, 20, 30, 40, 50, 60, 70, 80, 90, 95)]


def test_stage_reports_start_and_duration_even_when_it_fails(records):
    with pytest.raises(ValueError), stage("parse"):
        raise ValueError("boom")
    assert records[0] == "parse…" and records[1].startswith("parse: ") and records[1].endswith(" s")


def test_nothing_is_reported_below_info(records):
    logging.getLogger("ckg").setLevel(logging.WARNING)  # what -q does
    with counted(10, "x") as advance, stage("y"):
        advance(10)
    assert records == []
