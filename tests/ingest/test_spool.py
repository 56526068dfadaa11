"""The durable spool: group commit, segments, replay, torn writes, loader failures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from journeylens.ingest.spool import (
    CORRUPT_SUFFIX,
    CommitMode,
    Spool,
    SpoolLoader,
    encode_entries,
    read_segment,
)


def _event(i: int) -> tuple[str, dict[str, Any]]:
    return ("events", {"event_id": f"e{i}", "customer_id": f"c{i % 3}", "touchpoint": "visit"})


class Sink:
    """A load function that remembers what it got, and can be told to fail."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any]]] = []
        self.fail = False

    def __call__(self, table: str, records: list[dict[str, Any]]) -> None:
        if self.fail:
            raise RuntimeError("warehouse unavailable")
        self.rows.extend((table, r) for r in records)


async def _append_concurrently(spool: Spool, requests: int, per_request: int) -> None:
    await asyncio.gather(*[
        spool.append([_event(r * per_request + i) for i in range(per_request)]) for r in range(requests)
    ])


def test_group_commit_shares_fsyncs_and_keeps_every_record(tmp_path: Path) -> None:
    spool = Spool(tmp_path, commit=CommitMode.GROUP).start()
    asyncio.run(_append_concurrently(spool, requests=200, per_request=5))
    spool.close()
    assert spool.stats.appends == 200
    assert 1 <= spool.stats.fsyncs < 200  # concurrent requests shared fsyncs
    ids = [r["event_id"] for path in spool.segments() for r in read_segment(path).records["events"]]
    assert sorted(ids) == sorted(f"e{i}" for i in range(1000))


def test_each_mode_fsyncs_every_append(tmp_path: Path) -> None:
    spool = Spool(tmp_path, commit="each").start()
    asyncio.run(_append_concurrently(spool, requests=20, per_request=2))
    spool.close()
    assert spool.stats.fsyncs == spool.stats.appends == 20


def test_off_mode_never_fsyncs(tmp_path: Path) -> None:
    spool = Spool(tmp_path, commit="off").start()
    spool.append_blocking([_event(1)])
    spool.close()
    assert spool.stats.fsyncs == 0 and spool.stats.appends == 1


def test_loader_loads_in_order_and_deletes_segments(tmp_path: Path) -> None:
    spool = Spool(tmp_path).start()
    sink = Sink()
    loader = SpoolLoader(spool, sink)
    spool.append_blocking([_event(1), ("customers", {"customer_id": "c1"})])
    spool.append_blocking([_event(2)])
    report = loader.flush()
    assert report.records == 3 and report.records_by_table == {"events": 2, "customers": 1}
    assert [r.get("event_id") for t, r in sink.rows if t == "events"] == ["e1", "e2"]
    assert spool.segments() == []
    spool.append_blocking([_event(3)])  # a new segment after the seal
    assert loader.flush().records == 1
    spool.close()


def test_segments_left_by_a_crash_are_replayed_by_the_next_spool(tmp_path: Path) -> None:
    first = Spool(tmp_path).start()
    first.append_blocking([_event(1)])
    first.seal().result()
    first.append_blocking([_event(2)])  # still the active segment when the process "dies"
    # no close(): the next process finds both segments
    second = Spool(tmp_path).start()
    sink = Sink()
    SpoolLoader(second, sink).load_sealed()
    assert sorted(r["event_id"] for _, r in sink.rows) == ["e1", "e2"]
    second.append_blocking([_event(3)])
    assert second.segments()[-1].name > "000000000002"  # ids continue after the old ones
    second.close()
    first.close()


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "000000000001.jsonl"
    path.write_bytes(encode_entries([_event(1)]) + encode_entries([_event(2)]) + b'{"table":"events","rec')
    contents = read_segment(path)
    assert [r["event_id"] for r in contents.records["events"]] == ["e1", "e2"]
    assert contents.torn_bytes == len(b'{"table":"events","rec') and contents.corrupt_lines == 0


def test_corrupt_line_keeps_segment_as_evidence(tmp_path: Path) -> None:
    path = tmp_path / "000000000001.jsonl"
    path.write_bytes(encode_entries([_event(1)]) + b"\x00garbage\n" + encode_entries([_event(2)]))
    spool = Spool(tmp_path).start()
    sink = Sink()
    assert SpoolLoader(spool, sink).load_sealed().records == 2
    assert not path.exists() and path.with_suffix(CORRUPT_SUFFIX).exists()
    spool.close()


def test_failed_load_keeps_the_segment_for_the_next_pass(tmp_path: Path) -> None:
    spool = Spool(tmp_path).start()
    sink = Sink()
    loader = SpoolLoader(spool, sink)
    spool.append_blocking([_event(1)])
    sink.fail = True
    with pytest.raises(RuntimeError):
        loader.flush()
    assert len(spool.segments()) == 1
    sink.fail = False
    assert loader.flush().records == 1 and spool.segments() == []
    spool.close()


def test_background_loader_seals_and_loads(tmp_path: Path) -> None:
    spool = Spool(tmp_path).start()
    sink = Sink()
    loader = SpoolLoader(spool, sink, interval_seconds=0.05).start()
    spool.append_blocking([_event(i) for i in range(10)])
    for _ in range(100):
        if len(sink.rows) == 10:
            break
        asyncio.run(asyncio.sleep(0.05))
    loader.stop()
    spool.close()
    assert len(sink.rows) == 10 and loader.loaded_records == 10 and loader.max_lag_seconds > 0


def test_lines_are_plain_json(tmp_path: Path) -> None:
    spool = Spool(tmp_path).start()
    spool.append_blocking([("events", {"event_id": "é", "properties": {"n": 1}})])
    spool.close()
    line = spool.segments()[0].read_text(encoding="utf-8").strip()
    assert json.loads(line) == {"table": "events", "records": [{"event_id": "é", "properties": {"n": 1}}]}


def test_append_before_start_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not started"):
        Spool(tmp_path).append_blocking([_event(1)])


def test_permanent_load_error_sets_the_segment_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path).start()

    def load(table: str, records: list[dict[str, Any]]) -> None:
        raise ValueError("cannot ever be loaded")

    loader = SpoolLoader(spool, load, permanent_errors=(ValueError,))
    spool.append_blocking([_event(1)])
    report = loader.flush()
    spool.close()
    assert report.records == 0 and loader.failed_segments == 1
    assert spool.segments() == [] and len(list(tmp_path.glob("*.failed"))) == 1
    assert "cannot ever be loaded" in (loader.last_error or "")


def test_a_poisoned_segment_neither_blocks_later_ones_nor_stays_forever(tmp_path: Path) -> None:
    spool = Spool(tmp_path).start()
    loaded: list[str] = []

    def load(table: str, records: list[dict[str, Any]]) -> None:
        if any(r["event_id"] == "poison" for r in records):
            raise RuntimeError("this segment always fails")
        loaded.extend(r["event_id"] for r in records)

    loader = SpoolLoader(spool, load, max_attempts=2)
    spool.append_blocking([("events", {"event_id": "poison"})])
    spool.seal().result()
    spool.append_blocking([_event(1)])
    with pytest.raises(RuntimeError, match="always fails"):
        loader.flush()
    assert loaded == ["e1"] and len(spool.segments()) == 1  # the later segment got through
    assert loader.flush().records == 0  # second attempt: set aside, not raised
    assert spool.segments() == [] and loader.failed_segments == 1
    assert len(list(tmp_path.glob("*.failed"))) == 1
    spool.close()


def test_busy_loader_and_writer_never_lose_a_record(tmp_path: Path) -> None:
    """The loader seals and takes segments while requests keep appending (a race once lost data)."""
    spool = Spool(tmp_path).start()
    sink = Sink()
    loader = SpoolLoader(spool, sink, interval_seconds=0.001).start()
    asyncio.run(_append_concurrently(spool, requests=400, per_request=5))
    loader.stop()
    loader.flush()
    spool.close()
    assert sorted(r["event_id"] for _, r in sink.rows) == sorted(f"e{i}" for i in range(2000))
