"""Dataset cards, resolution order, pinned downloads, and the one-line errors for bad data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import read_jsonl
from http_fixtures import serve_directory
from mirror import build_mirror

from evalkit.data import datasets as ds
from evalkit.errors import EvalkitError

NAMES = ["aime24", "aime25", "amc23", "math500"]
AIME24_IDS = [f"2024-I-{n}" for n in range(1, 16)] + [f"2024-II-{n}" for n in range(1, 16)]


def locations(tmp_path: Path, data_dir: Path | None = None, mirror: str | None = None) -> ds.DataLocations:
    return ds.DataLocations(data_dir=data_dir, cache_dir=tmp_path / "cache", mirror=mirror)


def test_every_card_is_complete():
    assert ds.card_names() == NAMES
    for card in ds.list_cards():
        assert card.base_url.startswith(ds.GITHUB_RAW) and card.commit in card.base_url
        assert len(card.commit) == 40 and len(card.content_sha256) == 64
        assert card.files and all(len(f.sha256) == 64 for f in card.files)
        assert card.answer_type in ds.ANSWER_TYPES
        assert card.license and card.fields["id"] and card.fields["answer"]
    assert ds.load_card("aime24").answer_type == "aime_integer"
    assert len(ds.load_card("aime25").files) == 32  # 30 problem files + 2 answer sheets


@pytest.mark.parametrize("name", NAMES)
def test_card_content_hash_matches_the_shared_normalized_copy(name, shared_data, tmp_path):
    dataset = ds.load(name, locations(tmp_path, shared_data))
    assert dataset.content_sha256 == ds.load_card(name).content_sha256
    assert len(dataset.problems) == ds.load_card(name).rows
    assert dataset.origin.startswith("data-dir:")


def test_aime24_ids_order_and_integer_answers(shared_data, tmp_path):
    dataset = ds.load("aime24", locations(tmp_path, shared_data))
    assert [p.id for p in dataset.problems] == AIME24_IDS
    assert all(0 <= int(p.answer) <= 999 for p in dataset.problems)
    assert dataset.by_id()["2024-I-2"].answer == "025"  # leading zeros kept as the source writes them
    assert dataset.by_id()["2024-I-8"].answer == "197"


@pytest.mark.parametrize("name", NAMES)
def test_download_checks_hashes_normalizes_and_caches(name, shared_data, tmp_path):
    mirror_root = build_mirror(tmp_path / "mirror", shared_data)
    with serve_directory(mirror_root) as url:
        where = locations(tmp_path, mirror=url)
        dataset = ds.load(name, where)
        assert dataset.origin.startswith("download:")
    expected = ds.load(name, locations(tmp_path / "other", shared_data))
    assert dataset.problems == expected.problems
    cached = ds.cache_path(ds.load_card(name), where)
    assert cached.is_file()
    # The server is gone: the second load comes from the cache.
    again = ds.load(name, where)
    assert again.origin.startswith("cache:") and again.problems == dataset.problems


def test_resolution_prefers_data_dir_then_cache_then_download(shared_data, tmp_path):
    mirror_root = build_mirror(tmp_path / "mirror", shared_data)
    with serve_directory(mirror_root) as url:
        assert ds.load("aime24", locations(tmp_path, shared_data, url)).origin.startswith("data-dir:")
        assert ds.load("aime24", locations(tmp_path, None, url)).origin.startswith("download:")
    assert ds.load("aime24", locations(tmp_path, None, "http://127.0.0.1:9")).origin.startswith("cache:")


def test_hash_mismatch_is_refused_and_not_cached(shared_data, tmp_path):
    mirror_root = build_mirror(tmp_path / "mirror", shared_data)
    card = ds.load_card("aime24")
    target = mirror_root / card.base_url[len(ds.GITHUB_RAW) :] / card.files[0].path
    target.write_bytes(target.read_bytes().replace(b'"answer":"204"', b'"answer":"205"'))
    with serve_directory(mirror_root) as url:
        where = locations(tmp_path, mirror=url)
        with pytest.raises(EvalkitError, match="sha256.*not used or cached"):
            ds.load("aime24", where)
    assert not ds.cache_path(card, where).exists()
    assert not any((tmp_path / "cache").rglob("*.jsonl"))


def test_download_failure_is_one_clear_error(tmp_path):
    with serve_directory(tmp_path) as url, pytest.raises(EvalkitError, match="HTTP 404"):
        ds.load("amc23", locations(tmp_path, mirror=url))


def test_no_download_when_not_allowed(tmp_path):
    with pytest.raises(EvalkitError, match="datasets pull aime24"):
        ds.load("aime24", locations(tmp_path), allow_download=False)


def test_tampered_data_dir_copy_is_refused(shared_data, tmp_path):
    rows = read_jsonl(shared_data / "aime24.jsonl")
    rows[0]["problem"] += " "
    (tmp_path / "aime24.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(EvalkitError, match="does not hold the pinned aime24 problems"):
        ds.load("aime24", locations(tmp_path, tmp_path))


def test_corrupt_cache_is_refused_with_the_fix(shared_data, tmp_path):
    where = locations(tmp_path)
    card = ds.load_card("amc23")
    path = ds.cache_path(card, where)
    path.parent.mkdir(parents=True)
    rows = read_jsonl(shared_data / "amc23.jsonl")[:-1]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(EvalkitError, match="delete it and run `evalkit datasets pull amc23`"):
        ds.load("amc23", where)


def test_unknown_name_lists_known_ones(tmp_path):
    with pytest.raises(EvalkitError, match="unknown dataset 'aime2024'.*aime24, aime25, amc23, math500"):
        ds.load("aime2024", locations(tmp_path))


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_custom_jsonl_works_like_a_name(tmp_path):
    path = write_jsonl(
        tmp_path / "mine.jsonl",
        [
            json.dumps({"id": "a", "problem": "1+1?", "answer": "2"}),
            json.dumps({"id": 7, "problem": "x", "answer": 3}),
        ],
    )
    dataset = ds.load(str(path), locations(tmp_path))
    assert dataset.name == "mine" and [p.id for p in dataset.problems] == ["a", "7"]
    assert dataset.problems[1].answer == "3" and dataset.origin.startswith("file:")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['{"id": "a", "problem": "p", "answer": "1"}', '{"id": "b", "problem": "p", "answer": '],
            r"bad\.jsonl:2: malformed JSON",
        ),
        (
            ['{"id": "a", "problem": "p", "answer": "1"}', '{"id": "a", "problem": "q", "answer": "2"}'],
            "duplicate id 'a' in line 1 and line 2",
        ),
        (['{"id": "a", "problem": "p"}'], "line 1 has no 'answer'"),
        (["", '{"id": "a", "problem": "p", "answer": "  "}'], "line 2 has no 'answer'"),  # lines of the file, blank too
        (['{"id": "a", "answer": "1"}'], "line 1 has no 'problem'"),
        (["[1, 2]"], "expected a JSON object"),
        ([""], "no problems"),
    ],
)
def test_bad_custom_files_get_one_clear_line(tmp_path, lines, message):
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    with pytest.raises(EvalkitError, match=message):
        ds.load(str(path), locations(tmp_path))


def test_missing_custom_file(tmp_path):
    with pytest.raises(EvalkitError, match="does not exist"):
        ds.load(str(tmp_path / "nope.jsonl"), locations(tmp_path))


@pytest.mark.parametrize(
    ("answer", "message"),
    [("1000", "outside 0-999"), ("12.5", "not an integer"), ("x", "not an integer"), ("-3", "outside 0-999")],
)
def test_aime_answers_must_be_integers_0_to_999(shared_data, tmp_path, answer, message):
    rows = read_jsonl(shared_data / "aime24.jsonl")
    rows[4]["answer"] = answer
    (tmp_path / "aime24.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(EvalkitError, match=f"line 5 \\(id '2024-I-5'\\).*{message}"):
        ds.load("aime24", locations(tmp_path, tmp_path))


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, env=env, timeout=120
    )


def cli_env(tmp_path: Path, **extra: str) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALKIT_")}
    env["EVALKIT_CACHE_DIR"] = str(tmp_path / "cache")
    env.update(extra)
    return env


def test_cli_datasets_list_show_pull(shared_data, tmp_path):
    env = cli_env(tmp_path)
    listed = run_cli("datasets", "list", env=env)
    assert listed.returncode == 0
    for name in NAMES:
        assert name in listed.stdout
    shown = run_cli("datasets", "show", "aime24", env=env)
    assert shown.returncode == 0
    assert "af2b8bd2aa911b6333ad0df32f3ca05c7ae8ed10f1731f4372c8ae26990bf7ac" in shown.stdout
    assert "not downloaded" in shown.stdout
    with serve_directory(build_mirror(tmp_path / "mirror", shared_data)) as url:
        pulled = run_cli("datasets", "pull", "aime24", env=cli_env(tmp_path, EVALKIT_DATASET_MIRROR=url))
    assert pulled.returncode == 0, pulled.stderr
    assert "30 problems" in pulled.stdout
    assert "present" in run_cli("datasets", "show", "aime24", env=env).stdout


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    result = run_cli("datasets", "show", "nope", env=cli_env(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "unknown dataset 'nope'" in result.stderr
