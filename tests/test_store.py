"""The run directory on disk, asserted on the files themselves: every sample line reaches the OS before the next is
written, fsync at most once a second, half-written last lines, duplicates, damaged lines, the lock, derived runs."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.store import (
    MANIFEST,
    RESULTS,
    SAMPLES,
    VERDICTS,
    RunLock,
    RunWriter,
    SampleRecord,
    VerdictRecord,
    read_run,
    replace_derived_run,
)
from evalkit.store import run_dir as run_dir_module
from evalkit.store.records import RecordError


def sample(problem: str = "p", index: int = 0, text: str = "x", **fields) -> SampleRecord:
    return SampleRecord(problem, index, text, "stop", 10, 20, 7, **fields)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def synced(monkeypatch):
    """The store's clock and fsync replaced: the test moves time and counts the syncs."""
    clock = FakeClock()
    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(run_dir_module.time, "monotonic", clock)

    def fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(run_dir_module.os, "fsync", fsync)
    return clock, calls


def test_each_sample_line_is_flushed_to_the_os_before_append_returns(tmp_path):
    # README: "Every line is flushed before the next completion is awaited".
    writer = RunWriter(tmp_path)
    writer.open()
    try:
        for index in range(3):
            writer.append_sample(sample(index=index, text=f"answer {index}"))
            # Another reader (a kill -9 now would leave exactly this) sees the line whole.
            on_disk = (tmp_path / SAMPLES).read_text().splitlines()
            assert len(on_disk) == index + 1
            assert json.loads(on_disk[-1])["text"] == f"answer {index}"
        writer.append_verdict(VerdictRecord("p", 0, "math", {"correct": True}))
        assert json.loads((tmp_path / VERDICTS).read_text())["verdict"] == {"correct": True}
    finally:
        writer.close()


def test_fsync_at_most_once_a_second_and_at_close(tmp_path, synced):
    # README: "(fsync at most once a second)".
    clock, calls = synced
    writer = RunWriter(tmp_path)
    writer.open()
    writer.append_sample(sample(index=0))
    assert len(calls) == 1  # the first line of a run is synced at once
    clock.now += 0.4
    writer.append_sample(sample(index=1))
    clock.now += 0.5
    writer.append_sample(sample(index=2))
    assert len(calls) == 1  # within the second: flushed, not synced
    clock.now += 0.1
    writer.append_sample(sample(index=3))
    assert len(calls) == 2  # a full second after the last sync
    clock.now += 5
    writer.append_sample(sample(index=4))
    assert len(calls) == 3
    writer.close()
    assert len(calls) >= 4  # closing syncs whatever is left
    assert len((tmp_path / SAMPLES).read_text().splitlines()) == 5


class FullDisk:
    """A file on a disk that fills up: `room` bytes are written, then a write takes what fits and the next raises
    ENOSPC, as write(2) does."""

    def __init__(self, handle, room: int) -> None:
        self.handle = handle
        self.room = room

    def write(self, data) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        taken = bytes(data[: self.room])
        self.room -= len(taken)
        return self.handle.write(taken)

    def __getattr__(self, name: str):
        return getattr(self.handle, name)


@pytest.fixture
def disk_fills(monkeypatch):
    """Appends to samples.jsonl hit a full disk after the bytes `room[0]` allows (set by the test)."""
    room = [0]

    def opener(path, mode="r", *args, **kwargs):
        handle = open(path, mode, *args, **kwargs)  # noqa: SIM115 (the store holds it open, as it holds its own)
        return FullDisk(handle, room[0]) if "a" in mode and Path(path).name == SAMPLES else handle

    monkeypatch.setattr(run_dir_module, "open", opener, raising=False)
    return room


def test_a_full_disk_names_the_file_says_what_is_saved_and_the_next_writer_resumes(tmp_path, disk_fills):
    lines = [sample(index=i).to_json() for i in range(3)]
    disk_fills[0] = len(lines[0]) + len(lines[1]) + 10  # two lines and a bit of the third fit
    writer = RunWriter(tmp_path)
    writer.open()
    writer.append_sample(sample(index=0))
    writer.append_sample(sample(index=1))
    with pytest.raises(EvalkitError) as full:
        writer.append_sample(sample(index=2))
    message = str(full.value)
    assert message.startswith(f"cannot write {tmp_path / SAMPLES}: No space left on device; every sample before this")
    assert message.endswith("rerun the same command: it resumes from there")
    writer.close()  # nothing buffered is flushed again, nothing raises a second time
    assert [r.sample_index for r in read_run(tmp_path).samples] == [0, 1]  # the two stored lines stay whole
    disk_fills[0] = 10**6  # space freed
    again = RunWriter(tmp_path)
    assert again.open() is True  # the half-written third line is cut off
    again.append_sample(sample(index=2))
    again.close()
    assert [r.sample_index for r in read_run(tmp_path).samples] == [0, 1, 2]


def test_a_half_written_last_line_is_cut_by_the_writer_and_left_alone_by_readers(tmp_path):
    # README: "A half-written last line (a crash mid-write) is dropped with a notice."
    whole = sample(index=0).to_json()
    (tmp_path / SAMPLES).write_text(whole + '{"problem_id": "p", "sample_in')
    contents = read_run(tmp_path)
    assert [s.sample_index for s in contents.samples] == [0] and contents.partial_line
    assert (tmp_path / SAMPLES).read_text().endswith("sample_in")  # a reader changes nothing
    writer = RunWriter(tmp_path)
    assert writer.open() is True
    writer.close()
    assert (tmp_path / SAMPLES).read_text() == whole


def test_a_partial_line_longer_than_a_read_block_is_cut_back_to_the_last_whole_line(tmp_path):
    whole = sample(index=0).to_json()
    (tmp_path / SAMPLES).write_text(whole + "y" * 200_000)
    writer = RunWriter(tmp_path)
    assert writer.open() is True
    writer.close()
    assert (tmp_path / SAMPLES).read_text() == whole
    (tmp_path / SAMPLES).write_text("z" * 100_000)  # nothing whole at all
    writer = RunWriter(tmp_path)
    assert writer.open() is True
    writer.close()
    assert (tmp_path / SAMPLES).read_text() == ""


def test_a_file_ending_in_a_newline_is_not_touched(tmp_path):
    text = sample(index=0).to_json() + sample(index=1).to_json()
    (tmp_path / SAMPLES).write_text(text)
    (tmp_path / VERDICTS).write_text("")
    writer = RunWriter(tmp_path)
    assert writer.open() is False
    writer.close()
    assert (tmp_path / SAMPLES).read_text() == text


def test_duplicates_keep_the_first_copy_and_verdicts_the_latest_line(tmp_path):
    (tmp_path / SAMPLES).write_text(
        sample(index=0, text="first").to_json() + sample(index=0, text="second").to_json() + sample(index=1).to_json()
    )
    (tmp_path / VERDICTS).write_text(
        VerdictRecord("p", 0, "math", {"correct": False}).to_json()
        + VerdictRecord("p", 0, "math", {"correct": True}).to_json()
        + VerdictRecord("p", 0, "dapo", {"correct": False}).to_json()
        + VerdictRecord("q", 9, "math", {"correct": True}).to_json()  # no such sample: ignored
    )
    contents = read_run(tmp_path)
    assert [(s.sample_index, s.text) for s in contents.samples] == [(0, "first"), (1, "x")]
    assert contents.duplicates == 1
    assert contents.verdicts_for("math") == {("p", 0): {"correct": True}}
    assert contents.verdicts_for("dapo") == {("p", 0): {"correct": False}}
    assert [s.key for s in contents.unverified("math")] == [("p", 1)]
    assert [s.key for s in contents.unverified("strict-int")] == [("p", 0), ("p", 1)]


def test_verdicts_inside_old_sample_lines_count_for_the_manifests_rule_set(tmp_path):
    (tmp_path / SAMPLES).write_text(sample(index=0, verdict={"correct": True}).to_json())
    assert read_run(tmp_path, legacy_rules="dapo").verdicts_for("dapo") == {("p", 0): {"correct": True}}
    assert read_run(tmp_path).verdicts == {}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"problem_id": "", "sample_index": 0, "text": "x"}', "`problem_id` must be a non-empty string"),
        ('{"problem_id": "p", "sample_index": -1, "text": "x"}', "`sample_index` must be a non-negative integer"),
        ('{"problem_id": "p", "sample_index": true, "text": "x"}', "`sample_index` must be a non-negative integer"),
        ('{"problem_id": "p", "sample_index": 0, "text": 5}', "`text` must be text"),
        ('{"problem_id": "p", "sample_index": 0, "text": "x", "seed": "1"}', "`seed` must be an integer"),
        ('{"problem_id": "p", "sample_index": 0, "text": "x", "output_tokens": -2}', "`output_tokens` must be a"),
        ('{"problem_id": "p", "sample_index": 0, "text": "x", "verdict": [1]}', "`verdict` must be an object"),
        ('{"problem_id": "p", "sample_index": 0, "text": "x", "source": "me"}', "`source` must be an object"),
        ("[1, 2]", "a sample record is a JSON object"),
    ],
)
def test_an_invalid_sample_line_names_its_file_line_and_fault(tmp_path, line, message):
    (tmp_path / SAMPLES).write_text(sample(index=0).to_json() + line + "\n")
    with pytest.raises(EvalkitError) as error:
        read_run(tmp_path)
    assert f"{tmp_path / SAMPLES}:2 is not a valid record ({message}" in str(error.value)


def test_verdict_records_need_a_boolean_correct():
    with pytest.raises(RecordError, match="boolean `correct`"):
        VerdictRecord.from_dict({"problem_id": "p", "sample_index": 0, "rules": "math", "verdict": {"correct": 1}})
    with pytest.raises(RecordError, match="a verdict record is a JSON object"):
        VerdictRecord.from_dict("x")
    line = {"problem_id": 7, "sample_index": 2, "rules": "math", "verdict": {"correct": True}}
    record = VerdictRecord.from_dict(line)
    assert record.key == ("7", 2)


def test_a_sample_record_round_trips_and_leaves_out_what_it_does_not_have():
    record = sample(index=3, reasoning="think", reasoning_tokens=5)
    data = json.loads(record.to_json())
    assert "verdict" not in data and "source" not in data
    assert SampleRecord.from_dict(data) == record
    assert record.truncated is False and SampleRecord("p", 0, "", "length", None, None, None).truncated is True
    with_source = sample(source={"pred": "5"})
    assert json.loads(with_source.to_json())["source"] == {"pred": "5"}


def test_the_lock_file_names_its_holder_and_is_emptied_on_release(tmp_path):
    lock = RunLock(tmp_path)
    lock.acquire()
    holder = json.loads((tmp_path / ".lock").read_text())
    assert holder["pid"] == os.getpid() and lock.held
    with pytest.raises(EvalkitError, match=f"being written by process {os.getpid()} on "):
        RunLock(tmp_path).acquire()
    lock.release()
    assert not lock.held and (tmp_path / ".lock").read_text() == ""
    with RunLock(tmp_path) as again:  # released: the next writer gets it
        assert again.held


def test_a_start_that_never_wrote_leaves_no_directory(tmp_path):
    run = tmp_path / "new-run"
    writer = RunWriter(run)
    writer.open()
    writer.close(remove_if_unused=True)
    assert not run.exists()
    kept = tmp_path / "kept"
    writer = RunWriter(kept)
    writer.open()
    writer.append_sample(sample())
    writer.close(remove_if_unused=True)
    assert (kept / SAMPLES).is_file()


def derived(kind: str = "scored-generations") -> dict:
    return {"model": "m", "dataset": {"name": "aime24"}, "kind": kind}


def test_a_derived_run_is_written_whole_and_never_over_a_generated_one(tmp_path):
    run = tmp_path / "scored"
    samples = [sample(index=0), sample(index=1)]
    verdicts = [VerdictRecord("p", 0, "math", {"correct": True})]
    replace_derived_run(run, derived(), samples, verdicts, {"metrics": {}})
    assert len((run / SAMPLES).read_text().splitlines()) == 2
    assert json.loads((run / MANIFEST).read_text())["kind"] == "scored-generations"
    assert json.loads((run / RESULTS).read_text()) == {"metrics": {}}
    replace_derived_run(run, derived(), samples[:1], [], {"metrics": {"avg": 1}})  # rewritten in full
    assert len((run / SAMPLES).read_text().splitlines()) == 1 and (run / VERDICTS).read_text() == ""
    with pytest.raises(EvalkitError, match="holds a run of kind 'scored-generations', not 'imported'"):
        replace_derived_run(run, derived("imported"), samples, [], {})
    measured = tmp_path / "measured"
    measured.mkdir()
    (measured / MANIFEST).write_text(json.dumps({"model": "m", "dataset": "aime24"}))
    with pytest.raises(EvalkitError, match="kind 'measured'"):
        replace_derived_run(measured, derived(), samples, [], {})
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    (orphan / SAMPLES).write_text("")
    with pytest.raises(EvalkitError, match="has samples but no manifest.json"):
        replace_derived_run(orphan, derived(), samples, [], {})
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(EvalkitError, match="is a file"):
        replace_derived_run(a_file, derived(), samples, [], {})


def test_results_and_manifests_that_are_damaged_are_one_line_each(tmp_path):
    from evalkit.store import read_manifest, read_results

    with pytest.raises(EvalkitError, match="is not an evalkit run directory"):
        read_manifest(tmp_path)
    assert read_results(tmp_path) is None
    (tmp_path / MANIFEST).write_text("[]")
    with pytest.raises(EvalkitError, match=r"damaged \(not a JSON object\)"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST).write_text('{"model": "m"}')
    with pytest.raises(EvalkitError, match=r"damaged \(no `dataset`\)"):
        read_manifest(tmp_path)
    (tmp_path / RESULTS).write_text('{"metrics": 3}')
    with pytest.raises(EvalkitError, match="no metrics"):
        read_results(tmp_path)
    (tmp_path / RESULTS).write_bytes(b"\xff\xfe")
    with pytest.raises(EvalkitError, match="is not UTF-8 text"):
        read_results(tmp_path)
    (tmp_path / RESULTS).write_text('{"metrics": ')
    with pytest.raises(EvalkitError, match="is damaged .* at line 1"):
        read_results(tmp_path)


def test_run_dirs_are_found_below_the_given_paths_once_each(tmp_path):
    from evalkit.store import iter_run_dirs

    for name in ("a", "b/c"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / MANIFEST).write_text("{}")
    found = list(iter_run_dirs([tmp_path, tmp_path / "a", Path(tmp_path / "b" / ".." / "a")]))
    assert found == [tmp_path / "a", tmp_path / "b" / "c"]


def test_a_second_writer_is_told_who_holds_the_run_and_since_when(tmp_path):
    import socket

    lock = RunLock(tmp_path)
    lock.acquire()
    try:
        since = json.loads((tmp_path / ".lock").read_text())["since"]
        holder = f"process {os.getpid()} on {socket.gethostname()} (since {since})"
        with pytest.raises(EvalkitError) as error:
            RunLock(tmp_path).acquire()
        assert str(error.value) == (
            f"{tmp_path} is being written by {holder}; wait for it to finish, or pass --wait to start when it does"
        )
        # What the file says is only for the message: an older or foreign record still gives one clear line.
        (tmp_path / ".lock").write_text(json.dumps({"pid": 12, "host": "gpu-7"}))
        with pytest.raises(EvalkitError, match=r"being written by process 12 on gpu-7 \(since \?\);"):
            RunLock(tmp_path).acquire()
        for foreign in ("not json", "[1]", '{"pid": 3}', "\udcff"):
            (tmp_path / ".lock").write_text(foreign, errors="surrogateescape")
            with pytest.raises(EvalkitError, match="is being written by another process; wait"):
                RunLock(tmp_path).acquire()
    finally:
        lock.release()
