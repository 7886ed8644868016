"""One writer per run directory: an advisory lock held for the whole run and released by the OS when the
holder exits, however it exits."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from evalkit.errors import EvalkitError

LOCK_FILE = ".lock"
WAIT_POLL_S = 0.5


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"process {info['pid']} on {info['host']} (since {info.get('since', '?')})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


class RunLock:
    """`flock` on `<run dir>/.lock`; the file records who holds it, for the message a second writer gets."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, wait: bool = False, on_wait: Callable[[str], None] = lambda message: None) -> None:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(self.path)
                if not wait:
                    os.close(fd)
                    raise EvalkitError(
                        f"{self.path.parent} is being written by {holder}; wait for it to finish, or pass --wait "
                        "to start when it does"
                    ) from None
                if not told:
                    on_wait(f"waiting for {holder} to release {self.path.parent}")
                    told = True
                time.sleep(WAIT_POLL_S)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
