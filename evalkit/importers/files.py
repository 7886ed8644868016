"""Reading other harnesses' files as they wrote them: `.gz` and `.zst` transparently, JSON and JSON lines, and
the members of zip archives whose entries are zstd-compressed (inspect's `.eval` logs)."""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError

COMPRESSED_SUFFIXES = (".gz", ".zst")
# Zip compression method 93 is Zstandard (APPNOTE 6.3.7); inspect writes its logs that way.
ZIP_ZSTANDARD = 93
# Local file header: signature, version, flags, method, time, date, crc, sizes, name and extra lengths.
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")


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


def _zstd_decompress(data: bytes, where: str) -> bytes:
    try:
        from compression import zstd  # Python 3.14+

        return zstd.decompress(data)
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        raise EvalkitError(
            f"{where} is zstd-compressed; install the `zstandard` package (pip install zstandard) to read it"
        ) from None
    # Frames written in streaming mode do not state their size, so decompress as a stream.
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
        return reader.read()


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when its name ends in `.gz` or `.zst`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvalkitError(f"cannot read {path}: {exc.strerror or exc}") from None
    if path.name.endswith(".gz"):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise EvalkitError(f"{path} is not a readable gzip file ({exc})") from None
    if path.name.endswith(".zst"):
        return _zstd_decompress(data, str(path))
    return data


def read_text(path: Path) -> str:
    try:
        return read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise EvalkitError(f"{path} is not UTF-8 text") from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise EvalkitError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-empty line; a line that is not a JSON object is an error."""
    from evalkit.data.datasets import jsonl_objects

    yield from jsonl_objects(read_text(path), str(path))


def first_jsonl_row(path: Path, limit: int = 1 << 22) -> dict[str, Any] | None:
    """The first line of a JSON-lines file as an object, reading at most `limit` bytes (for format detection)."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                head = handle.read(limit)
        elif path.name.endswith(".zst"):
            head = read_bytes(path)[:limit]
        else:
            with open(path, "rb") as handle:
                head = handle.read(limit)
    except (OSError, EOFError):
        return None
    line = head.split(b"\n", 1)[0]
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return row if isinstance(row, dict) else None


class ZipMembers:
    """Members of a zip archive, read whole into memory; stored, deflated and zstd-compressed entries."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data = read_bytes(path)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(self._data))
        except zipfile.BadZipFile:
            raise EvalkitError(f"{path} is not a zip archive (is it a complete log file?)") from None

    def names(self) -> list[str]:
        return self._zip.namelist()

    def read(self, name: str) -> bytes:
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            raise EvalkitError(f"{self.path} has no member {name!r}") from None
        if info.compress_type != ZIP_ZSTANDARD:
            return self._zip.read(name)
        # zipfile before Python 3.14 cannot read method 93: take the raw bytes after the local header.
        offset = info.header_offset
        fields = _LOCAL_HEADER.unpack_from(self._data, offset)
        name_length, extra_length = fields[9], fields[10]
        start = offset + _LOCAL_HEADER.size + name_length + extra_length
        return _zstd_decompress(self._data[start : start + info.compress_size], f"{self.path}:{name}")

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise EvalkitError(f"{self.path}: member {name} is not valid JSON") from None
