"""Hostile files, one table per surface: compression bombs, token counts that are not counts, verdicts written as
text, duplicate and over-long lines, byte-order marks, symbolic links out of a folder, damaged inspect logs. Each
row is a file a user could be handed; each must be read, or refused in one line naming the file, and whatever is
imported must then be shown, scored and put on a leaderboard like any other run."""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_calls import run_main as _invoke
from conftest import GENERATIONS
from rich.markup import escape
from rich.table import Table

from evalkit.data import datasets as ds
from evalkit.errors import EvalkitError
from evalkit.importers import files, import_outputs
from evalkit.importers.detect import scan
from evalkit.importers.files import ZipMembers
from evalkit.pipeline import rescore
from evalkit.report import leaderboard, publish
from evalkit.report.samples import load_view
from evalkit.report.terminal import SafeConsole, json_text, visible

PUBLISHED = GENERATIONS / "published"
PEERS = PUBLISHED / "peer-formats"
GREEDY = GENERATIONS / "aime24_Qwen_Qwen2.5-Math-7B.jsonl"
# The longest real response of the published outputs: 167,000 characters of reasoning.
LONGEST = max(
    (text for path in PUBLISHED.glob("qwen25-math-outputs/**/*.jsonl.gz")
     for line in gzip.decompress(path.read_bytes()).decode().splitlines() for text in json.loads(line)["code"]),
    key=len,
)  # fmt: skip


@pytest.fixture(scope="module")
def aime24(shared_data):
    return ds.load("aime24", ds.DataLocations(shared_data, shared_data / "no-cache"), allow_download=False)


def greedy_rows(count: int = 30) -> list[dict]:
    return [json.loads(line) for line in GREEDY.read_text().splitlines()[:count]]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def one_line(exc: pytest.ExceptionInfo, *parts: str) -> str:
    message = str(exc.value)
    assert "\n" not in message and "bug" not in message
    for part in parts:
        assert part in message, message
    return message


# ---------------------------------------------------------------------------------------------------------------
# Compression bombs: a small file that expands without bound is refused in one line naming it, after expanding no
# further than the cap; format detection reads only a bounded prefix of it.


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


def _zstd(data: bytes) -> bytes:
    zstandard = pytest.importorskip("zstandard")
    return zstandard.ZstdCompressor(level=3).compress(data)


def _zstd_streamed(data: bytes) -> bytes:
    """A frame that does not state its size, as streaming writers make it, in two frames (a file written in parts)."""
    zstandard = pytest.importorskip("zstandard")
    out = io.BytesIO()
    half = len(data) // 2
    for part in (data[:half], data[half:]):
        with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as writer:
            writer.write(part)
    return out.getvalue()


def _eval_zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


FIRST_LINE = json.dumps({"problem_id": "2024-I-1", "response": "\\boxed{204}"}).encode() + b"\n"
PADDING = b" " * (3 << 20)  # 3 MB of blanks after a valid first line: past the 2 MB cap the tests set


@pytest.mark.parametrize(
    "name,content",
    [
        pytest.param("bomb.jsonl.gz", lambda: _gzip(FIRST_LINE + PADDING), id="gz"),
        pytest.param("bomb.jsonl.zst", lambda: _zstd(FIRST_LINE + PADDING), id="zst"),
        pytest.param("bomb.jsonl.zst", lambda: _zstd_streamed(FIRST_LINE + PADDING), id="zst-no-size-two-frames"),
    ],
)
def test_a_compressed_file_past_the_cap_is_refused_naming_it_and_detected_from_a_prefix(
    name, content, aime24, tmp_path, monkeypatch
):
    monkeypatch.setattr(files, "MAX_DECOMPRESSED_BYTES", 2 << 20)
    monkeypatch.setattr(files, "DETECT_BYTES", 1 << 20)
    bomb = tmp_path / "in" / name
    bomb.parent.mkdir()
    bomb.write_bytes(content())
    assert len(bomb.read_bytes()) < 20_000
    # Detection reads its first line only: the format is told although the whole is past the cap.
    (found,) = scan([bomb]).found
    assert found.format == "evalkit"
    with pytest.raises(EvalkitError) as exc:
        import_outputs([bomb], aime24, None)
    one_line(exc, str(bomb), "decompresses to more than 2 MiB", "decompress it yourself")
    # In a folder, the bomb is left out with its reason and the other files are imported.
    write_jsonl(tmp_path / "in" / "good.jsonl", greedy_rows())
    summary = import_outputs([tmp_path / "in"], aime24, None)
    assert [r.run.source.path.name for r in summary.results] == ["good.jsonl"]
    (refused,) = summary.skipped_runs
    assert refused.path == bomb and "decompresses to more than" in refused.reason


def test_the_members_of_an_eval_archive_are_capped_together(aime24, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_DECOMPRESSED_BYTES", 2 << 20)
    header = json.dumps({"eval": {"task": "t", "model": "m"}, "plan": {}}).encode()
    # Each member is under the cap; together they are past it (and zipfile would hold them all at once).
    members = {"header.json": header, **{f"samples/{i}_epoch_1.json": b" " * (600 << 10) + b"{}" for i in range(5)}}
    log = tmp_path / "log.eval"
    log.write_bytes(_eval_zip(members))
    with pytest.raises(EvalkitError) as exc:
        import_outputs([log], aime24, None)
    one_line(exc, str(log), "its members together", "decompresses to more than 2 MiB")


@pytest.mark.parametrize(
    "name,data",
    [("cut.jsonl.gz", _gzip(FIRST_LINE * 50)[:-30]), ("noise.jsonl.zst", b"\x28\xb5\x2f\xfd" + b"x" * 99),
     ("noise.eval", b"PK\x03\x04" + b"\x00" * 50), ("noise.jsonl.gz", b"\x1f\x8b" + b"\xff" * 40)],
)  # fmt: skip
def test_a_damaged_compressed_file_is_one_line(name, data, aime24, tmp_path):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(EvalkitError) as exc:
        import_outputs([path], aime24, None)
    one_line(exc, str(path))


def test_a_folder_whose_every_output_is_refused_is_an_error_not_a_success(data_env, tmp_path, capsys):
    folder = tmp_path / "downloaded"
    folder.mkdir()
    (folder / "cut.jsonl.gz").write_bytes(_gzip(FIRST_LINE * 50)[:-30])
    (folder / "noise.jsonl.gz").write_bytes(b"\x1f\x8b" + b"\xff" * 40)
    code, out, err = _invoke(["import", str(folder), "--output-dir", str(tmp_path / "runs")], capsys)
    assert code == 2 and "imported runs written" not in out, (out, err)
    assert err.count("not imported:") == 2 and str(folder / "cut.jsonl.gz") in err
    assert "error: nothing was imported: all 2 outputs found were left out, for the reasons above" in err
    assert not (tmp_path / "runs").exists()
    code, out, _ = _invoke(["import", str(folder), "--json", "--dry-run"], capsys)
    assert code == 2 and json.loads(out)["runs"] == [] and len(json.loads(out)["not_imported"]) == 2
    # One good file beside them: the import succeeds and says what it left out.
    write_jsonl(folder / "good.jsonl", greedy_rows())
    code, out, err = _invoke(["import", str(folder), "--dry-run"], capsys)
    assert code == 0 and err.count("not imported:") == 2 and "nothing was imported" not in err


def test_the_cap_is_far_above_the_largest_real_output(aime24):
    # The cap must never refuse a real file: 64 samples of the longest published response on each of 30 problems.
    assert len(LONGEST) > 160_000
    assert 30 * 64 * len(LONGEST.encode()) * 3 < files.MAX_DECOMPRESSED_BYTES
    assert 64 * len(LONGEST.encode()) * 5 < files.DETECT_BYTES  # a Qwen2.5-Math line of 64 such samples


# ---------------------------------------------------------------------------------------------------------------
# Lines: a first line of megabytes is seen by detection, with and without --format; two lines for one sample are
# refused by `import` and `score` alike, naming both lines; a byte-order mark is no part of the first key.


def test_a_first_line_of_several_megabytes_is_imported(aime24, tmp_path):
    rows = greedy_rows()
    rows[0]["response"] = (LONGEST + "\n") * 30 + "So the answer is \\boxed{204}."  # about 5 MB on one line
    path = write_jsonl(tmp_path / "long" / "long.jsonl", rows)
    assert len(path.read_text().splitlines()[0]) > 4_500_000
    for fmt in ("auto", "evalkit"):
        (result,) = import_outputs([path.parent], aime24, None, fmt=fmt).results
        assert result.report.coverage.scored == 30 and result.report.samples[0].verdict.correct


def test_the_first_keys_of_a_line_longer_than_the_detection_prefix_are_outlined(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "DETECT_BYTES", 1 << 16)
    row = {"idx": 0, "question": "q", "code": ["x" * 200_000], "pred": ["1"], "score": [True]}
    path = write_jsonl(tmp_path / "qwen.jsonl", [row])
    # The keys after the long response lie past the prefix: only those before it are seen, and nothing breaks.
    assert files.first_line_keys(path) == {"idx", "question", "code"}
    row = {"problem_id": "2024-I-1", "response": "y" * 200_000}
    assert files.first_line_keys(write_jsonl(tmp_path / "e.jsonl", [row])) == {"problem_id", "response"}


@pytest.mark.parametrize("fmt", ["auto", "skythought"])
def test_a_json_document_longer_than_its_detection_prefix_is_told_from_its_outline(fmt, aime24, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "DETECT_JSON_BYTES", 1 << 16)
    source = next(PUBLISHED.glob("skythought-tools/*sys_zero.json.gz"))
    document = json.loads(gzip.decompress(source.read_bytes()))
    next(iter(document.values()))["responses"]["0.0"]["content"] = LONGEST  # the first entry alone is 167 kB
    path = tmp_path / source.name[: -len(".gz")]
    path.write_text(json.dumps(document))
    assert path.stat().st_size > 1 << 17
    (result,) = import_outputs([path], aime24, None, fmt=fmt).results
    assert result.run.source.format == "skythought" and result.report.coverage.scored == 30


@pytest.mark.parametrize(
    "prefix,keys,first",
    [
        (b'{"a": 1, "b": {"c": [1, {"d": 2}], "e": "}"}, "f": "\\"g\\": 1"}', {"a", "b", "f"}, set()),
        (b'{"x": {"problem": "p", "responses": {"0.0": {"content": "long', {"x"}, {"problem", "responses"}),
        (b'\xef\xbb\xbf {"eval": {}, "plan": {}, "samples": [{"id": 1, "out', {"eval", "plan", "samples"}, set()),
        (b'[{"a": 1}]', None, None),
        (b"not json", None, None),
        (b'{"cut off in a key', set(), set()),
    ],
)  # fmt: skip
def test_outline_of_a_cut_off_json_object(prefix, keys, first):
    found = files.outline(prefix)
    if keys is None:
        assert found is None
    else:
        assert (set(found.keys), set(found.first_value_keys)) == (keys, first)


def test_two_lines_for_one_sample_are_refused_by_import_and_score_alike(aime24, tmp_path):
    rows = [{**row, "sample_index": 0} for row in greedy_rows()]
    rows.insert(7, {**rows[3], "response": "another text for the same sample"})
    path = write_jsonl(tmp_path / "dup.jsonl", rows)
    messages = []
    for read in (lambda: import_outputs([path], aime24, None), lambda: rescore.read_generations(path)):
        with pytest.raises(EvalkitError) as exc:
            read()
        messages.append(one_line(exc, f"{path}:8 repeats sample 0 of problem '2024-I-4' (line 4 has it too)"))
    assert messages[0] == messages[1]
    # Without sample_index the lines of a problem are its samples in order: no duplicate, n = 2 for that problem.
    plain = write_jsonl(tmp_path / "plain.jsonl", [{k: v for k, v in r.items() if k != "sample_index"} for r in rows])
    assert [g.sample_index for g in rescore.read_generations(plain) if g.problem_id == "2024-I-4"] == [0, 1]


@pytest.mark.parametrize("reader", ["import", "score"])
def test_a_byte_order_mark_is_read_past(reader, aime24, tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\n" for r in greedy_rows()).encode())
    if reader == "import":
        (result,) = import_outputs([path], aime24, None).results
        assert result.report.coverage.scored == 30
    else:
        assert len(rescore.read_generations(path)) == 30


# ---------------------------------------------------------------------------------------------------------------
# Symbolic links: inside a folder given, a link that leads out of it is not followed, and said.


def test_links_out_of_the_folder_are_not_followed(aime24, tmp_path, data_env, capsys):
    outside = write_jsonl(tmp_path / "elsewhere" / "private.jsonl", greedy_rows())
    (tmp_path / "elsewhere" / "deep").mkdir()
    write_jsonl(tmp_path / "elsewhere" / "deep" / "more.jsonl", greedy_rows())
    folder = tmp_path / "downloaded"
    write_jsonl(folder / "real.jsonl", greedy_rows(10))
    (folder / "looks-like-output.jsonl").symlink_to(outside)
    (folder / "linked-folder").symlink_to(tmp_path / "elsewhere" / "deep")
    (folder / "inside.jsonl").symlink_to(folder / "real.jsonl")  # stays inside: followed
    (folder / "loop").symlink_to(folder / "loop")  # leads nowhere: no file to read, nothing to say
    summary = import_outputs([folder], aime24, None)
    assert sorted(r.run.source.path.name for r in summary.results) == ["inside.jsonl", "real.jsonl"]
    assert summary.outside == (folder / "linked-folder", folder / "looks-like-output.jsonl")
    # A file named directly is the user's choice, link or not.
    (result,) = import_outputs([folder / "looks-like-output.jsonl"], aime24, None).results
    assert result.report.coverage.scored == 30
    code, _, err = _invoke(["import", str(folder), "--dry-run"], capsys)
    (note,) = [line for line in err.splitlines() if "not followed" in line]  # said once, for both links
    assert code == 0 and str(folder / "linked-folder") in note and "lead out of the folder given" in note
    code, out, _ = _invoke(["import", str(folder), "--dry-run", "--json"], capsys)
    assert json.loads(out)["links_not_followed"] == [
        str(folder / "linked-folder"),
        str(folder / "looks-like-output.jsonl"),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Verdicts written as text (the evalkit JSONL importer's `source_score`): "False" and "0" are not correct.


@pytest.mark.parametrize(
    "written,read",
    [(True, True), (False, False), (1, True), (0, False), (1.0, True), (0.0, False), ("True", True),
     ("False", False), ("false", False), ("0", False), ("1", True), (" yes ", True), ("no", False),
     ("correct", True), ("incorrect", False), (None, None)],
)  # fmt: skip
def test_source_verdicts_written_as_text_are_read_as_meant(written, read, aime24, tmp_path):
    rows = greedy_rows()
    rows[0]["source_score"] = written
    (result,) = import_outputs([write_jsonl(tmp_path / "v.jsonl", rows)], aime24, None).results
    assert result.run.samples[0].response.correct is read


@pytest.mark.parametrize("written", ["maybe", "", 2, 0.5, -1, [True], {"value": 1}, float("nan")])
def test_a_source_verdict_that_is_no_verdict_is_refused_naming_the_line(written, aime24, tmp_path):
    rows = greedy_rows()
    rows[4]["source_score"] = written
    path = write_jsonl(tmp_path / "v.jsonl", rows)
    with pytest.raises(EvalkitError) as exc:
        import_outputs([path], aime24, None)
    one_line(exc, f"{path}:5: source_score", "is not a verdict")


@pytest.mark.parametrize("written,read", [("False", False), ("0", False), ("true", True), (None, None)])
def test_verdicts_written_as_text_in_the_qwen_harness_and_skythought_files(written, read, aime24, tmp_path):
    rows = [json.loads(line) for line in gzip.decompress(next(PUBLISHED.rglob("checkpoint-63/**/*.jsonl.gz"))
                                                         .read_bytes()).decode().splitlines()]  # fmt: skip
    rows[0]["score"] = [written]
    folder = tmp_path / "m" / "aime24_eval" / "aime24"
    write_jsonl(folder / "test_p_-1_seed0_t0.0_s0_e-1.jsonl", rows)
    (result,) = import_outputs([tmp_path / "m"], aime24, None).results
    assert next(s for s in result.run.samples if s.problem_id == "2024-I-1").response.correct is read
    source = next(PUBLISHED.glob("skythought-tools/*sys_zero.json.gz"))
    document = json.loads(gzip.decompress(source.read_bytes()))
    first = next(iter(document.values()))
    first["responses"]["0.0"]["correctness"] = written
    (tmp_path / "sky").mkdir()
    (tmp_path / "sky" / source.name[: -len(".gz")]).write_text(json.dumps(document))
    (result,) = import_outputs([tmp_path / "sky"], aime24, None).results
    assert result.run.source.items[0].responses[0].correct is read


def test_a_qwen_harness_verdict_that_is_no_verdict_is_refused_naming_the_line(aime24, tmp_path):
    rows = [{"idx": 0, "question": "q", "code": ["\\boxed{1}"], "pred": ["1"], "score": ["perhaps"], "gt": "1"}]
    path = write_jsonl(tmp_path / "m" / "aime24_eval" / "aime24" / "test_p_-1_seed0_t0.0_s0_e-1.jsonl", rows)
    with pytest.raises(EvalkitError) as exc:
        import_outputs([path], aime24, None)
    one_line(exc, f"{path}:1: `score` 'perhaps' is not a verdict")


# ---------------------------------------------------------------------------------------------------------------
# Token counts that are not counts: in a foreign harness's file they are recorded as unknown and said once (its
# responses and verdicts are imported all the same); in evalkit's own generations format they are refused naming
# the line. Whatever is imported is then shown, scored and put on a leaderboard.


def _inspect_log(tmp_path: Path, usage: dict) -> Path:
    (log,) = (PEERS / "inspect").glob("*.eval")
    with ZipMembers(log) as archive:
        members = {name: archive.read(name) for name in archive.names()}
    first = "samples/2024-I-1_epoch_1.json"
    sample = json.loads(members[first])
    sample["output"]["usage"].update(usage)
    members[first] = json.dumps(sample, allow_nan=True).encode()
    path = tmp_path / "inspect" / log.name
    path.parent.mkdir()
    path.write_bytes(_eval_zip(members))
    return path


def _skythought(tmp_path: Path, usage: dict) -> Path:
    source = next(PUBLISHED.glob("skythought-tools/*sys_zero.json.gz"))
    document = json.loads(gzip.decompress(source.read_bytes()))
    next(iter(document.values()))["token_usages"]["0.0"].update(usage)
    path = tmp_path / "skythought" / source.name[: -len(".gz")]
    path.parent.mkdir()
    path.write_text(json.dumps(document, allow_nan=True))
    return path


def _evalscope(tmp_path: Path, usage: dict) -> Path:
    folder = tmp_path / "evalscope"
    folder.mkdir()
    for source in (PEERS / "evalscope").iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    predictions = folder / "predictions_aime24_default.jsonl.gz"
    rows = [json.loads(line) for line in gzip.decompress(predictions.read_bytes()).decode().splitlines()]
    for row in rows:
        row["model_output"]["usage"].update(usage)
    predictions.write_bytes(gzip.compress("".join(json.dumps(r, allow_nan=True) + "\n" for r in rows).encode()))
    return folder


def _lighteval(tmp_path: Path, usage: dict) -> Path:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    folder = tmp_path / "lighteval"
    folder.mkdir()
    for source in (PEERS / "lighteval").iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    (details,) = folder.glob("*.parquet")
    rows = pq.read_table(details).to_pylist()
    for row in rows:
        row["model_response"]["output_tokens"] = [usage["output_tokens"]] * len(row["model_response"]["text"])
    pq.write_table(pa.Table.from_pylist(rows), details)
    return folder


# Where each format keeps a sample's counts, and the count a reader must take from what is written there.
COUNT_CASES = [
    ("inspect", 12.5, None), ("inspect", -3, None), ("inspect", "812", 812), ("inspect", 812.0, 812),
    ("inspect", True, None), ("inspect", math.inf, None), ("inspect", "lots", None), ("inspect", [5], None),
    ("skythought", -1, None), ("skythought", "77", 77), ("skythought", math.nan, None),
    ("evalscope", 20.5, None), ("evalscope", "20", 20),
    ("lighteval", -5, None),
]  # fmt: skip
WRITERS = {"inspect": _inspect_log, "skythought": _skythought, "evalscope": _evalscope, "lighteval": _lighteval}
COUNT_FIELDS = {"inspect": "output_tokens", "skythought": "completion_tokens", "evalscope": "output_tokens",
                "lighteval": "output_tokens"}  # fmt: skip


@pytest.mark.parametrize("fmt,written,read", COUNT_CASES)
def test_token_counts_that_are_not_counts_are_unknown_and_the_run_reads_everywhere(
    fmt, written, read, aime24, tmp_path, data_env
):
    source = WRITERS[fmt](tmp_path, {COUNT_FIELDS[fmt]: written})
    summary = import_outputs([source], aime24, tmp_path / "runs")
    (result,) = summary.results
    assert read in {s.response.output_tokens for s in result.run.samples}
    notes = [f.message for f in result.run.findings if f.kind == "token-counts"]
    if read is None:
        (note,) = notes
        assert "token counts are not whole numbers of at least 0" in note and "recorded as unknown" in note
    else:
        assert notes == []
    (run_dir,) = summary.run_dirs
    # What `show`, `score RUN` and `leaderboard` read, each of which refused such a run before.
    assert load_view(run_dir).samples
    generations, _ = rescore.generations_to_score(run_dir, None, ds.DataLocations.from_env())
    assert len(generations) == len(result.run.samples)
    runs = leaderboard.load_runs([tmp_path / "runs"])
    frame = leaderboard.build(runs, "aime24", include_reported=False)
    publish.write(frame, runs, "aime24", tmp_path / "board", ["html"])
    assert len(list((tmp_path / "board" / "aime24-samples").glob("*.html"))) == 1


@pytest.mark.parametrize("written", [-3, 12.5, math.nan, math.inf, "many", True])
@pytest.mark.parametrize("reader", ["import", "score"])
def test_a_token_count_in_evalkit_generations_that_is_no_count_is_refused_naming_the_line(
    written, reader, aime24, tmp_path
):
    rows = greedy_rows()
    rows[2]["output_tokens"] = written
    path = tmp_path / "g.jsonl"
    path.write_text("".join(json.dumps(r, allow_nan=True) + "\n" for r in rows))
    with pytest.raises(EvalkitError) as exc:
        import_outputs([path], aime24, None) if reader == "import" else rescore.read_generations(path)
    one_line(exc, f"{path}:3: output_tokens", "is not a token count")


def test_token_counts_written_as_text_or_whole_floats_are_counts(aime24, tmp_path):
    rows = greedy_rows()
    rows[0]["output_tokens"], rows[1]["output_tokens"] = "812", 640.0
    path = write_jsonl(tmp_path / "g.jsonl", rows)
    (result,) = import_outputs([path], aime24, None).results
    assert [s.response.output_tokens for s in result.run.samples[:2]] == [812, 640]
    assert [g.output_tokens for g in rescore.read_generations(path)[:2]] == [812, 640]


# ---------------------------------------------------------------------------------------------------------------
# inspect logs whose members are JSON but not what inspect writes: refused in one line naming the member.


@pytest.mark.parametrize(
    "member,content",
    [("header.json", b"[1, 2]"), ("header.json", b'"text"'), ("header.json", b"null"),
     ("samples/2024-I-1_epoch_1.json", b"42"), ("samples/2024-I-1_epoch_1.json", b"[]")],
)  # fmt: skip
def test_inspect_members_that_are_json_but_not_objects(member, content, aime24, tmp_path):
    members = {"header.json": json.dumps({"eval": {"task": "t", "model": "m"}, "plan": {}}).encode(),
               "samples/2024-I-1_epoch_1.json": b"{}"}  # fmt: skip
    members[member] = content
    log = tmp_path / "log.eval"
    log.write_bytes(_eval_zip(members))
    with pytest.raises(EvalkitError) as exc:
        import_outputs([log], aime24, None)
    one_line(exc, str(log), f"member {member} is", "not an object")


@pytest.mark.parametrize(
    "samples,said",
    [([{"id": "2024-I-1"}, 7], "sample 2 is int JSON, not an object"), ({"a": 1}, "not an inspect log"),
     (["text"], "sample 1 is str JSON, not an object")],
)  # fmt: skip
def test_an_inspect_json_log_whose_samples_are_not_objects(samples, said, aime24, tmp_path):
    log = tmp_path / "log.json"
    log.write_text(json.dumps({"eval": {"task": "t", "model": "m"}, "plan": {}, "samples": samples}))
    with pytest.raises(EvalkitError) as exc:
        import_outputs([log], aime24, None)
    one_line(exc, str(log), said)


@pytest.mark.parametrize(
    "sample",
    [{"id": "2024-I-1", "output": [], "scores": "C"}, {"id": "2024-I-1", "output": {"choices": {"a": 1}}},
     {"id": "2024-I-1", "output": {"choices": [{"message": "text"}], "usage": [1, 2]}, "epoch": "one"}],
)  # fmt: skip
def test_inspect_samples_with_fields_of_the_wrong_shape_read_as_missing(sample, aime24, tmp_path):
    members = {"header.json": json.dumps({"eval": {"task": "t", "model": "m"}, "plan": []}).encode(),
               "samples/a.json": json.dumps(sample).encode()}  # fmt: skip
    log = tmp_path / "log.eval"
    log.write_bytes(_eval_zip(members))
    (result,) = import_outputs([log], aime24, None).results
    assert result.run.samples[0].response.output_tokens is None


def test_other_shapes_no_format_writes_are_one_line_naming_the_file(aime24, tmp_path):
    rows = [{"idx": 0, "question": {"not": "text"}, "code": ["\\boxed{1}"], "pred": [[1]], "score": [True],
             "gt": {"x": 1}}]  # fmt: skip
    folder = tmp_path / "m" / "aime24_eval" / "aime24"
    path = write_jsonl(folder / "test_p_-1_seed0_t0.0_s0_e-1.jsonl", rows)
    summary = import_outputs([path], aime24, None)
    assert summary.results == () and len(summary.skipped_runs) == 1


# ---------------------------------------------------------------------------------------------------------------
# Terminal controls: text from a model, a file or a server never reaches the terminal as controls, on any surface
# that prints it (show, import, score, leaderboard's table, notes, errors); it is shown as `\x1b`-style escapes.

CONTROLS = [
    pytest.param("\x1b]52;c;ZXZpbA==\x1b\\", id="osc52-writes-the-clipboard"),
    pytest.param("\x1b[2J\x1b[H", id="clears-the-screen"),
    pytest.param("\r\x1b[Kall 30 problems correct", id="forges-a-line"),
    pytest.param("\x1b]8;;http://evil.example/\x1b\\docs\x1b]8;;\x1b\\", id="osc8-hides-a-link"),
    pytest.param("\x9b2J\x9d0;title\x9c", id="c1-csi-and-osc"),
    pytest.param("\x07\x08\x0b\x0c", id="bell-backspace-vt-ff"),
    pytest.param("\x00\x7f\x85", id="nul-del-nel"),
    pytest.param("done\rEVIL", id="bare-cr"),
    pytest.param("\u202egpj.ledom\u202c", id="bidi-override-reverses-a-name"),
    pytest.param("\u2067evil\u2069 \u202b\u202a", id="bidi-isolates-and-embeddings"),
    pytest.param("\ud800", id="lone-surrogate"),
]
ACTED_ON = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("text", CONTROLS)
def test_visible_writes_every_control_as_an_escape(text):
    shown = visible(f"a{text}\tb\r\nc")
    assert not ACTED_ON.search(shown.replace("\r\n", "")), shown
    assert shown.endswith("\tb\r\nc")  # tab, newline and a Windows line end are text
    assert any(escape in shown for escape in ("\\x1b", "\\x9b", "\\x0", "\\x7f", "\\ud800", "\\u202", "\\u206"))


@pytest.mark.parametrize("text", CONTROLS)
def test_the_console_shows_controls_and_markup_from_data_as_text(text):
    stream = io.StringIO()
    console = SafeConsole(file=stream, force_terminal=True, color_system="truecolor", width=200)
    table = Table(title=f"title {text}")
    table.add_column(f"column {text}")
    table.add_row(f"cell {text} [link=http://evil.example/]click[/link] [bold]x[/bold]")
    console.print(table)
    console.print(f"printed {text}", highlight=False)
    console.print(f"[yellow]note:[/yellow] {escape(text)}", markup=True)  # evalkit's own markup still works
    output = stream.getvalue()
    # Only the console's own styling escapes (SGR: ESC [ ... m) may remain; no other control, no link.
    assert not ACTED_ON.search(re.sub("\x1b\\[[0-9;]*m", "", output).replace("\n", "")), repr(output)
    assert "[link=http://evil.example/]click[/link]" in output and "\x1b]8" not in output
    assert "\x1b[33m" in output  # yellow


def test_json_output_escapes_what_json_leaves_raw():
    document = {"text": "é \x1b[2J \x9b2J \x7f \u202e \u2066 \ud800 שלום"}
    line = json_text(document)
    assert not ACTED_ON.search(line) and "é" in line and "שלום" in line
    assert json.loads(line)["text"].startswith("é \x1b[2J \x9b2J \x7f \u202e \u2066")


HOSTILE = "".join(param.values[0] for param in CONTROLS[:-1])  # a lone surrogate cannot be written to a .jsonl


@pytest.fixture(scope="module")
def hostile_outputs(tmp_path_factory):
    """A generations file (its name too) whose model name, responses, source answers and ids carry every control."""
    root = tmp_path_factory.mktemp("controls")
    rows = greedy_rows()
    for row in rows:
        row["model"] = f"org/model{HOSTILE}"
        row["response"] = f"{HOSTILE}\n{row['response']}\n{HOSTILE}"
        row["source_pred"] = f"{row['source_pred']}{HOSTILE}"
    write_jsonl(root / "score" / f"outputs{HOSTILE[:8]}.jsonl", rows)  # its name is printed
    rows.append({**rows[0], "problem_id": f"not-a-problem{HOSTILE}"})  # an unmatched line, quoted in a note
    folder = root / "in"
    write_jsonl(folder / f"outputs{HOSTILE[:8]}.jsonl", rows)
    (folder / f"notes{HOSTILE[:8]}.txt").write_text("no output here")  # a skipped file, named in a note
    return root


SURFACES = {
    "import": lambda root: ["import", str(root / "in"), "--output-dir", str(root / "runs")],
    "show": lambda root: ["show", str(next((root / "runs").iterdir()))],
    "show-problem": lambda root: ["show", str(next((root / "runs").iterdir())), "--problem", "2024-I-1"],
    "leaderboard": lambda root: ["leaderboard", str(root / "runs"), "--out", str(root / "board"), "--no-reported"],
    "score": lambda root: ["score", str(next((root / "score").glob("*.jsonl")))],
    "score-json": lambda root: ["score", str(next((root / "score").glob("*.jsonl"))), "--json"],
    "import-json": lambda root: ["import", str(root / "in"), "--json", "--dry-run"],
    "error": lambda root: ["show", str(root / f"missing{HOSTILE.replace(chr(0), '')}")],  # argv holds no NUL
}


@pytest.mark.parametrize("surface", list(SURFACES))  # in this order: import writes the run the others read
def test_no_surface_prints_a_control_from_data(surface, hostile_outputs, data_env, capsys, monkeypatch):
    monkeypatch.delenv("EVALKIT_DEBUG", raising=False)
    if surface != "import" and not (hostile_outputs / "runs").is_dir():
        _invoke(SURFACES["import"](hostile_outputs), capsys)
    code, out, err = _invoke(SURFACES[surface](hostile_outputs), capsys)
    assert code == (2 if surface == "error" else 0), err
    assert not ACTED_ON.search(out + err), repr([line for line in (out + err).splitlines() if ACTED_ON.search(line)])
    # Shown, not dropped: the user sees what the data holds (as JSON escapes it, for --json; score --json prints
    # only the answers evalkit extracted, none of which holds a control).
    if surface != "score-json":
        assert ("\\u001b]52;c;" if surface.endswith("json") else "\\x1b]52;c;") in out + err


# ---------------------------------------------------------------------------------------------------------------
# Run data in the HTML page's and the samples pages' markup: every attribute built from a run is escaped, and a
# run whose manifest or results hold what evalkit never writes there (an unknown kind, text for a number) is left
# off the leaderboard with a note; the folder's other runs are shown.

XSS = '"><img src=x onerror=alert(1)>'


class Markup(HTMLParser):
    """The tags, attributes and text of a page, as an HTML parser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(attrs)
        self.texts.extend(value for _, value in attrs if value)  # a title or a tooltip shows its text

    def handle_data(self, data):
        self.texts.append(data)


def _edit_json(path: Path, keys: tuple, value) -> None:
    document = json.loads(path.read_text())
    target = document
    for key in keys[:-1]:
        target = target[key] if not isinstance(target, list) else target[int(key)]
    target[keys[-1]] = value
    path.write_text(json.dumps(document))


def _edit_samples(run_dir: Path, field: str, value) -> None:
    for name in ("samples.jsonl", "verdicts.jsonl"):
        lines = [json.loads(line) for line in (run_dir / name).read_text().splitlines()]
        for line in lines:
            if field == "problem_id" and line["problem_id"] == "2024-I-1":
                line["problem_id"] = value
            elif name == "samples.jsonl" and field != "problem_id":
                line[field] = value
        (run_dir / name).write_text("".join(json.dumps(line) + "\n" for line in lines))


@pytest.fixture
def imported_runs(aime24, tmp_path):
    """Two imported runs of real responses; the first is the one each case damages."""
    rows = greedy_rows()
    write_jsonl(tmp_path / "in" / "a.jsonl", [{**r, "model": "org/hostile"} for r in rows])
    write_jsonl(tmp_path / "in" / "b.jsonl", [{**r, "model": "org/fine"} for r in rows])
    summary = import_outputs([tmp_path / "in"], aime24, tmp_path / "runs", family="SFT")
    hostile = next(d for d, r in zip(summary.run_dirs, summary.results) if r.run.model == "org/hostile")
    return tmp_path / "runs", hostile


# (file, where, value): text a run can carry into the page, each in a place the page or a samples page puts it.
ESCAPED = [
    ("manifest.json", ("model",), XSS), ("manifest.json", ("labels", "family"), XSS),
    ("manifest.json", ("labels", "run_name"), XSS), ("manifest.json", ("template", "name"), XSS),
    ("manifest.json", ("origin", "path"), XSS), ("manifest.json", ("origin", "harness"), XSS),
    ("manifest.json", ("findings",), [{"kind": "partial", "message": XSS}]),
    ("manifest.json", ("reported",), {"metric": XSS, "value": 50.0, "file": XSS, "note": ""}),
    ("manifest.json", ("verifier",), XSS), ("samples.jsonl", "problem_id", XSS),
    ("samples.jsonl", "reasoning", f"<script>{XSS}</script>"), ("samples.jsonl", "finish_reason", XSS),
]  # fmt: skip


@pytest.mark.parametrize("file,where,value", ESCAPED)
def test_run_text_in_the_page_and_samples_pages_is_escaped_in_text_and_attributes(
    file, where, value, imported_runs, data_env
):
    root, run_dir = imported_runs
    if file == "samples.jsonl":
        _edit_samples(run_dir, where, value)
        if where == "problem_id":
            _edit_json(run_dir / "results.json", ("metrics", "per_problem", "0", "problem_id"), value)
    else:
        _edit_json(run_dir / file, where, value)
        if where == ("labels", "run_name"):  # a run name is drawn for a checkpoint of a sweep
            _edit_json(run_dir / file, ("checkpoint_step",), 100)
    runs = leaderboard.load_runs([root])
    assert len(runs) == 2
    frame = leaderboard.build(runs, "aime24", include_reported=False)
    publish.write(frame, runs, "aime24", root.parent / "board", ["html"])
    pages = [root.parent / "board" / "aime24.html", *(root.parent / "board" / "aime24-samples").glob("*.html")]
    assert len(pages) == 3
    texts = []
    for page in pages:
        markup = Markup()
        markup.feed(page.read_text())
        # Parsed as a browser parses it: the value is text, never a tag or an attribute of its own.
        assert "img" not in markup.tags and markup.tags.count("script") == 1, page.name
        assert not [a for a in markup.attributes if a[0].startswith("on") or a[0] == "src"], page.name
        texts += markup.texts
    assert any("onerror=alert(1)" in text for text in texts)  # shown as text, not dropped


# (file, where, value, said): a run whose manifest or results are not what evalkit writes, and what the note says.
DAMAGED = [
    ("manifest.json", ("kind",), XSS, "kind is '\"><img"),
    ("manifest.json", ("kind",), "reported", "kind is 'reported'"),
    ("manifest.json", ("model",), ["a"], "model is ['a'], not text"),
    ("manifest.json", ("sampling", "temperature"), "hot", "sampling.temperature is 'hot'"),
    ("manifest.json", ("checkpoint_step",), "120", "checkpoint_step is '120'"),
    ("manifest.json", ("labels",), "SFT", "labels is 'SFT', not an object"),
    ("manifest.json", ("reported",), {"metric": "acc", "value": "50"}, "reported.value is '50'"),
    ("results.json", ("metrics", "avg"), math.nan, "metrics.avg is nan"),
    ("results.json", ("metrics", "per_problem", "0", "solve_rate"), XSS, "solve_rate is '\"><img"),
    ("results.json", ("metrics", "pass_at", "1"), None, "metrics.pass_at.1 is None"),
    ("results.json", ("reported_vs_rescored", "difference"), XSS, "reported_vs_rescored.difference"),
]  # fmt: skip


@pytest.mark.parametrize("file,where,value,said", DAMAGED)
def test_a_run_that_holds_what_evalkit_never_writes_is_left_out_with_a_note(
    file, where, value, said, imported_runs, data_env, capsys, tmp_path
):
    root, run_dir = imported_runs
    _edit_json(run_dir / file, where, value)
    code, out, err = _invoke(["leaderboard", str(root), "--out", str(tmp_path / "board"), "--no-reported"], capsys)
    assert code == 0, err
    (note,) = [line for line in err.splitlines() if line.startswith("note:")]
    assert f"skipped {run_dir}: {run_dir} is damaged" in note and said in note, note
    page = (tmp_path / "board" / "aime24.html").read_text()
    assert "org/fine" in page and "org/hostile" not in page and "<img" not in page
    assert "1 rows (1 imported)" in out


@pytest.mark.parametrize("field,value", [("output_tokens", 12.5), ("output_tokens", -3), ("prompt_tokens", "812"),
                                         ("finish_reason", 7), ("text", None)])  # fmt: skip
def test_a_run_whose_samples_cannot_be_read_keeps_its_row_and_loses_only_its_samples_page(
    field, value, imported_runs, data_env, capsys, tmp_path
):
    # A run imported before counts were checked (an inspect log with float usage) holds such samples.
    root, run_dir = imported_runs
    _edit_samples(run_dir, field, value)
    code, out, err = _invoke(["leaderboard", str(root), "--out", str(tmp_path / "board"), "--no-reported"], capsys)
    assert code == 0, err
    (note,) = [line for line in err.splitlines() if line.startswith("note:")]
    assert f"no samples page for {run_dir}: {run_dir / 'samples.jsonl'}:1 is not a valid record" in note
    assert f"`{field}` must be" in note
    assert "2 rows (2 imported)" in out
    assert len(list((tmp_path / "board" / "aime24-samples").glob("*.html"))) == 1
    code, _, err = _invoke(["show", str(run_dir)], capsys)  # show refuses it in one line naming the line
    assert code == 2 and err.count("\n") == 1 and "samples.jsonl:1 is not a valid record" in err


def test_a_dataset_name_in_a_link_is_quoted_so_it_reads_as_no_scheme(imported_runs, tmp_path):
    root, _ = imported_runs
    runs = leaderboard.load_runs([root])
    links = publish.write_samples_pages(runs, tmp_path / "board", "javascript:alert(1)#x")
    assert {link.split("/", 1)[0] for link in links.values()} == {"javascript%3Aalert%281%29%23x-samples"}
    page = next((tmp_path / "board").rglob("*.html")).read_text()
    assert 'href="../javascript%3Aalert%281%29%23x.html"' in page


def test_the_table_escapes_a_kind_in_its_attributes_even_if_one_got_past_the_check(imported_runs):
    from evalkit.report import html

    root, _ = imported_runs
    frame = leaderboard.build(leaderboard.load_runs([root]), "aime24", include_reported=False)
    frame["kind"] = XSS
    markup = Markup()
    markup.feed(html._table(frame, {}))
    assert "img" not in markup.tags and [value for name, value in markup.attributes if name == "data-kind"] == [XSS] * 2
    assert [value for name, value in markup.attributes if name == "value"] == [XSS]  # the filter's checkbox


# ---------------------------------------------------------------------------------------------------------------
# Train logs (`leaderboard --train-log`): Excel's byte-order mark is read past; values that are no time, text that
# is not UTF-8, a step given twice and hours that go down are refused in one line naming the line; steps of no
# checkpoint (and checkpoints with no line) are said.


@pytest.fixture
def sweep_runs(aime24, tmp_path):
    for step in (10, 20, 30):
        rows = [{**r, "model": f"org/grpo/global_step_{step}"} for r in greedy_rows()]
        write_jsonl(tmp_path / "in" / f"step{step}.jsonl", rows)
    import_outputs([tmp_path / "in"], aime24, tmp_path / "runs")
    return tmp_path / "runs"


def _board(runs: Path, log: Path, capsys) -> tuple[int, str, str]:
    out = runs.parent / "board"
    return _invoke(["leaderboard", str(runs), "--out", str(out), "--no-reported", "--train-log", str(log)], capsys)


TRAIN_LOGS = [
    # (content, error: the words of the one line, or None when the log is read)
    (b"\xef\xbb\xbfstep,hours\r\n10,1\r\n20,2\r\n30,3\r\n", None),
    (b"step,hours,gpu_hours\n10,1,8\n20,nan,16\n30,3,24\n", "log.csv:3: hours 'nan' is not a finite number"),
    (b"step,hours\n10,1\n20,inf\n30,3\n", "log.csv:3: hours 'inf' is not a finite number"),
    (b"step,hours,gpu_hours\n10,1,8\n20,2,1e309\n", "log.csv:3: gpu_hours '1e309' is not a finite number"),
    (b"step,hours\n10,-inf\n", "log.csv:2: hours '-inf' is not a finite number"),
    (b"step,hours\n1e309,1\n", "log.csv:2: step '1e309' is not a finite number"),
    ("run_name,step,hours\nexpérience,10,1\n".encode("latin-1"), "log.csv is not UTF-8 text (byte 23)"),
    ("step,hours\n10,1\n".encode("utf-16"), "log.csv is not UTF-8 text (byte 0)"),
    (b"step,hours\n10,1\n20,2\n10,1.5\n", "log.csv:4: step 10 is given twice (also at"),
    (b"step,hours\n10,1\n20,3\n30,2.5\n", "log.csv:4: hours 2.5 at step 30 is less than 3 at step 20"),
    (b"step,hours,gpu_hours\n20,2,16\n10,1,20\n", "log.csv:2: gpu_hours 16 at step 20 is less than 20 at step 10"),
]


@pytest.mark.parametrize("content,error", TRAIN_LOGS)
def test_train_logs_from_spreadsheets_and_hand_edits(content, error, sweep_runs, data_env, capsys):
    log = sweep_runs.parent / "log.csv"
    log.write_bytes(content)
    code, out, err = _board(sweep_runs, log, capsys)
    if error is None:
        assert code == 0, err
        assert "accuracy against training hours" in (sweep_runs.parent / "board" / "aime24.html").read_text()
    else:
        assert code == 2 and err.count("\n") == 1 and "bug" not in err, err
        assert error in err and "\ufeff" not in err, err


def test_steps_of_no_checkpoint_and_checkpoints_of_no_step_are_said(sweep_runs, data_env, capsys):
    log = sweep_runs.parent / "log.csv"
    log.write_text("step,hours\n10,1\n20,2\n40,4\n50,5\n")
    code, _, err = _board(sweep_runs, log, capsys)
    assert code == 0, err
    (note,) = [line for line in err.splitlines() if line.startswith("note:")]
    assert f"steps 40, 50 of {log} have no checkpoint of org/grpo/global_step_* on the leaderboard" in note
    assert f"checkpoints at steps 30 of org/grpo/global_step_* have no line in {log}" in note
    chart = (sweep_runs.parent / "board" / "aime24.html").read_text().split("accuracy against training hours", 1)[1]
    assert chart.split("</svg>")[0].count("<circle") == 2  # the two checkpoints the log gives hours for


# ---------------------------------------------------------------------------------------------------------------
# JSON nested past the parser's depth (`[[[[…]]]]` thousands deep) is a damaged line or file, said in one line,
# wherever it is read: an output being imported, a generations file being scored, a run's own files.

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("reader", ["import", "score"])
def test_json_nested_thousands_deep_in_a_generations_line(reader, aime24, tmp_path):
    rows = [json.dumps(r) for r in greedy_rows(3)]
    rows[1] = rows[1][:-1] + f', "extra": {DEEP}}}'
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(EvalkitError) as exc:
        import_outputs([path], aime24, None) if reader == "import" else rescore.read_generations(path)
    one_line(exc, f"{path}:2: JSON nested thousands deep")


def test_json_nested_thousands_deep_as_a_first_line_or_a_document(aime24, tmp_path):
    first = tmp_path / "first.jsonl"
    first.write_text(f'{{"problem_id": "2024-I-1", "response": "x", "extra": {DEEP}}}\n')
    with pytest.raises(EvalkitError) as exc:
        import_outputs([first], aime24, None)
    one_line(exc, f"{first}:1: JSON nested thousands deep")
    document = tmp_path / "log.json"
    document.write_text(f'{{"eval": {{}}, "plan": {{}}, "samples": {DEEP}}}')
    with pytest.raises(EvalkitError) as exc:
        import_outputs([document], aime24, None)
    one_line(exc, str(document), "nests JSON deeper than any output")


@pytest.mark.parametrize("name", ["manifest.json", "results.json", "samples.jsonl"])
def test_json_nested_thousands_deep_in_a_run(name, imported_runs, data_env, capsys, tmp_path):
    root, run_dir = imported_runs
    if name == "samples.jsonl":
        lines = (run_dir / name).read_text().splitlines()
        lines[4] = lines[4][:-1] + f', "extra": {DEEP}}}'
        (run_dir / name).write_text("\n".join(lines) + "\n")
    else:
        (run_dir / name).write_text(f'{{"model": "m", "dataset": {DEEP}}}')
    code, out, err = _invoke(["leaderboard", str(root), "--out", str(tmp_path / "board"), "--no-reported"], capsys)
    # A run's own files damaged: left out; its samples damaged: its row stays, without a samples page.
    assert code == 0 and ("2 imported" if name == "samples.jsonl" else "1 imported") in out, err
    (note,) = [line for line in err.splitlines() if line.startswith("note:")]
    assert "nested thousands deep" in note and str(run_dir) in note
    code, _, err = _invoke(["show", str(run_dir)], capsys)
    assert code == 2 and err.count("\n") == 1 and "nested thousands deep" in err, err
