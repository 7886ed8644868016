"""The user documentation (README.md and docs/) holds together: every sentence a test quotes from it is still in it,
every link inside it resolves, every docs file is reachable from the README, and the README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# `# README: "..."` (or `README (where): "..."`, or `docs/x.md: "..."`) in a test names the documented sentence the
# test pins. The quote ends at a `"` followed by punctuation or the end of the text; `...` leaves words out.
_QUOTE = re.compile(r'(?:README|docs/[\w-]+\.md)(?: \([^)"]*\))?: "')
_QUOTE_END = re.compile(r'"(?=[.,;:)]{0,2}(?:\s|$))')


def _normal(text: str) -> str:
    """Text as a quote may give it: markdown emphasis, line breaks, continuation backslashes and typography aside."""
    text = re.sub(r"\\\n", " ", text)  # a shell line continuation inside a code block
    for fancy, plain in (("…", "..."), ("≤", "<="), ("−", "-"), ("**", "")):
        text = text.replace(fancy, plain)
    return re.sub(r"\s+", " ", text).strip().lower()  # a quote may start a sentence the docs continue


def _comment_text(source: str, start: int) -> str:
    """The rest of a comment (or docstring) block from `start`: following `#` lines joined, their markers dropped."""
    lines = source[start:].split("\n")
    text = [lines[0]]
    for line in lines[1:]:
        stripped = line.strip()
        if not stripped.startswith("#"):
            if lines[0].lstrip().startswith("#") or not stripped:
                break
            text.append(stripped)  # a docstring goes on without markers
            continue
        text.append(stripped.lstrip("#").strip())
    return " ".join(text)


def quotes() -> list[tuple[str, str]]:
    """Every (where, quoted text) a test gives as a quote from the documentation."""
    found = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        if path.name == Path(__file__).name:  # its own examples are not quotes
            continue
        source = path.read_text(encoding="utf-8")
        for match in _QUOTE.finditer(source):
            text = _comment_text(source, match.end())
            end = _QUOTE_END.search(text)
            if end is None:
                continue
            line = source.count("\n", 0, match.start()) + 1
            found.append((f"{path.name}:{line}", text[: end.start()]))
    return found


def test_every_sentence_a_test_quotes_from_the_docs_is_in_them():
    documentation = _normal("\n".join(path.read_text(encoding="utf-8") for path in DOCS))
    found = quotes()
    assert len(found) >= 60  # the convention is in use: a parser that finds nothing would pass anything
    missing = []
    for where, quote in found:
        for part in re.split(r"\.\.\.|…", quote):
            part = _normal(part).strip(" ,;.")
            if len(part) > 3 and part not in documentation:
                missing.append(f"{where}: {part!r}")
    assert missing == [], "quoted in tests but not in README.md or docs/:\n" + "\n".join(missing)


def test_a_quote_that_is_not_in_the_docs_is_found():
    documentation = _normal((ROOT / "docs" / "runs.md").read_text(encoding="utf-8"))
    assert _normal("Every line is flushed\nbefore the next completion is awaited") in documentation
    assert _normal("Every line is flushed before the next completion is forgotten") not in documentation
    source = '    # README: "a **bold** claim ... and more".\n    # not part of it\n'
    assert _QUOTE_END.search(_comment_text(source, _QUOTE.search(source).end())).start() == len(
        "a **bold** claim ... and more"
    )


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_link_inside_the_docs_resolves(path):
    text = path.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", re.sub(r"```.*?```", "", text, flags=re.S))
    for link in links:
        if re.match(r"[a-z]+://", link):
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        assert file.exists(), f"{path.name}: {link} points at nothing"
        if anchor and file.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.M)
            assert anchor in {_slug(h) for h in headings}, f"{path.name}: no heading for #{anchor} in {file.name}"


def test_the_readme_is_short_and_links_every_docs_file():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300  # a README a user reads in five minutes; the depth is in docs/
    for path in DOCS[1:]:
        assert f"](docs/{path.name}" in readme, f"the README does not link docs/{path.name}"
    # The two commands newcomers and CI run, and the markers `evalkit leaderboard --readme` fills.
    assert "make demo" in readme and "make test" in readme
    assert readme.count("<!-- leaderboard:start -->") == readme.count("<!-- leaderboard:end -->") == 1
