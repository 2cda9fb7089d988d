"""``llmx stats`` on a terminal: Rich tables and a small text chart of a ``Summary``.

Everything takes the console it draws on (or the width to draw in), so tests render into
a string at a fixed width. The chart is drawn with Unicode block characters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from llmx.stats import Bucket, Point, Summary
from llmx.stats import Group as StatsGroup

SPARKS = "▁▂▃▄▅▆▇█"
EIGHTHS = ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")
FULL_BLOCK = "█"
DASH = "-"  # shown for "no value" and inside ranges


def stats_console(stream: TextIO, *, env: Mapping[str, str], is_tty: bool) -> Console:
    """A console for ``llmx stats``: no ANSI when ``stream`` is not a terminal;
    ``NO_COLOR`` drops colour; width from the terminal or ``$COLUMNS`` (default 80)."""
    return Console(file=stream, force_terminal=is_tty, no_color=env.get("NO_COLOR", "") != "",
                   highlight=False, _environ=env)


def fmt_ms(value: float | None) -> str:
    if value is None:
        return DASH
    if value < 10:
        return f"{value:.2f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.2f} s"


def fmt_rate(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def fmt_money(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1:
        return f"${value:,.2f}"
    digits = f"{value:.6f}".rstrip("0").rstrip(".")
    return f"${digits}"


def fmt_bytes(size: int) -> str:
    """Binary units: ``512 B``, ``3.4 MiB``."""
    if size < 1024:
        return f"{size} B"
    amount, unit = size / 1024, "KiB"
    for bigger in ("MiB", "GiB", "TiB"):
        if amount < 1024:
            break
        amount, unit = amount / 1024, bigger
    return f"{amount:.1f} {unit}"


def fmt_time(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))


def _pairs(*items: tuple[str, str]) -> str:
    return " · ".join(f"{label} {value}" for label, value in items)


def overview_table(group: StatsGroup, *, entries: int | None,
                   disk_bytes: int | None) -> Table:
    """The headline numbers of one group, as label / value rows."""
    tiers = group.tiers
    table = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    errors = f" ({group.errors:,} error{'s' if group.errors > 1 else ''})" if group.errors else ""
    table.add_row("requests", f"{group.requests:,}{errors}")
    table.add_row("cache tiers", _pairs(
        ("exact", f"{tiers.exact:,} ({fmt_rate(tiers.rate(tiers.exact))})"),
        ("semantic", f"{tiers.semantic:,} ({fmt_rate(tiers.rate(tiers.semantic))})"),
        ("miss", f"{tiers.miss:,}"), ("off", f"{tiers.off:,}")))
    table.add_row("hit rate", fmt_rate(tiers.hit_rate))
    table.add_row("lookup", _pairs(("p50", fmt_ms(group.lookup_p50)),
                                   ("p99", fmt_ms(group.lookup_p99))))
    table.add_row("latency hit", _pairs(("p50", fmt_ms(group.latency_hit_p50)),
                                        ("p95", fmt_ms(group.latency_hit_p95))))
    table.add_row("latency miss", _pairs(("p50", fmt_ms(group.latency_miss_p50)),
                                         ("p95", fmt_ms(group.latency_miss_p95))))
    table.add_row("TTFT p50", _pairs(("hit", fmt_ms(group.ttft_hit_p50)),
                                     ("miss", fmt_ms(group.ttft_miss_p50))))
    table.add_row("tokens", _pairs(("in", f"{group.input_tokens:,}"),
                                   ("out", f"{group.output_tokens:,}")))
    table.add_row("tokens saved", _pairs(("by cache", f"{group.saved_by_cache:,}"),
                                         ("by compression", f"{group.saved_by_compression:,}")))
    table.add_row("money", _money(group))
    table.add_row("cache", _cache(entries, disk_bytes))
    return table


def _money(group: StatsGroup) -> str:
    if group.cost_spent is None and group.cost_saved is None:
        return "n/a (no price known: set price in the profile)"
    line = _pairs(("spent", fmt_money(group.cost_spent)), ("saved", fmt_money(group.cost_saved)))
    if group.priced_requests < group.requests:
        line += f" ({group.priced_requests:,} of {group.requests:,} requests priced)"
    return line


def _cache(entries: int | None, disk_bytes: int | None) -> str:
    if entries is None and disk_bytes is None:
        return "none"
    parts = [] if entries is None else [f"{entries:,} entries"]
    if disk_bytes is not None:
        parts.append(f"{fmt_bytes(disk_bytes)} on disk")
    return " · ".join(parts)


_GROUP_COLUMNS: tuple[tuple[str, Callable[[StatsGroup], str]], ...] = (
    ("requests", lambda g: f"{g.requests:,}"),
    ("exact", lambda g: f"{g.tiers.exact:,}"),
    ("semantic", lambda g: f"{g.tiers.semantic:,}"),
    ("hit\nrate", lambda g: fmt_rate(g.tiers.hit_rate)),
    ("lookup\np99", lambda g: fmt_ms(g.lookup_p99)),
    ("tokens\nsaved", lambda g: f"{g.saved_by_cache:,}"),
    ("money\nsaved", lambda g: fmt_money(g.cost_saved)),
)
_DROP_FIRST = (("exact", "semantic"), ("money\nsaved",), ("tokens\nsaved",), ("lookup\np99",))
_NAME_MIN = 12


def groups_table(groups: Sequence[StatsGroup], by: str, *, width: int = 80) -> Table:
    """One row per model or profile; on a narrow screen the less important columns go
    (exact and semantic, money, tokens, lookup, in that order) so names stay readable."""
    cells = {heading: [cell(g) for g in groups] for heading, cell in _GROUP_COLUMNS}
    need = {h: 2 + max(max(map(len, h.split("\n"))), *map(len, v)) for h, v in cells.items()}
    name_width = min(_NAME_MIN, max(len(by), *(len(g.name) for g in groups)))
    kept = [heading for heading, _ in _GROUP_COLUMNS]
    for headings in _DROP_FIRST:
        if 1 + name_width + sum(need[h] + 1 for h in kept) <= width:  # edges, pads, rules
            break
        kept = [heading for heading in kept if heading not in headings]
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    table.add_column(by, overflow="fold", min_width=name_width)
    for heading in kept:
        table.add_column(heading, justify="right", no_wrap=True)
    for index, group in enumerate(groups):
        table.add_row(group.name, *(cells[heading][index] for heading in kept))
    return table


def _edge(value: float) -> str:
    return f"{value:g} ms" if value < 1000 else f"{value / 1000:g} s"


def bucket_label(bucket: Bucket) -> str:
    if bucket.hi_ms is None:
        return f"≥ {_edge(bucket.lo_ms)}"
    if bucket.lo_ms == 0:
        return f"< {_edge(bucket.hi_ms)}"
    low, high = _edge(bucket.lo_ms), _edge(bucket.hi_ms)
    if low.split()[1] == high.split()[1]:
        low = low.split()[0]
    return f"{low}{DASH}{high}"


def bar(count: int, most: int, width: int) -> str:
    """A horizontal bar ``count / most`` of ``width`` cells, in eighths of a cell; any
    non-zero count shows at least a sliver."""
    if count <= 0 or most <= 0 or width <= 0:
        return ""
    eighths = max(1, round(count / most * width * 8))
    return FULL_BLOCK * (eighths // 8) + EIGHTHS[eighths % 8]


def latency_chart(histogram: Sequence[Bucket], *, width: int) -> Text:
    """Histogram rows ``label │bar count`` from the first to the last non-empty bucket."""
    used = [i for i, bucket in enumerate(histogram) if bucket.count]
    if not used:
        return Text("")
    shown = histogram[used[0]:used[-1] + 1]
    labels = [bucket_label(bucket) for bucket in shown]
    label_width = max(len(label) for label in labels)
    counts = [f"{bucket.count:,}" for bucket in shown]
    bar_width = max(4, width - label_width - max(len(c) for c in counts) - 4)
    most = max(bucket.count for bucket in shown)
    text = Text()
    for label, bucket, count in zip(labels, shown, counts, strict=True):
        text.append(f"{label:>{label_width}} │")
        text.append(bar(bucket.count, most, bar_width), style="cyan")
        text.append(f" {count}\n")
    text.rstrip()
    return text


def sparkline(values: Sequence[int]) -> str:
    """One character per value, scaled to the largest; zero is the lowest mark and any
    non-zero value is above it."""
    most = max(values, default=0)
    top = len(SPARKS) - 1
    return "".join(SPARKS[0] if value <= 0 else SPARKS[max(1, round(value / most * top))]
                   for value in values)


def merge_points(points: Sequence[Point], limit: int) -> list[Point]:
    """Adjacent points summed so that at most ``limit`` remain."""
    if limit <= 0 or len(points) <= limit:
        return list(points)
    per = -(-len(points) // limit)
    return [Point(chunk[0].start, sum(p.requests for p in chunk), sum(p.hits for p in chunk))
            for chunk in (points[i:i + per] for i in range(0, len(points), per))]


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def hits_chart(summary: Summary, *, width: int) -> Text:
    """Requests and hits over the window as two sparklines."""
    label = 9
    points = merge_points(summary.series, max(1, width - label))
    if not points:
        return Text("")
    step = summary.bucket_s * (-(-len(summary.series) // len(points)))
    end = max(summary.now, points[0].start)
    text = Text(f"requests and hits per {_duration(step)}, "
                f"{fmt_time(points[0].start)} → {fmt_time(end)} UTC\n", style="bold")
    text.append(f"{'requests':<{label}}")
    text.append(sparkline([p.requests for p in points]), style="blue")
    text.append(f"\n{'hits':<{label}}")
    text.append(sparkline([p.hits for p in points]), style="green")
    return text


def stats_view(summary: Summary, *, width: int, entries: int | None, disk_bytes: int | None,
               since: str | None) -> RenderableType:
    """Everything ``llmx stats`` shows, as one renderable."""
    window = f"last {since}" if since else (
        f"since {fmt_time(summary.start)} UTC" if summary.start is not None else "all time")
    parts: list[RenderableType] = [
        Text(f"llmx stats: {window}", style="bold"),
        overview_table(summary.total, entries=entries, disk_bytes=disk_bytes),
    ]
    if summary.by is not None and summary.groups:
        parts += [Text(""), groups_table(summary.groups, summary.by, width=width)]
    chart = latency_chart(summary.histogram, width=width)
    if chart.plain:
        parts += [Text(""), Text("latency of successful requests", style="bold"), chart]
    hits = hits_chart(summary, width=width)
    if hits.plain:
        parts += [Text(""), hits]
    return Group(*parts)


def print_stats(console: Console, summary: Summary, *, entries: int | None,
                disk_bytes: int | None, since: str | None) -> None:
    console.print(stats_view(summary, width=console.width, entries=entries,
                             disk_bytes=disk_bytes, since=since))
