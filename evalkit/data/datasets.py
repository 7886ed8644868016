"""Dataset cards, and loading problems from a local file, a data directory, the cache or a pinned download."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import EvalkitError

GITHUB_RAW = "https://raw.githubusercontent.com/"
ANSWER_TYPES = ("aime_integer", "integer", "any")
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class Problem:
    """One problem: its id, the question shown to the model, and the gold answer as the source writes it."""

    id: str
    question: str
    answer: str
    dataset: str


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str


@dataclass(frozen=True)
class DatasetCard:
    """What `datasets/NAME.toml` says: where the bytes live, their hashes, and how rows map to problems."""

    name: str
    title: str
    answer_type: str
    rows: int
    license: str
    content_sha256: str
    base_url: str
    repository: str
    commit: str
    normalizer: str
    files: tuple[SourceFile, ...]
    fields: Mapping[str, str]
    notes: str

    def file_url(self, file: SourceFile, mirror: str | None = None) -> str:
        url = self.base_url + file.path
        if mirror and url.startswith(GITHUB_RAW):
            url = mirror.rstrip("/") + "/" + url[len(GITHUB_RAW) :]
        return url

    @property
    def source_sha256(self) -> dict[str, str]:
        return {f.path: f.sha256 for f in self.files}


@dataclass(frozen=True)
class Dataset:
    """Problems ready to evaluate, with where they came from and a fingerprint of their content."""

    name: str
    problems: tuple[Problem, ...]
    answer_type: str
    content_sha256: str
    origin: str
    source_sha256: Mapping[str, str]

    def select(self, limit: int | None) -> Dataset:
        if limit is None or limit >= len(self.problems):
            return self
        if limit < 1:
            raise EvalkitError(f"--limit must be at least 1, got {limit}")
        return Dataset(
            self.name,
            self.problems[:limit],
            self.answer_type,
            self.content_sha256,
            self.origin,
            self.source_sha256,
        )

    def by_id(self) -> dict[str, Problem]:
        return {p.id: p for p in self.problems}


@dataclass(frozen=True)
class DataLocations:
    """Where datasets are looked for besides the cards: a data directory, the cache, a download mirror."""

    data_dir: Path | None
    cache_dir: Path
    mirror: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DataLocations:
        env = os.environ if environ is None else environ
        data_dir = Path(env["EVALKIT_DATA_DIR"]) if env.get("EVALKIT_DATA_DIR") else None
        if env.get("EVALKIT_CACHE_DIR"):
            cache = Path(env["EVALKIT_CACHE_DIR"])
        else:
            cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "evalkit"
        return cls(data_dir=data_dir, cache_dir=cache, mirror=env.get("EVALKIT_DATASET_MIRROR") or None)


def cards_dir() -> Path:
    """The folder holding the dataset cards: inside the installed wheel, or `datasets/` in a source checkout."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "_cards"
    if packaged.is_dir():
        return packaged
    return package.parent / "datasets"


def card_names() -> list[str]:
    return sorted(p.stem for p in cards_dir().glob("*.toml"))


def load_card(name: str) -> DatasetCard:
    path = cards_dir() / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(card_names())
        raise EvalkitError(f"unknown dataset {name!r}; known datasets: {known} (or pass a .jsonl file)")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    source = raw["source"]
    return DatasetCard(
        name=raw["name"],
        title=raw["title"],
        answer_type=raw["answer_type"],
        rows=int(raw["rows"]),
        license=raw["license"],
        content_sha256=raw["content_sha256"],
        base_url=source["base_url"],
        repository=source["repository"],
        commit=source["commit"],
        normalizer=source["normalizer"],
        files=tuple(SourceFile(f["path"], f["sha256"]) for f in source["files"]),
        fields=dict(raw.get("fields", {})),
        notes=source.get("notes", ""),
    )


def list_cards() -> list[DatasetCard]:
    return [load_card(n) for n in card_names()]


def content_sha256(problems: tuple[Problem, ...] | list[Problem]) -> str:
    """A fingerprint of what a score depends on: ids, question texts and answers, in order."""
    digest = hashlib.sha256()
    for p in problems:
        digest.update(json.dumps([p.id, p.question, p.answer], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Reading normalized JSONL (the cache format, EVALKIT_DATA_DIR files and custom datasets)


def read_utf8(path: Path, what: str) -> str:
    """A text file's content, or one line saying why it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EvalkitError(f"{path} is not UTF-8 text (byte {exc.start}); {what} must be UTF-8 JSONL") from None
    except IsADirectoryError:
        raise EvalkitError(f"{path} is a folder; give {what} as a file") from None
    except FileNotFoundError:
        raise EvalkitError(f"{path} does not exist") from None
    except OSError as exc:
        raise EvalkitError(f"cannot read {path}: {exc.strerror}") from None


def jsonl_objects(text: str, where: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-empty JSONL line; anything else is one error naming the line."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalkitError(f"{where}:{number}: malformed JSON ({exc.msg}); fix or remove that line") from None
        except RecursionError:
            raise EvalkitError(f"{where}:{number}: JSON nested thousands deep; fix or remove that line") from None
        if not isinstance(row, dict):
            raise EvalkitError(f"{where}:{number}: expected a JSON object, got {type(row).__name__}")
        yield number, row


def parse_jsonl_rows(text: str, where: str) -> list[dict]:
    return [row for _, row in jsonl_objects(text, where)]


def problems_from_rows(
    rows: list[dict], dataset: str, answer_type: str, where: str, lines: list[int] | None = None
) -> tuple[Problem, ...]:
    """Problems from rows with `id`, `problem` and `answer`; `lines` are the rows' line numbers in the file `where`
    (else rows are named by their position).

    `problem` must be text and `answer` text or an integer (42 is taken as "42"); `id` text or an integer. A number
    where text belongs, a list, an object or a boolean is refused naming the line and field: str() would make a
    question or gold answer out of it without a word ("[1, 2]", "True"), and a float answer's digits are not the
    ones the file wrote (1.50 reads back as 1.5, 1e3 as 1000.0).
    """
    problems = []
    seen: dict[str, str] = {}
    for index, row in enumerate(rows, start=1):
        label = f"line {lines[index - 1]}" if lines is not None else f"row {index}"
        for field in ("id", "problem", "answer"):
            if field not in row or row[field] is None or str(row[field]).strip() == "":
                raise EvalkitError(f"{where}: {label} has no {field!r}; every row needs id, problem and answer")
        for field, kinds in (("id", "text or an integer"), ("problem", "text"), ("answer", "text or an integer")):
            value = row[field]
            integer = isinstance(value, int) and not isinstance(value, bool)
            if not isinstance(value, str) and not (integer and field != "problem"):
                raise EvalkitError(
                    f"{where}: {label}: `{field}` is {_kind(value)} ({_shown(value)}), not {kinds}; "
                    "write it as a JSON string"
                )
        pid = str(row["id"])
        if pid in seen:
            raise EvalkitError(f"{where}: duplicate id {pid!r} in {seen[pid]} and {label}; ids must be unique")
        seen[pid] = label
        answer = str(row["answer"]).strip()
        check_answer_type(answer, answer_type, f"{where}: {label} (id {pid!r})")
        problems.append(Problem(id=pid, question=row["problem"], answer=answer, dataset=dataset))
    if not problems:
        raise EvalkitError(f"{where}: no problems in the file")
    return tuple(problems)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def check_answer_type(answer: str, answer_type: str, where: str) -> None:
    if answer_type == "any":
        return
    if not re.fullmatch(r"-?\d+", answer):
        raise EvalkitError(f"{where}: answer {answer!r} is not an integer, as {answer_type} answers must be")
    if answer_type == "aime_integer" and not 0 <= int(answer) <= 999:
        raise EvalkitError(f"{where}: answer {answer!r} is outside 0-999, the range of AIME answers")


def write_normalized(path: Path, rows: list[dict]) -> None:
    """Write rows atomically, so an interrupted write never leaves a half file in the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------------------------
# Normalizers: source bytes -> rows with id, problem, answer (plus the source fields worth keeping)

_AOPS_PAGE = re.compile(r"/(\d{4})_(AIME_I|AIME_II|AMC_12A|AMC_12B|AMC_10A|AMC_10B)_Problems/Problem_(\d+)$")
_CONTEST_ORDER = {"AIME_I": 0, "AIME_II": 1, "AMC_10A": 2, "AMC_10B": 3, "AMC_12A": 4, "AMC_12B": 5}


def _aops_id(year: str, contest: str, number: str) -> str:
    if contest.startswith("AIME_"):
        return f"{year}-{contest.removeprefix('AIME_')}-{number}"
    return f"{year}-{contest.replace('_', '')}-{number}"


def normalize_aops_jsonl(files: Mapping[str, bytes], card: DatasetCard) -> list[dict]:
    """Qwen2.5-Math style JSONL whose rows carry an AoPS wiki `url`; ids and order come from that url."""
    (path,) = files
    keyed = []
    for row in parse_jsonl_rows(files[path].decode("utf-8"), path):
        match = _AOPS_PAGE.search(str(row.get("url", "")))
        if not match:
            raise EvalkitError(f"{path}: row {row.get('id')!r} has no AoPS problem url to build its id from")
        year, contest, number = match.groups()
        answer = row["answer"]
        out = {
            "id": _aops_id(year, contest, number),
            "year": int(year),
            "contest": contest.replace("_", " "),
            "number": int(number),
            "problem": row["problem"],
        }
        if isinstance(answer, float):
            if not answer.is_integer():
                raise EvalkitError(f"{path}: answer {answer!r} of row {row.get('id')!r} is not integral")
            out["answer"] = str(int(answer))
            out["answer_orig"] = answer
        else:
            out["answer"] = str(answer)
        out["url"] = row["url"]
        if "solution" in row:
            out["solution"] = row["solution"]
        out["source_index"] = row.get("id")
        keyed.append(((int(year), _CONTEST_ORDER[contest], int(number)), out))
    return [row for _, row in sorted(keyed, key=lambda kv: kv[0])]


def normalize_prm800k_jsonl(files: Mapping[str, bytes], card: DatasetCard) -> list[dict]:
    """PRM800K's MATH test split: the id is `unique_id`, every other field is kept as it is."""
    (path,) = files
    return [
        {"id": row["unique_id"], **{k: v for k, v in row.items()}}
        for row in parse_jsonl_rows(files[path].decode("utf-8"), path)
    ]


_MATHARENA_PROBLEM = re.compile(r"aime_(\d{4})_(I|II)/problems/(\d+)\.tex$")


def normalize_matharena_aime(files: Mapping[str, bytes], card: DatasetCard) -> list[dict]:
    """MathArena's layout: one .tex per problem and an answers.csv (id,answer) per contest."""
    answers: dict[tuple[str, str], dict[str, str]] = {}
    for path, data in files.items():
        match = re.search(r"aime_(\d{4})_(I|II)/answers\.csv$", path)
        if match:
            reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
            answers[match.groups()] = {row["id"].strip(): row["answer"].strip() for row in reader}
    keyed = []
    for path, data in files.items():
        match = _MATHARENA_PROBLEM.search(path)
        if not match:
            continue
        year, part, number = match.groups()
        try:
            answer = answers[(year, part)][number]
        except KeyError:
            raise EvalkitError(f"{path}: no answer for problem {number} in answers.csv") from None
        pid = f"{year}-{part}-{number}"
        keyed.append(
            (
                (part == "II", int(number)),
                {
                    "id": pid,
                    "year": int(year),
                    "contest": f"AIME {part}",
                    "number": int(number),
                    "problem": data.decode("utf-8").strip(),
                    "answer": answer,
                    "url": f"https://artofproblemsolving.com/wiki/index.php/{year}_AIME_{part}_Problems/Problem_{number}",
                },
            )
        )
    return [row for _, row in sorted(keyed, key=lambda kv: kv[0])]


NORMALIZERS: dict[str, Callable[[Mapping[str, bytes], DatasetCard], list[dict]]] = {
    "aops_jsonl": normalize_aops_jsonl,
    "prm800k_jsonl": normalize_prm800k_jsonl,
    "matharena_aime": normalize_matharena_aime,
}


# ---------------------------------------------------------------------------------------------------------------
# Resolution: local file -> EVALKIT_DATA_DIR -> cache -> pinned download


def looks_like_path(spec: str) -> bool:
    return spec.endswith((".jsonl", ".json")) or os.sep in spec or spec.startswith(".")


def load(spec: str, locations: DataLocations, *, allow_download: bool = True) -> Dataset:
    """Load a dataset by card name, or a custom JSONL file (fields id, problem, answer) by path."""
    if Path(spec).is_dir():
        inside = sorted(p.name for p in Path(spec).glob("*.jsonl"))[:5]
        hint = f" (it holds {', '.join(inside)})" if inside else ""
        raise EvalkitError(
            f"--dataset {spec} is a folder{hint}; give a dataset .jsonl file (fields id, problem, answer) or a "
            "dataset name (evalkit datasets list)"
        )
    if looks_like_path(spec) or Path(spec).is_file():
        return load_file(Path(spec))
    card = load_card(spec)
    for finder in (_from_data_dir, _from_cache):
        found = finder(card, locations)
        if found is not None:
            return found
    if not allow_download:
        raise EvalkitError(
            f"dataset {card.name!r} is not cached; run `evalkit datasets pull {card.name}` or set EVALKIT_DATA_DIR"
        )
    return pull(card, locations)


def load_file(path: Path) -> Dataset:
    if not path.is_file():
        raise EvalkitError(f"dataset file {path} does not exist; give a dataset name or an existing .jsonl file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EvalkitError(f"{path}: not UTF-8 text; a dataset is a UTF-8 JSONL file") from None
    numbered = list(jsonl_objects(text, str(path)))
    rows, lines = [row for _, row in numbered], [number for number, _ in numbered]
    problems = problems_from_rows(rows, path.stem, "any", str(path), lines)
    return Dataset(
        name=path.stem,
        problems=problems,
        answer_type="any",
        content_sha256=content_sha256(problems),
        origin=f"file:{path.resolve()}",
        source_sha256={str(path.name): sha256_bytes(data)},
    )


def _load_checked(path: Path, card: DatasetCard, origin: str, fix: str) -> Dataset:
    numbered = list(jsonl_objects(read_utf8(path, "a dataset"), str(path)))
    rows, lines = [row for _, row in numbered], [number for number, _ in numbered]
    problems = problems_from_rows(rows, card.name, card.answer_type, str(path), lines)
    digest = content_sha256(problems)
    if digest != card.content_sha256:
        raise EvalkitError(
            f"{path} does not hold the pinned {card.name} problems (content sha256 {digest[:12]}…, "
            f"expected {card.content_sha256[:12]}…); {fix}"
        )
    return Dataset(card.name, problems, card.answer_type, digest, origin, card.source_sha256)


def _from_data_dir(card: DatasetCard, locations: DataLocations) -> Dataset | None:
    if locations.data_dir is None:
        return None
    path = locations.data_dir / f"{card.name}.jsonl"
    if not path.is_file():
        return None
    return _load_checked(path, card, f"data-dir:{path}", "fix the file or unset EVALKIT_DATA_DIR")


def cache_path(card: DatasetCard, locations: DataLocations) -> Path:
    return locations.cache_dir / "datasets" / f"{card.name}-{card.content_sha256[:16]}.jsonl"


def _from_cache(card: DatasetCard, locations: DataLocations) -> Dataset | None:
    path = cache_path(card, locations)
    if not path.is_file():
        return None
    return _load_checked(path, card, f"cache:{path}", f"delete it and run `evalkit datasets pull {card.name}`")


def fetch(url: str, timeout: float = DOWNLOAD_TIMEOUT_S) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise EvalkitError(f"download of {url} failed: HTTP {exc.code}; check the address or your mirror") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EvalkitError(
            f"download of {url} failed ({reason}); check the network, or set EVALKIT_DATA_DIR to a local copy"
        ) from None


def pull(card: DatasetCard, locations: DataLocations) -> Dataset:
    """Download every source file, check its sha256 before use, normalize, verify and cache the result."""
    files: dict[str, bytes] = {}
    for source in card.files:
        url = card.file_url(source, locations.mirror)
        data = fetch(url)
        digest = sha256_bytes(data)
        if digest != source.sha256:
            raise EvalkitError(
                f"{url} has sha256 {digest}, but {card.name} is pinned to {source.sha256}; "
                "the file was not used or cached (a wrong mirror, or the source changed)"
            )
        files[source.path] = data
    rows = NORMALIZERS[card.normalizer](files, card)
    problems = problems_from_rows(rows, card.name, card.answer_type, f"{card.name} (normalized)")
    digest = content_sha256(problems)
    if digest != card.content_sha256:
        raise EvalkitError(
            f"{card.name}: normalized content sha256 {digest[:12]}… differs from the card's "
            f"{card.content_sha256[:12]}…; this evalkit's normalizer and card disagree (report it as a bug)"
        )
    if len(problems) != card.rows:
        raise EvalkitError(f"{card.name}: {len(problems)} problems after normalization, the card says {card.rows}")
    path = cache_path(card, locations)
    write_normalized(path, rows)
    return Dataset(card.name, problems, card.answer_type, digest, f"download:{card.base_url}", card.source_sha256)
