"""The leaderboard as text (evalkit/report/tables.py), cell by cell: how numbers, intervals, reported values and
differences are written, the columns' alignment, which rows the reported-vs-re-scored table keeps, and the README
section it fills."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evalkit.errors import EvalkitError
from evalkit.report import tables


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


MEASURED = {
    "model": "org/m", "family": "GRPO", "kind": "measured", "avg": 43.33333, "avg_ci_low": 30.0, "avg_ci_high": 56.7,
    "n": 16.0, "pass@1": 43.3, "maj": 50.0, "temperature": 0.6, "top_p": 0.95, "max_tokens": 32768.0,
    "template": "r1", "verifier": "math", "truncated": 0.05, "reported": 45.0, "reported_metric": "avg@16",
    "difference": -1.666, "step": 120.0, "notes": "two\\nlines",
}  # fmt: skip
REPORTED = {"model": "paper/m", "kind": "reported", "avg": 50.0, "n": 32.0, "reported": 50.0,
            "reported_metric": "avg@32", "difference": math.nan, "temperature": 1.0}  # fmt: skip
IMPORTED_WITHOUT_REPORT = {"model": "imp/m", "kind": "imported", "avg": 20.0, "n": 1.0, "reported": None,
                           "reported_metric": None, "difference": None, "temperature": 0.0}  # fmt: skip


def test_cells_as_people_read_them():
    (cells,) = tables.display_rows(frame(MEASURED))
    assert cells["avg"] == "43.3" and cells["ci"] == "30.0–56.7" and cells["n"] == "16"
    assert cells["max_tokens"] == "32768" and cells["step"] == "120" and cells["temperature"] == "0.6"
    assert cells["truncated"] == "0.05"  # small values keep their digits
    assert cells["reported_text"] == "45.0 (avg@16)" and cells["difference"] == "-1.7"
    (reported,) = tables.display_rows(frame(REPORTED))
    assert reported["reported_text"] == "avg@32" and reported["difference"] == "" and reported["ci"] == ""
    without_metric = tables.display_rows(frame(REPORTED, {**REPORTED, "reported_metric": None}))[1]
    assert without_metric["reported_text"] == ""  # pandas makes the missing text NaN: still no text
    (plain,) = tables.display_rows(frame(IMPORTED_WITHOUT_REPORT))
    assert plain["reported_text"] == "" and plain["difference"] == "" and plain["temperature"] == "0.0"
    positive = tables.display_rows(frame({**MEASURED, "difference": 2.04}))[0]["difference"]
    assert positive == "+2.0"


@pytest.mark.parametrize(
    ("value", "key", "text"),
    [(None, "", ""), (math.nan, "", ""), (0.0, "", "0.0"), (1.0, "", "1.0"), (0.25, "", "0.25"), (-3.26, "", "-3.3"),
     (12.0, "n", "12"), (12.5, "n", "12.5"), ("text", "", "text"), (7, "", "7")],
)  # fmt: skip
def test_one_cell(value, key, text):
    assert tables._cell(value, key) == text


def test_markdown_columns_are_aligned_by_kind_and_rows_escaped():
    text = tables.to_markdown(frame(MEASURED), [("model", "model"), ("avg@n", "avg"), ("notes", "notes")])
    header, rule, row = text.splitlines()
    assert header == "| model | avg@n | notes |" and rule == "|---|---:|---|"
    assert row == "| org/m | 43.3 | two\\nlines |" and text.endswith("\n")


def test_reported_vs_rescored_keeps_rows_with_both_numbers():
    text = tables.reported_vs_rescored_markdown(frame(MEASURED, REPORTED, IMPORTED_WITHOUT_REPORT))
    lines = text.splitlines()
    assert lines[0] == "| model | kind | reported as | reported | evalkit | Δ | notes |"
    assert lines[1] == "|---|---|---|---:|---:|---:|---|"
    assert lines[2:] == ["| org/m | measured | avg@16 | 45.0 | 43.3 | -1.7 | two\\nlines |"]
    assert tables.reported_vs_rescored_markdown(frame(REPORTED, IMPORTED_WITHOUT_REPORT)) == ""


def _checkpoint(step, avg, low, high, **known):
    from pathlib import Path

    from evalkit.report.leaderboard import Checkpoint, RunRecord

    fields = dict(n=4, pass_at={}, maj_at={4: 50.0}, mean_output_tokens=None, mean_response_chars=None, truncated=None,
                  language_mixed=None, language_judged=0, written_at=None)  # fmt: skip
    return Checkpoint("run|a", step, RunRecord(Path("r"), {}, {}), avg=avg, ci_low=low, ci_high=high,
                      **{**fields, **known})  # fmt: skip


def test_sweeps_as_a_table():
    from evalkit.report.training import Timeline

    assert tables.sweep_markdown({}) == ""
    curves = {"run|a": [_checkpoint(10, 20.04, 10.0, 30.06),
                        _checkpoint(20, 25.0, 15.0, 35.0, mean_output_tokens=1234.4, truncated=12.5,
                                    language_mixed=3.125, language_judged=32)]}  # fmt: skip
    assert tables.sweep_markdown(curves).splitlines() == [
        "| training run | step | avg@n | 95% CI | n | maj@n | hours | mean out tokens | truncated % | lang-mixed % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| run\\|a | 10 | 20.0 | 10.0–30.1 | 4 | 50.0 |  |  |  |  |",
        "| run\\|a | 20 | 25.0 | 15.0–35.0 | 4 | 50.0 |  | 1234 | 12.5 | 3.1 |",
    ]  # fmt: skip
    timed = tables.sweep_markdown(curves, {"run|a": Timeline({20: 1.5}, {}, "train log")})
    assert timed.splitlines()[3].startswith("| run\\|a | 20 | 25.0 | 15.0–35.0 | 4 | 50.0 | 1.50 | 1234 |")
    assert timed.splitlines()[2].startswith("| run\\|a | 10 | 20.0 | 10.0–30.1 | 4 | 50.0 |  |")


def test_the_readme_section_is_replaced_between_its_markers_only(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n{tables.README_START}\nold\n{tables.README_END}\nafter\n")
    tables.update_readme(readme, frame(MEASURED, REPORTED), "aime24")
    text = readme.read_text()
    head, rest = text.split(tables.README_START)
    body, tail = rest.split(tables.README_END)
    assert head == "# Title\n\nbefore\n" and tail == "\nafter\n" and "old" not in body
    assert body.startswith("\naime24, generated by `make leaderboards`: 2 rows (1 measured, 1 reported).\nThe 1 best")
    assert "[leaderboards/aime24.md](leaderboards/aime24.md)" in body  # the tables beside the README by default
    table = [line for line in body.splitlines() if line.startswith("|")]
    assert table[0].startswith("| model | family | kind | avg@n |") and table[2].startswith("| org/m | GRPO |")
    assert len(table) == 3  # the paper's number is in the full table, not among the rows evalkit scored
    assert body.endswith(
        "\nReported vs re-scored: 1 row evalkit scored also carries a reported number (a paper's, or the source "
        "harness's own);\nevalkit's number differs from the reported one by 1.7 points.\n"
    )
    assert "Accuracy along training" not in body  # no runs given: no sweep lines
    same = tables.readme_section(frame({**MEASURED, "difference": 0.04}), "aime24")
    assert same.endswith("carries a reported number (a paper's, or the source harness's own);\n"
                         "evalkit's number matches the reported one.\n")  # fmt: skip
    assert [title for title, _ in tables.README_COLUMNS][:5] == ["model", "family", "kind", "avg@n", "95% CI"]
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers")
    with pytest.raises(EvalkitError, match="has no <!-- leaderboard:start --> ... <!-- leaderboard:end --> section"):
        tables.update_readme(plain, frame(MEASURED), "aime24")
    with pytest.raises(EvalkitError, match="cannot read --readme"):
        tables.update_readme(tmp_path / "missing.md", frame(MEASURED), "aime24")


def test_csv_is_the_frame_as_it_is():
    text = tables.to_csv(frame(MEASURED))
    assert text.splitlines()[0] == ",".join(MEASURED) and "org/m,GRPO,measured,43.33333," in text


def test_the_readme_section_when_the_markers_appear_again_or_only_one_is_there(tmp_path):
    readme = tmp_path / "README.md"
    later = f"\nLater the markers are quoted: `{tables.README_START}` and `{tables.README_END}`.\n"
    readme.write_text(f"intro\n{tables.README_START}\nold\n{tables.README_END}{later}")
    tables.update_readme(readme, frame(MEASURED), "aime24")
    text = readme.read_text()
    assert text.startswith(f"intro\n{tables.README_START}\naime24, generated by") and text.endswith(
        f"{tables.README_END}{later}"
    )  # fmt: skip
    header = "| " + " | ".join(title for title, _ in tables.README_COLUMNS) + " |"
    assert header in text and "template sha" not in text  # the README's shorter set of columns
    for only in (tables.README_START, tables.README_END):
        readme.write_text(f"intro\n{only}\n")
        with pytest.raises(EvalkitError, match="section to fill"):
            tables.update_readme(readme, frame(MEASURED), "aime24")


def test_a_column_a_row_lacks_is_an_empty_cell():
    text = tables.to_markdown(frame(REPORTED), [("model", "model"), ("pass@32", "pass@32")])
    assert text.splitlines()[2] == "| paper/m |  |"


def test_reported_vs_rescored_from_a_frame_without_a_notes_column():
    bare = {k: v for k, v in MEASURED.items() if k != "notes"}
    (line,) = tables.reported_vs_rescored_markdown(frame(bare)).splitlines()[2:]
    assert line == "| org/m | measured | avg@16 | 45.0 | 43.3 | -1.7 |  |"


def test_the_readme_shows_the_best_rows_evalkit_scored_and_links_the_rest(tmp_path):
    rows = [
        {**MEASURED, "model": f"org/m{i}", "avg": float(i), "difference": 0.0} for i in range(tables.README_ROWS + 3)
    ]
    readme = tmp_path / "docs" / "README.md"
    readme.parent.mkdir()
    readme.write_text(f"{tables.README_START}\n{tables.README_END}\n")
    tables.update_readme(readme, frame(REPORTED, *rows, IMPORTED_WITHOUT_REPORT), "aime24", (), tmp_path / "out")
    text = readme.read_text()
    assert f"{len(rows) + 2} rows ({len(rows)} measured, 1 reported, 1 imported)" in text
    assert "[../out/aime24.md](../out/aime24.md)" in text and "[../out/aime24.html](../out/aime24.html)" in text
    shown = [line.split(" | ")[0][2:] for line in text.splitlines() if line.startswith("| org/") or "imp/" in line]
    # Best first whatever the kind (the imported row has 20.0), README_ROWS of them; the paper's 50.0 is left out.
    assert shown == ["imp/m"] + [f"org/m{i}" for i in range(len(rows) - 1, len(rows) - tables.README_ROWS, -1)]
    assert f"{len(rows)} rows evalkit scored also carry a reported number" in text
    assert (
        "(a paper's, or the source harness's own);\nevalkit's number matches the reported one on every one of them."
        in text
    )
    # A difference counts once the table shows it (0.05 rounds to 0.1); below that it reads +0.0.
    nudged = [{**rows[0], "difference": 0.05}, {**rows[1], "difference": -0.049}, *rows[2:]]
    tables.update_readme(readme, frame(*nudged), "aime24", (), tmp_path / "out")
    assert "differs from the reported one on 1 of them, by at most 0.1 points." in readme.read_text()
    only_papers = tmp_path / "PAPERS.md"
    only_papers.write_text(f"{tables.README_START}\n{tables.README_END}\n")
    tables.update_readme(only_papers, frame(REPORTED), "aime24")
    assert "The 1 best published numbers are below" in only_papers.read_text()
    assert "| paper/m |" in only_papers.read_text() and "Reported vs re-scored" not in only_papers.read_text()


def test_each_training_run_is_one_line_in_the_readme(monkeypatch):
    from types import SimpleNamespace

    from evalkit.report import leaderboard

    sweeps = {"grpo/global_step_*": [(10, 20.0, 10.0, 30.0), (20, 33.3, 20.0, 46.7), (30, 30.0, 16.7, 43.3)]}
    monkeypatch.setattr(leaderboard, "sweep_rows", lambda runs, dataset: sweeps)
    text = tables.readme_section(frame(MEASURED), "aime24", [SimpleNamespace()])
    assert text.endswith(
        "\nAccuracy along training:\n\n- `grpo/global_step_*`: 3 checkpoints, steps 10–30, avg@n 20.0–33.3 (best 33.3 "
        "at step 20)\n"
    )
