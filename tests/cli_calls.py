"""`evalkit` called in process as a user calls it: through `cli.main`, its exit code and what it printed."""

from __future__ import annotations

import sys

from evalkit import cli


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `evalkit ARGV`, through main's own error handling (one-line errors, codes)."""
    saved = sys.argv
    sys.argv = ["evalkit", *argv]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    captured = capsys.readouterr()
    return code, captured.out, captured.err
