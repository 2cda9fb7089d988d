"""Adaptive pipe buffering: sparse chunks written at once, fast ones per burst, nothing
held longer than the bound, nothing lost, failures raised where the caller sees them."""

from __future__ import annotations

import asyncio
import errno
import io
from collections.abc import Callable

import pytest

from llmx.errors import OutputError
from llmx.ui.stream import OutputClosed, PipeSink
from llmx.ui.stream_buffer import GAP_S, HOLD_S, Coalescer


class Timers:
    """A fake clock and ``call_later``: time moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self._due: list[tuple[float, int, Callable[[], None], list[bool]]] = []
        self._n = 0

    def clock(self) -> float:
        return self.now

    def later(self, delay: float, fn: Callable[[], None]) -> Timers.Handle:
        cancelled = [False]
        self._n += 1
        self._due.append((self.now + delay, self._n, fn, cancelled))
        return Timers.Handle(cancelled)

    class Handle:
        def __init__(self, cancelled: list[bool]) -> None:
            self._cancelled = cancelled

        def cancel(self) -> None:
            self._cancelled[0] = True

    def advance(self, to: float) -> None:
        while True:
            ready = sorted(d for d in self._due if d[0] <= to and not d[3][0])
            if not ready:
                break
            due, _, fn, _ = ready[0]
            self._due.remove(ready[0])
            self.now = due
            fn()
        self.now = to


class Recorder:
    def __init__(self, timers: Timers) -> None:
        self.timers = timers
        self.writes: list[tuple[float, str]] = []

    def __call__(self, text: str) -> None:
        self.writes.append((self.timers.now, text))


def feed(timers: Timers, sink: Coalescer, arrivals: list[tuple[float, str]]) -> None:
    for at, text in arrivals:
        timers.advance(at)
        sink.add(text)


def made(timers: Timers) -> tuple[Recorder, Coalescer]:
    out = Recorder(timers)
    return out, Coalescer(out, timers.later, clock=timers.clock)


def test_the_first_chunk_and_every_sparse_chunk_are_written_as_they_arrive() -> None:
    timers = Timers()
    out, sink = made(timers)
    feed(timers, sink, [(0.0, "a"), (0.010, "b"), (0.030, "c")])
    assert out.writes == [(0.0, "a"), (0.010, "b"), (0.030, "c")]
    assert (sink.chunks, sink.writes) == (3, 3)


def test_a_burst_of_fast_chunks_goes_out_in_one_write_once_the_stream_pauses() -> None:
    timers = Timers()
    out, sink = made(timers)
    burst = [(0.0, "a")] + [(0.001 + i * 0.0002, str(i)) for i in range(10)]
    feed(timers, sink, burst)
    timers.advance(0.1)
    assert out.writes[0] == (0.0, "a")  # the first chunk: time to first token unchanged
    assert len(out.writes) == 2 and out.writes[1][1] == "0123456789"
    last_arrival = burst[-1][0]
    assert out.writes[1][0] == pytest.approx(last_arrival + GAP_S, abs=1e-6)


def test_a_steady_fast_stream_never_holds_text_longer_than_the_bound() -> None:
    timers = Timers()
    out, sink = made(timers)
    arrivals = [(i * 0.001, f"<{i}>") for i in range(200)]  # 1 ms apart for 200 ms
    feed(timers, sink, arrivals)
    timers.advance(1.0)
    text = "".join(t for _, t in out.writes)
    assert text == "".join(t for _, t in arrivals)
    for at, chunk in arrivals:
        written_at = next(w_at for w_at, w in out.writes if chunk in w)
        assert written_at - at <= HOLD_S + 1e-9
    assert sink.writes <= 200 * 0.001 / HOLD_S + 3  # ~one write per 20 ms, not per chunk
    assert sink.chunks == 200


def test_close_writes_what_is_held_and_the_tail_in_one_write() -> None:
    timers = Timers()
    out, sink = made(timers)
    feed(timers, sink, [(0.0, "a"), (0.0005, "b"), (0.001, "c")])
    sink.close("\n")
    assert [t for _, t in out.writes] == ["a", "bc\n"]
    timers.advance(1.0)  # the cancelled timer writes nothing more
    assert len(out.writes) == 2


def test_a_large_pile_is_written_without_waiting() -> None:
    timers = Timers()
    out, sink = made(timers)
    feed(timers, sink, [(0.0, "a"), (0.0001, "x" * 70_000)])
    assert [len(t) for _, t in out.writes] == [1, 70_000]


def test_a_broken_pipe_in_the_timer_is_raised_by_the_next_write_as_output_closed() -> None:
    timers = Timers()

    class Broken(io.StringIO):
        def flush(self) -> None:
            if self.getvalue() != "a":
                raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    sink = PipeSink(Broken(), later=timers.later, clock=timers.clock)
    sink.write("a")
    timers.advance(0.0005)
    sink.write("b")
    timers.advance(0.1)  # the timer's write fails: kept, not raised into the loop
    with pytest.raises(OutputClosed):
        sink.write("c")


def test_a_full_disk_in_the_timer_is_raised_by_close_as_an_output_error() -> None:
    timers = Timers()

    class Full(io.StringIO):
        def flush(self) -> None:
            if len(self.getvalue()) > 1:
                raise OSError(errno.ENOSPC, "No space left on device")

    sink = PipeSink(Full(), later=timers.later, clock=timers.clock)
    sink.write("a")
    timers.advance(0.0005)
    sink.write("b")
    timers.advance(0.1)
    with pytest.raises(OutputError, match="No space left"):
        sink.close()


def test_on_a_real_event_loop_a_burst_is_one_write_and_the_answer_ends_with_a_newline(
        ) -> None:
    class Counting(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            Counting.flushes += 1

    async def go() -> tuple[str, int, int, int]:
        stream = Counting()
        sink = PipeSink(stream, later=asyncio.get_running_loop().call_later)
        sink.write("first ")
        for word in ("a ", "b ", "c ", "d"):
            sink.write(word)  # no pause between them: one burst
        await asyncio.sleep(0.05)  # the loop runs the timer: the burst is out
        held = stream.getvalue()
        sink.close()
        return held, sink.chunks, sink.writes, Counting.flushes

    held, chunks, writes, flushes = asyncio.run(go())
    assert held == "first a b c d"
    assert (chunks, writes, flushes) == (5, 3, 3)  # first, the burst, the final newline


def test_without_a_timer_every_chunk_is_its_own_write() -> None:
    stream = io.StringIO()
    sink = PipeSink(stream)
    for word in ("a", "b", "c"):
        sink.write(word)
    sink.close()
    assert stream.getvalue() == "abc\n"
    assert (sink.chunks, sink.writes) == (3, 4)  # the closing newline is a write too
