"""``llmx bench``: the seed's metrics table, measured (see ``llmx.bench``).

On a terminal: progress on stderr, then a Rich table; otherwise a plain text table;
``--json``: one object (``BenchResult.to_json``, schema in ``llmx.bench.model``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from llmx.cli._io import Io
from llmx.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from llmx.bench.model import BenchOptions, BenchResult
    from llmx.config.profile import Profile

TARGETS = ("seed", "pass3")
# An upper bound per request for the estimate: most prompts are a sentence, the few
# complex ones carry a piped log that compression shrinks before it is sent.
ASSUMED_INPUT_TOKENS = 1_500
HEADERS = ("metric", "target", "baseline", "optimised", "unit", "improvement", "pass")


def run_bench_command(io: Io, *, quick: bool, as_json: bool, profile: str | None, yes: bool,
                      targets: str, connect_ms: float | None = None,
                      console: Console | None = None) -> int:
    """Run the bench on the embedded simulator; print the table (or JSON). Exit 0.
    ``connect_ms``: the simulated new connection's cost (None: the model's default)."""
    if targets not in TARGETS:
        raise UsageError(f"unknown --targets {targets!r}", hint="use seed or pass3")
    if connect_ms is not None and not 0 <= connect_ms <= 10_000:
        raise UsageError(f"--connect-ms: expected 0 to 10000 ms, got {connect_ms:g}")
    from llmx.bench import BenchOptions, run_bench
    from llmx.bench.model import LatencyModel

    model = LatencyModel() if connect_ms is None else LatencyModel(connect_ms=connect_ms)
    options = BenchOptions(quick=quick, targets=targets, model=model)
    if profile is not None:
        if connect_ms is not None:
            raise UsageError("--connect-ms models the simulator; a real profile has its own")
        options = BenchOptions(quick=quick, targets=targets, profile=_real(profile, io))
        _confirm(options, yes, io)

    def progress(text: str) -> None:
        if not as_json and io.stdout_is_tty:
            io.stderr.write(f"bench: {text}...\n")
            io.stderr.flush()

    result = run_bench(options, progress=progress, env=io.env)
    if as_json:
        io.stdout.write(json.dumps(result.as_dict()) + "\n")
    elif io.stdout_is_tty or console is not None:
        _rich(result, console or _console(io))
    else:
        io.stdout.write(plain_table(result))
    io.stdout.flush()
    return 0


def _real(name: str, io: Io) -> Profile:
    from pathlib import Path

    from llmx.config.files import load
    from llmx.config.profile import resolve_profile

    return resolve_profile(load(None, io.env, Path.cwd()), name)


def _confirm(options: BenchOptions, yes: bool, io: Io) -> None:
    """Say what a run against a real provider costs; go on only when the user agrees."""
    profile = options.profile
    assert profile is not None
    requests = options.requests()
    tokens_in = requests * ASSUMED_INPUT_TOKENS
    tokens_out = requests * options.max_tokens
    price = profile.price
    cost = ("unknown (no [price] in the profile)" if price is None else
            f"at most about {(tokens_in * price.input + tokens_out * price.output) / 1e6:.4f}")
    io.stderr.write(f"bench: {requests} requests to profile {profile.name!r} "
                    f"({profile.provider} {profile.model}), assuming up to "
                    f"{ASSUMED_INPUT_TOKENS} input tokens each; estimated cost {cost}\n")
    if yes:
        return
    if not io.stdin_is_tty:
        raise UsageError("not running against a real provider without confirmation",
                         hint="pass --yes")
    io.stderr.write("continue? [y/N] ")
    io.stderr.flush()
    if io.stdin.readline().strip().lower() not in (b"y", b"yes"):
        raise UsageError("cancelled")


def _cells(row: dict[str, object]) -> list[str]:
    passed = row["pass"]
    verdict = "-" if passed is None else ("PASS" if passed else "FAIL")
    improvement = row["improvement"]
    return [str(row["name"]), str(row["target"] or "not in seed"), _fmt(row["baseline"]),
            _fmt(row["optimised"]), str(row["unit"]),
            "-" if improvement is None else f"{float(str(improvement)):+.1f} %", verdict]


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    number = float(str(value))
    return f"{number:.4g}" if abs(number) < 1 else f"{number:,.1f}"


def header(result: BenchResult) -> list[str]:
    data = result.as_dict()
    model = data["target"]["latency_model"]
    machine = data["machine"]
    price = data["price"]
    return [f"llmx bench, {data['date']}, {machine['platform']}, {machine['cpus']} CPUs, "
            f"Python {machine['python']}, targets: {data['targets']}",
            f"target: {data['target']['kind']}; latency model: ttft {model['ttft_ms']} ms, "
            f"{model['tokens_per_s']} tokens/s, {model['per_input_token_ms']} ms/input token, "
            f"+{model['latency_ms']} ms, jitter {model['jitter']}, "
            f"new connection {model['connect_ms']} ms",
            f"workload: {json.dumps(data['workload'])}",
            f"price per 1M tokens: input {price['input']}, output {price['output']}, "
            f"batch discount {price['batch_discount'] * 100:.0f} %; "
            f"run took {data['duration_s']} s"]


def plain_table(result: BenchResult) -> str:
    rows = [list(HEADERS)] + [_cells(r) for r in result.as_dict()["rows"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    notes = [f"- {r.name}: {r.note}" for r in result.rows if r.note]
    return "\n".join([*header(result), "", *lines, "", "notes:", *notes]) + "\n"


def _console(io: Io) -> Console:
    from llmx.ui.tables import stats_console

    return stats_console(io.stdout, env=io.env, is_tty=io.stdout_is_tty)


def _rich(result: BenchResult, console: Console) -> None:
    from rich.table import Table

    for line in header(result):
        console.print(line, highlight=False, markup=False)
    table = Table(*HEADERS)
    for row in result.as_dict()["rows"]:
        cells = _cells(row)
        style = {"PASS": "green", "FAIL": "red"}.get(cells[-1], "")
        table.add_row(*cells[:-1], f"[{style}]{cells[-1]}[/]" if style else cells[-1])
    console.print(table)
    for row in result.rows:
        if row.note:
            console.print(f"- {row.name}: {row.note}", highlight=False, markup=False)
