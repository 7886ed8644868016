"""Reading other harnesses' files as they wrote them: `.gz` and `.zst` transparently, JSON and JSON lines, and
the members of zip archives whose entries are zstd-compressed (inspect's `.eval` logs). Compressed data is read as
a stream under a cap, and a format is told from a bounded prefix, so a compression bomb is refused in one line."""

from __future__ import annotations

import gzip
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from evalkit.errors import EvalkitError

COMPRESSED_SUFFIXES = (".gz", ".zst")
# What one compressed file (or all the members of one archive together) may expand to. The largest real outputs in
# ../shared/generations/published decompress to 2.6 MB (one greedy sample per problem) and hold responses of up to
# 167,000 characters; 64 samples of that length on each of 30 problems make 320 MB. A gibibyte is three times that,
# and a bomb is refused once it has expanded that far (a 1.5 MB .gz expanding to 4.8 GB stops there).
MAX_DECOMPRESSED_BYTES = 1 << 30
# How much of a file is read to tell its format: the first line of JSON lines, or the start of a JSON document.
# A Qwen2.5-Math line holds every sample of a problem before its verdicts (64 of the longest responses: 11 MB).
DETECT_BYTES = 64 << 20
# A JSON document (SkyThought's, an inspect log) is told by its first keys, and those of its first entry, which
# stand before any response.
DETECT_JSON_BYTES = 4 << 20
CHUNK_BYTES = 1 << 20
# Zip compression method 93 is Zstandard (APPNOTE 6.3.7); inspect writes its logs that way.
ZIP_ZSTANDARD = 93
# Local file header: signature, version, flags, method, time, date, crc, sizes, name and extra lengths.
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
# Errors the decompressors raise for damaged data (zstandard's own error is added when it is imported).
_DAMAGED = (OSError, EOFError, zlib.error, zipfile.BadZipFile, ValueError)


def logical_name(path: Path) -> str:
    """The file name without a compression suffix: `x.jsonl.gz` -> `x.jsonl`."""
    name = path.name
    for suffix in COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def existing(folder: Path, name: str) -> Path | None:
    """`folder/name` as it is on disk: plain, or compressed (`name.gz`, `name.zst`); None when absent."""
    for candidate in (name, *(name + suffix for suffix in COMPRESSED_SUFFIXES)):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _zstd_stream(raw: IO[bytes], where: str) -> IO[bytes]:
    """A readable stream of the zstd data in `raw`, every frame of it (files written in parts hold several)."""
    try:
        from compression import zstd  # Python 3.14+

        return zstd.ZstdFile(raw)
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        raise EvalkitError(
            f"{where} is zstd-compressed; install the `zstandard` package (pip install zstandard) to read it"
        ) from None
    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)


def _damaged_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard
    except ImportError:
        return _DAMAGED
    return (*_DAMAGED, zstandard.ZstdError)


def _too_large(where: str, limit: int) -> EvalkitError:
    return EvalkitError(
        f"{where} decompresses to more than {limit >> 20:,} MiB, more than any real output (a compression bomb?); "
        "if it is genuine, decompress it yourself and import the plain file"
    )


def _read_capped(stream: IO[bytes], limit: int, keep: bool = True, line: bool = False) -> tuple[bytes, bool]:
    """At most `limit` bytes of a stream, read in chunks, and whether that was all of it. Without `keep` the
    chunks are only counted (a pass that holds nothing); with `line`, reading stops once the first line that is
    not blank has ended."""
    chunks, size, started = [], 0, False
    while size <= limit:
        chunk = stream.read(min(CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            return b"".join(chunks), True
        if keep:
            chunks.append(chunk)
        size += len(chunk)
        if line:
            text = chunk if started else chunk.lstrip()
            started = started or bool(text)
            if started and b"\n" in text:
                return b"".join(chunks)[:limit], False
    return b"".join(chunks)[:limit], False


def _decompressed(path: Path, limit: int, keep: bool = True, line: bool = False) -> tuple[bytes, bool]:
    """At most `limit` bytes of a `.gz` or `.zst` file's decompressed content, and whether that was all of it."""
    try:
        with open(path, "rb") as raw:
            opened = gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else _zstd_stream(raw, str(path))
            with opened as stream:
                return _read_capped(stream, limit, keep, line)
    except MemoryError:
        raise _too_large(str(path), limit) from None
    except OSError as exc:
        if exc.filename is not None:
            raise EvalkitError(f"cannot read {path}: {exc.strerror or exc}") from None
        raise EvalkitError(f"{path} is not a readable {path.suffix[1:]} file ({exc})") from None
    except _damaged_errors() as exc:
        raise EvalkitError(f"{path} is not a readable {path.suffix[1:]} file ({exc})") from None


def _plain(path: Path, limit: int = -1, line: bool = False) -> bytes:
    try:
        with open(path, "rb") as raw:
            return _read_capped(raw, limit, line=True)[0] if line else raw.read(limit)
    except OSError as exc:
        raise EvalkitError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when its name ends in `.gz` or `.zst`, refused past the cap. A compressed
    file is read twice: first counted without holding anything, so a bomb costs seconds of CPU, never memory."""
    if not path.name.endswith(COMPRESSED_SUFFIXES):
        return _plain(path)
    if not _decompressed(path, MAX_DECOMPRESSED_BYTES, keep=False)[1]:
        raise _too_large(str(path), MAX_DECOMPRESSED_BYTES)
    data, whole = _decompressed(path, MAX_DECOMPRESSED_BYTES)
    if not whole:  # the file grew between the two passes
        raise _too_large(str(path), MAX_DECOMPRESSED_BYTES)
    return data


def head(path: Path, limit: int, line: bool = False) -> bytes:
    """The first `limit` bytes of the file's decompressed content (with `line`, only as far as the end of its first
    line that is not blank): no more is read or decompressed."""
    if path.name.endswith(COMPRESSED_SUFFIXES):
        return _decompressed(path, limit, line=line)[0]
    return _plain(path, limit, line)


def read_text(path: Path) -> str:
    try:
        return read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EvalkitError(f"{path} is not UTF-8 text") from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise EvalkitError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise EvalkitError(f"{path} nests JSON deeper than any output (a list in a list ... thousands deep)") from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-empty line; a line that is not a JSON object is an error."""
    from evalkit.data.datasets import jsonl_objects

    yield from jsonl_objects(read_text(path), str(path))


@dataclass(frozen=True)
class Outline:
    """What format detection needs from a JSON object: its keys, and the keys of its first value (an object)."""

    keys: frozenset[str]
    first_value_keys: frozenset[str]


_BOM = b"\xef\xbb\xbf"


def _without_bom(data: bytes) -> bytes:
    """Data without the byte-order mark some editors (Excel's "CSV UTF-8", Notepad) put first."""
    return data[len(_BOM) :] if data.startswith(_BOM) else data


# A string (to its closing quote, or to the end of the data when cut off there) or a structural character.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*("?)|[{}\[\]:]')


def outline(data: bytes) -> Outline | None:
    """The outline of the JSON object `data` starts (which may be cut off anywhere); None if it starts no object.

    A scan of strings and brackets, not a parse: what lies past the cut is simply not seen.
    """
    if _without_bom(data).lstrip()[:1] != b"{":
        return None
    keys: list[str] = []
    first: list[str] = []
    depth, in_first, pending = 0, False, None
    for match in _TOKEN.finditer(data):
        token = match.group()
        if token[:1] == b'"':
            if not match.group(1):  # a string cut off by the end of the data
                break
            pending = token
            continue
        if token == b":" and pending is not None and depth in (1, 2):
            try:
                key = json.loads(pending)
            except ValueError:
                key = None
            if isinstance(key, str):
                if depth == 1:
                    in_first = not keys
                    keys.append(key)
                elif in_first:
                    first.append(key)
        pending = None
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
            if depth == 1:
                in_first = False
            if depth <= 0:
                break
    return Outline(frozenset(keys), frozenset(first))


def first_line_keys(path: Path) -> frozenset[str] | None:
    """The keys of the first line of a JSON-lines file (for format detection), reading at most `DETECT_BYTES` of
    its content: a line longer than that (a reasoning response can run to megabytes) is outlined from its start."""
    prefix = head(path, DETECT_BYTES, line=True)
    line, newline, _ = _without_bom(prefix).lstrip().partition(b"\n")
    if newline or len(prefix) < DETECT_BYTES:
        try:
            row = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return None
        except RecursionError:  # nested past the parser's depth: outlined; reading it says what is wrong
            row = None
        if row is not None or not line.lstrip().startswith(b"{"):
            return frozenset(row) if isinstance(row, dict) else None
    found = outline(line)
    return found.keys if found is not None else None


def json_outline(path: Path) -> Outline | None:
    """The outline of a JSON document (for format detection), from at most `DETECT_JSON_BYTES` of its content."""
    prefix = _without_bom(head(path, DETECT_JSON_BYTES))
    if len(prefix) < DETECT_JSON_BYTES - len(_BOM):
        try:
            document = json.loads(prefix)
        except (ValueError, UnicodeDecodeError):
            return None
        except RecursionError:  # nested past the parser's depth: outlined; reading it says what is wrong
            return outline(prefix)
        if not isinstance(document, dict):
            return None
        first = next(iter(document.values()), None)
        return Outline(frozenset(document), frozenset(first) if isinstance(first, dict) else frozenset())
    return outline(prefix)


class ZipMembers:
    """Members of a zip archive, each decompressed as a stream: stored, deflated and zstd-compressed entries; all
    the members read from one archive together stay under `MAX_DECOMPRESSED_BYTES`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._budget = MAX_DECOMPRESSED_BYTES
        if path.name.endswith(COMPRESSED_SUFFIXES):
            self._file: IO[bytes] = io.BytesIO(read_bytes(path))
        else:
            try:
                self._file = open(path, "rb")  # noqa: SIM115 (held for the archive's members; closed by close())
            except OSError as exc:
                raise EvalkitError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            self._zip = zipfile.ZipFile(self._file)
        except (zipfile.BadZipFile, OSError, ValueError):
            self._file.close()
            raise EvalkitError(f"{path} is not a zip archive (is it a complete log file?)") from None

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def __enter__(self) -> ZipMembers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> list[str]:
        return self._zip.namelist()

    def _stream(self, info: zipfile.ZipInfo, where: str) -> IO[bytes]:
        if info.compress_type != ZIP_ZSTANDARD:
            return self._zip.open(info)
        # zipfile before Python 3.14 cannot read method 93: take the raw bytes after the local header.
        self._file.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(self._file.read(_LOCAL_HEADER.size))
        self._file.seek(info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10])
        return _zstd_stream(io.BytesIO(self._file.read(info.compress_size)), where)

    def read(self, name: str) -> bytes:
        """One member's content; refused once the archive's members together expand past the cap."""
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            raise EvalkitError(f"{self.path} has no member {name!r}") from None
        where = f"{self.path}:{name}"
        if info.file_size > self._budget:  # as the archive states it; the stream is capped whatever it states
            raise _too_large(f"{self.path} (its members together)", MAX_DECOMPRESSED_BYTES)
        try:
            for keep in (False, True):  # counted first, holding nothing (as for a compressed file), then read
                with self._stream(info, where) as stream:
                    data, whole = _read_capped(stream, self._budget, keep)
                if not whole:
                    break
        except EvalkitError:
            raise
        except MemoryError:
            whole = False
        except (*_damaged_errors(), NotImplementedError, RuntimeError, struct.error) as exc:
            raise EvalkitError(f"{self.path}: member {name} cannot be read ({exc})") from None
        if not whole:
            raise _too_large(f"{self.path} (its members together)", MAX_DECOMPRESSED_BYTES)
        self._budget -= len(data)
        return data

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise EvalkitError(f"{self.path}: member {name} is not valid JSON (or nests it thousands deep)") from None

    def read_object(self, name: str) -> dict[str, Any]:
        """A member that must be one JSON object (inspect's header and samples)."""
        value = self.read_json(name)
        if not isinstance(value, dict):
            raise EvalkitError(f"{self.path}: member {name} is {type(value).__name__} JSON, not an object; is it an "
                               "inspect log?")  # fmt: skip
        return value
