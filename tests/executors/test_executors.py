from __future__ import annotations

import pytest

from llmga.executors import ProcessExecutor, SerialExecutor, available_cores, make_executor


def square(x: int) -> int:
    return x * x


def test_process_executor_preserves_order_and_values():
    items = list(range(57))
    with ProcessExecutor(2, min_items=1) as ex:
        assert ex.map(square, items) == [x * x for x in items]
        assert ex.map(square, []) == []


def test_unpicklable_work_runs_serially_with_a_warning():
    offset = 3
    with (
        ProcessExecutor(2, min_items=1) as ex,
        pytest.warns(RuntimeWarning, match="cannot be sent to worker processes"),
    ):
        assert ex.map(lambda x: x + offset, [1, 2, 3]) == [4, 5, 6]


def test_worker_errors_propagate():
    def boom(x: int) -> int:
        raise ValueError(f"bad {x}")

    with ProcessExecutor(2, min_items=1) as ex, pytest.raises(ValueError, match="bad"):
        ex.map(square_or_fail, list(range(10)))
    assert SerialExecutor().map(square, [2]) == [4]
    with pytest.raises(ValueError):
        SerialExecutor().map(boom, [1])


def square_or_fail(x: int) -> int:
    if x == 7:
        raise ValueError("bad 7")
    return x * x


def test_make_executor():
    assert isinstance(make_executor(1), SerialExecutor)
    ex = make_executor(0)
    assert ex.workers == available_cores()
    ex.close()


def worker_pid(_: int) -> int:
    import os
    import time

    time.sleep(0.05)  # long enough for both workers to take a chunk
    return os.getpid()


def test_workers_end_at_sigterm_even_when_the_run_stops_gracefully_at_it():
    import os
    import signal
    import time

    from llmga._signals import graceful_interrupt

    with graceful_interrupt(), ProcessExecutor(2, min_items=1) as ex:  # the workers are forked inside the block
        pids = set(ex.map(worker_pid, list(range(8))))
        assert len(pids) == 2 and os.getpid() not in pids
        victim = min(pids)
        os.kill(victim, signal.SIGTERM)  # a worker does not inherit the parent's stop-request handler
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _running(victim):
            time.sleep(0.05)
        assert not _running(victim)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
