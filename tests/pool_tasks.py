"""Tasks for the worker pool's tests; importable by the workers (they start with the tests' sys.path)."""

from __future__ import annotations

import os
import time

# Which processes import this module: each appends its PID (the test of where the fork server preloads the tasks).
if os.environ.get("POOL_TASKS_IMPORT_LOG"):
    with open(os.environ["POOL_TASKS_IMPORT_LOG"], "a") as _log:
        _log.write(f"{os.getpid()}\n")


def echo(payload):
    return payload


def spin(cpu_seconds: float) -> float:
    """Burn this much CPU time (not wall time), then return the process's CPU seconds."""
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass
    return time.process_time()


def forever(_payload) -> None:
    while True:
        pass


def allocate(size: int) -> int:
    return len(bytearray(size))


def die(_payload) -> None:
    os._exit(7)


def pid(_payload) -> int:
    return os.getpid()


def parent(_payload) -> int:
    return os.getppid()


def niceness(_payload) -> int:
    return os.nice(0)


def scheduler(_payload) -> int:
    return os.sched_getscheduler(0)


def address_space_limit(_payload) -> tuple[int, int]:
    import resource

    return resource.getrlimit(resource.RLIMIT_AS)


def fail(message: str) -> None:
    raise ValueError(message)


def recurse(depth: int) -> int:
    return recurse(depth + 1)
