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
