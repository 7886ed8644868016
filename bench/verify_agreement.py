"""Agreement with Math-Verify's own test tables: evalkit's verdicts against the verdicts its tests expect.

Usage: python bench/verify_agreement.py PATH/TO/Math-Verify [--baseline] [--show-misses]

Math-Verify is not shipped with evalkit: fetch a checkout yourself (git clone
https://github.com/huggingface/Math-Verify). Its test modules are imported from the checkout and every
`@pytest.mark.parametrize` table with gold, prediction and expected verdict columns is read from the test
functions' marks, so nothing of Math-Verify is copied here. Each row is checked with `evalkit.verify` (the
prediction as the response, the gold as the gold; `check_many`, default rule set) and, with --baseline, with a
plain `math_verify.parse` + `verify` at its defaults.

Rows whose table sets a non-default option (float precision, strict=False, allow_set_relation_comp=True) state
what Math-Verify does under that option, not what a careful grader expects by default: they are counted
apart. Integer-gold rows (the gold, stripped of `$`, is an integer literal) are counted apart too.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from evalkit.verify import Verifier

# Options whose non-default value changes what a row expects; the defaults are Math-Verify's (and evalkit's).
_DEFAULTS = {"precision": 6, "strict": True, "allow_set_relation_comp": False, "match_types": None}
_GOLD_NAMES = ("gold",)
_PRED_NAMES = ("pred", "prediction", "answer")
_EXPECTED_NAMES = ("expected", "result")
_INTEGER = re.compile(r"^\$*\s*[-+]?\d+\s*\$*$")


@dataclass(frozen=True)
class Row:
    source: str
    gold: str
    prediction: str
    expected: bool
    options: dict

    @property
    def default_settings(self) -> bool:
        return all(self.options.get(name, value) == value for name, value in _DEFAULTS.items() if name in self.options)

    @property
    def integer_gold(self) -> bool:
        return bool(_INTEGER.match(self.gold.strip()))


def _load_module(path: Path, root: Path):
    name = "mv_tests_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # the test modules import each other as `tests.test_all`
    spec.loader.exec_module(module)
    return module


def _column(argnames: list[str], candidates: tuple[str, ...]) -> int | None:
    return next((argnames.index(name) for name in candidates if name in argnames), None)


def _fixed_options(function) -> dict:
    """Options a test passes to its comparison as literals (e.g. `precision=5`, `match_types=["latex"]`)."""
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return {}
    options = {}
    for name in ("precision", "strict", "allow_set_relation_comp"):
        match = re.search(rf"\b{name}\s*=\s*(True|False|\d+)\b", source)
        if match:
            value = match.group(1)
            options[name] = value == "True" if value in ("True", "False") else int(value)
    return options


def collect_rows(checkout: Path) -> list[Row]:
    """Every (gold, prediction, expected) row of the parametrized tables in the checkout's tests/."""
    rows: list[Row] = []
    for path in sorted((checkout / "tests").glob("test_*.py")):
        try:
            module = _load_module(path, checkout)
        except Exception as exc:  # a test module that needs extras we lack is reported, not fatal
            print(f"skipped {path.name}: {type(exc).__name__}: {exc}")
            continue
        for name, function in vars(module).items():
            if not name.startswith("test_") or not callable(function):
                continue
            fixed = _fixed_options(function)
            for mark in getattr(function, "pytestmark", []):
                if mark.name != "parametrize":
                    continue
                argnames = [
                    a.strip() for a in (mark.args[0].split(",") if isinstance(mark.args[0], str) else mark.args[0])
                ]
                gold_at, pred_at = _column(argnames, _GOLD_NAMES), _column(argnames, _PRED_NAMES)
                expected_at = _column(argnames, _EXPECTED_NAMES)
                if gold_at is None or pred_at is None or expected_at is None:
                    continue
                for values in mark.args[1]:
                    values = getattr(values, "values", values)  # pytest.param(...)
                    options = dict(fixed)
                    options.update({a: v for a, v in zip(argnames, values) if a in _DEFAULTS})
                    rows.append(
                        Row(
                            f"{path.stem}::{name}",
                            str(values[gold_at]),
                            str(values[pred_at]),
                            bool(values[expected_at]),
                            options,
                        )
                    )
    return rows


def plain_math_verify(rows: list[Row]) -> list[bool]:
    from math_verify import parse, verify

    verdicts = []
    for row in rows:
        try:
            verdicts.append(bool(verify(parse(row.gold), parse(row.prediction))))
        except Exception:
            verdicts.append(False)
    return verdicts


def _summary(label: str, rows: list[Row], verdicts: list[bool]) -> str:
    agree = sum(v == r.expected for r, v in zip(rows, verdicts))
    share = 100 * agree / len(rows) if rows else 0.0
    return f"{label:<44} {agree:4d} / {len(rows):4d}  ({share:5.1f}%)"


def main() -> None:
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", type=Path, help="a Math-Verify checkout (its tests/ folder is read)")
    parser.add_argument("--baseline", action="store_true", help="also score a plain math_verify parse+verify")
    parser.add_argument("--show-misses", action="store_true", help="print every row evalkit disagrees on")
    args = parser.parse_args()
    if not (args.checkout / "tests").is_dir():
        parser.error(f"{args.checkout} has no tests/ folder; pass the root of a Math-Verify checkout")

    rows = collect_rows(args.checkout)
    default = [r for r in rows if r.default_settings]
    start = time.perf_counter()
    with Verifier() as verifier:
        verdicts = verifier.check_many([(r.prediction, r.gold) for r in rows])
    seconds = time.perf_counter() - start
    ours = [v.correct for v in verdicts]
    by_row = dict(zip(map(id, rows), ours))

    print(f"{len(rows)} rows from {len({r.source for r in rows})} tables in {args.checkout}; evalkit {seconds:.1f} s")
    print(_summary("evalkit, rows at default settings", default, [by_row[id(r)] for r in default]))
    integer = [r for r in default if r.integer_gold]
    print(_summary("evalkit, integer-gold rows", integer, [by_row[id(r)] for r in integer]))
    other = [r for r in rows if not r.default_settings]
    print(_summary("evalkit, rows with non-default options", other, [by_row[id(r)] for r in other]))
    print(_summary("evalkit, all rows", rows, ours))
    if args.baseline:
        theirs = plain_math_verify(rows)
        theirs_by_row = dict(zip(map(id, rows), theirs))
        print(
            _summary("math-verify defaults, rows at default settings", default, [theirs_by_row[id(r)] for r in default])
        )
        print(_summary("math-verify defaults, all rows", rows, theirs))
    if args.show_misses:
        for row, verdict in zip(rows, verdicts):
            if verdict.correct != row.expected:
                options = "" if row.default_settings else f" options={row.options}"
                print(f"\n-- {row.source}{options}: expected {row.expected}, evalkit {verdict.correct}")
                print(f"   gold {row.gold[:200]!r}")
                print(f"   pred ...{row.prediction[-300:]!r}")
                print(f"   extracted {verdict.extracted!r} by {verdict.found_by}, rule {verdict.rule}")
                if verdict.error:
                    print(f"   error {verdict.error}")


if __name__ == "__main__":
    main()
