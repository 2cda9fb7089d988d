"""Terminal Markdown rendering cost against answer length: linear, not quadratic.

    python benchmarks/render_linear.py [--base-kb 4] [--repeat 3] [--naive-sizes 1]

Streams answers of 1x, 4x and 16x a base size (paragraphs, lists, code fences, tables,
headings) in ~4-character tokens into ``MarkdownSink`` on a Rich console that writes to
memory as a colour terminal (100 x 40), and reports seconds and microseconds per KB.
Linear cost means a flat µs/KB column.

Two pacings of the same sink:
  flat-out   the real clock: tokens arrive as fast as the loop runs, so the 15 Hz live
             redraw fires rarely (what a cached or very fast answer costs);
  50 tok/s   a simulated clock advancing 20 ms per token, as from a typical LLM: a
             live redraw every ~4 tokens, the heaviest realistic redraw load, run flat out.
Baseline in the same run: a naive renderer that re-renders the whole document in a Live
on every token (what makes `llm`-style tools quadratic), at the sizes in --naive-sizes.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from collections.abc import Callable
from functools import partial

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

from llmx.ui.markdown import MarkdownSink

SIZES = (1, 4, 16)
WORDS = ["streaming", "tokens", "arrive", "quickly", "while", "the", "terminal", "keeps",
         "every", "finished", "block", "rendered", "once", "and", "only", "the", "unfinished",
         "tail", "is", "drawn", "again"]


def make_answer(target_chars: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    kinds = ("para", "list", "code", "para", "table", "heading")
    while size < target_chars:
        kind = kinds[len(parts) % len(kinds)]
        if kind == "para":
            part = " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 70))) + "."
        elif kind == "list":
            part = "\n".join(f"{n}. {rng.choice(WORDS)} **{rng.choice(WORDS)}** {rng.choice(WORDS)}"
                             for n in range(1, rng.randint(3, 7)))
        elif kind == "code":
            body = "\n".join(f"    total_{n} = compute({n}, {rng.randint(1, 999)})"
                             for n in range(rng.randint(4, 14)))
            part = f"```python\ndef step():\n{body}\n```"
        elif kind == "table":
            rows = "\n".join(f"| {rng.choice(WORDS)} | {rng.randint(1, 99)} |" for _ in range(4))
            part = f"| name | value |\n|------|------:|\n{rows}"
        else:
            part = f"## {rng.choice(WORDS).title()} {rng.choice(WORDS)}"
        parts.append(part)
        size += len(part) + 2
    return "\n\n".join(parts) + "\n"


def tokens(text: str, size: int = 4) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def console() -> Console:
    return Console(file=io.StringIO(), width=100, height=40, force_terminal=True,
                   color_system="truecolor")


class Paced:
    """A clock that advances a fixed step per reading: a simulated token rate."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def run_sink(chunks: list[str], clock: Callable[[], float]) -> float:
    sink = MarkdownSink(console(), clock=clock)
    start = time.perf_counter()
    for chunk in chunks:
        sink.write(chunk)
    sink.close()
    return time.perf_counter() - start


def run_paced(chunks: list[str]) -> float:
    return run_sink(chunks, Paced(0.02))


def run_naive(chunks: list[str]) -> float:
    """Re-render the whole answer so far on every token."""
    out = console()
    start = time.perf_counter()
    text = ""
    with Live(console=out, auto_refresh=False, transient=False) as live:
        for chunk in chunks:
            text += chunk
            live.update(Markdown(text), refresh=True)
    return time.perf_counter() - start


def best(repeat: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeat))


def report(label: str, results: list[tuple[int, int, float]]) -> None:
    base_us = None
    print(f"\n{label}")
    print(f"  {'size':>5} {'KB':>7} {'seconds':>9} {'µs/KB':>10} {'µs/KB vs 1x':>12}")
    for factor, chars, seconds in results:
        us_per_kb = seconds * 1e6 / (chars / 1024)
        base_us = base_us or us_per_kb
        print(f"  {factor:>4}x {chars / 1024:>7.1f} {seconds:>9.3f} {us_per_kb:>10.0f}"
              f" {us_per_kb / base_us:>11.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-kb", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-sizes", type=int, nargs="*", default=[1])
    args = parser.parse_args()

    answers = {f: make_answer(int(args.base_kb * 1024 * f)) for f in SIZES}
    chunks = {f: tokens(text) for f, text in answers.items()}
    print(f"answers: {', '.join(f'{f}x={len(t)} chars' for f, t in answers.items())}; "
          f"~4-char tokens; console 100x40 truecolor into memory; best of {args.repeat}")

    run_sink(chunks[1], Paced(0.02))  # warm-up: lexers, styles and caches load once

    def measure(factor: int, run: Callable[[], float], repeat: int) -> tuple[int, int, float]:
        return factor, len(answers[factor]), best(repeat, run)

    flat = [measure(f, partial(run_sink, chunks[f], time.monotonic), args.repeat) for f in SIZES]
    report("MarkdownSink, flat-out (real clock, 15 Hz live redraw)", flat)
    paced = [measure(f, partial(run_paced, chunks[f]), args.repeat) for f in SIZES]
    report("MarkdownSink, simulated 50 tok/s (a live redraw every ~4 tokens)", paced)
    naive = [measure(f, partial(run_naive, chunks[f]), 1) for f in args.naive_sizes]
    report("naive: whole-document re-render in a Live on every token", naive)
    for factor, _, seconds in naive:
        ours = next(s for f, _, s in paced if f == factor)
        print(f"  at {factor}x the naive renderer takes {seconds / ours:.0f}x the time of "
              f"MarkdownSink at 50 tok/s ({seconds:.2f} s vs {ours:.3f} s)")


if __name__ == "__main__":
    main()
