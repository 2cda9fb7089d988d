"""``llmx stats``: the request records, summarised (see ``llmx.stats`` for definitions)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator

from llmx.cli._io import Io
from llmx.counters import counters_dir, read_totals
from llmx.errors import UsageError
from llmx.paths import records_dir
from llmx.records import Record, RecordLog, Skipped
from llmx.stats import GROUP_BY, Summary, parse_since, summarize
from llmx.stats_figures import Figures


def run_stats(io: Io, *, as_json: bool, since: str | None, by: str | None,
              entries: int | None, disk_bytes: int | None) -> int:
    """Print the summary of the records since ``since`` (e.g. ``"24h"``; None: all).

    ``entries`` / ``disk_bytes`` describe the cache store (None when there is none).
    ``--json`` prints ``Summary.to_json()`` plus ``entries``, ``disk_bytes`` and ``since``.
    """
    if by is not None and by not in GROUP_BY:
        raise UsageError(f"cannot group by {by!r}", hint="use --by model or --by profile")
    now = time.time()
    start = now - parse_since(since) if since is not None else None
    log = RecordLog(records_dir(io.env))
    skipped, figures = Skipped(), Figures()
    summary = summarize(_folded(log.read(start, skipped), figures), now=now, by=by,
                        start=start, skipped=skipped)
    counts = read_totals(counters_dir(io.env), start)
    if as_json:
        data = {**summary.to_json(), "entries": entries, "disk_bytes": disk_bytes,
                "since": since, "monitoring": figures.to_json(counts)}
        io.stdout.write(json.dumps(data) + "\n")
    elif summary.total.requests == 0:
        io.stdout.write(_nothing_yet(since, entries) + "\n")
    else:
        _print_table(io, summary, entries=entries, disk_bytes=disk_bytes, since=since)
        io.stdout.write("".join(f"  {line}\n" for line in ["monitoring:",
                                                            *figures.lines(counts)]))
    io.stdout.flush()
    if summary.skipped_lines and not as_json:
        io.stderr.write(f"note: {summary.skipped_lines:,} unreadable lines in the records "
                        "were skipped\n")
    if not as_json:
        from llmx.cache.model import resolve_embedder

        note = resolve_embedder("auto")[1]  # the default embedder, as this install has it
        if note is not None:
            io.stderr.write(f"note: {note}\n")
    return 0


def _folded(records: Iterable[Record], figures: Figures) -> Iterator[Record]:
    """``records``, each also folded into ``figures`` as it passes."""
    for record in records:
        figures.add(record)
        yield record


def _nothing_yet(since: str | None, entries: int | None) -> str:
    when = f" in the last {since}" if since else " yet"
    cache = f" ({entries:,} cached answers)" if entries else ""
    return f"No requests recorded{when}{cache}: run `llmx ask` and look again."


def _print_table(io: Io, summary: Summary, *, entries: int | None, disk_bytes: int | None,
                 since: str | None) -> None:
    from llmx.ui.tables import print_stats, stats_console

    console = stats_console(io.stdout, env=io.env, is_tty=io.stdout_is_tty)
    print_stats(console, summary, entries=entries, disk_bytes=disk_bytes, since=since)
