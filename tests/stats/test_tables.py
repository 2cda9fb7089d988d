"""``llmx.ui.tables``: the stats table and chart, rendered into a string at width 80."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from llmx.stats import Bucket, Point, summarize
from llmx.ui import tables
from llmx.ui.tables import (
    bar,
    fmt_bytes,
    fmt_money,
    fmt_ms,
    groups_table,
    latency_chart,
    merge_points,
    print_stats,
    sparkline,
)
from tests.stats.factory import BASE_TS, record
from tests.stats.test_stats import NOW, seven

WIDTH = 80


def render(renderable: RenderableType, width: int = WIDTH) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    console.print(renderable)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def rendered_stats(by: str | None = None, width: int = WIDTH, **options: object) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    summary = summarize(seven(), now=NOW, by=by)
    print_stats(console, summary, entries=options.get("entries", 12),  # type: ignore[arg-type]
                disk_bytes=options.get("disk_bytes", 3 * 1024 * 1024),  # type: ignore[arg-type]
                since=options.get("since", "24h"))  # type: ignore[arg-type]
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def line_with(text: str, start: str) -> str:
    """The one line that starts (after indentation) with ``start``."""
    (line,) = [row for row in text.splitlines() if row.lstrip().startswith(start)]
    return line


def test_overview_shows_the_numbers() -> None:
    out = rendered_stats()
    assert "last 24h" in out
    assert "7 (1 error)" in line_with(out, "requests   ")
    tiers = line_with(out, "cache tiers")
    assert "exact 1 (20.0%)" in tiers and "semantic 1 (20.0%)" in tiers
    assert "miss 3" in tiers and "off 2" in tiers
    assert "40.0%" in line_with(out, "hit rate")
    assert "p50 2.00 ms · p99 4.00 ms" in line_with(out, "lookup")
    assert "p50 300 ms · p95 700 ms" in line_with(out, "latency miss")
    assert "p50 2.00 ms · p95 6.00 ms" in line_with(out, "latency hit")
    assert "hit 1.00 ms · miss 100 ms" in line_with(out, "TTFT p50")
    assert "in 440 · out 125" in line_with(out, "tokens  ")
    assert "by cache 100 · by compression 12" in line_with(out, "tokens saved")
    money = line_with(out, "money")
    assert "spent $0.485" in money and "saved $0.1" in money and "6 of 7 requests priced" in money
    assert "12 entries · 3.0 MiB on disk" in line_with(out, "cache  ")


def test_fits_the_width_and_has_no_ansi() -> None:
    out = rendered_stats(by="model")
    assert "\x1b" not in out
    assert max(len(line) for line in out.splitlines()) <= WIDTH


def test_groups_appear_only_with_by() -> None:
    assert "p2" not in rendered_stats()
    by_profile = rendered_stats(by="profile")
    assert "p1" in by_profile and "p2" in by_profile
    row = line_with(by_profile, "p1 ")
    assert row.split()[:4] == ["p1", "4", "1", "0"]  # requests, exact, semantic
    assert "25.0%" in row


def test_money_without_prices_says_na() -> None:
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None, force_terminal=False)
    print_stats(console, summarize([record(), record(tier="exact")], now=NOW),
                entries=None, disk_bytes=None, since=None)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "n/a" in line_with(out, "money")
    assert "none" in line_with(out, "cache  ")


def test_narrow_screens_drop_columns_not_names() -> None:
    summary = summarize(seven(), now=NOW, by="model")
    wide = render(groups_table(summary.groups, "model", width=80), width=80)
    narrow = render(groups_table(summary.groups, "model", width=40), width=40)
    assert "semantic" in wide and "semantic" not in narrow
    assert line_with(narrow, "a ").split()[:2] == ["a", "4"]
    assert max(len(line) for line in narrow.splitlines()) <= 40


def test_bar_scales_in_eighths() -> None:
    assert bar(8, 8, 10) == "█" * 10
    assert bar(4, 8, 10) == "█" * 5
    assert bar(1, 8, 10) == "█▎"  # 1/8 of 10 cells = 10 eighths
    assert bar(1, 1000, 10) == "▏"  # never invisible
    assert bar(0, 8, 10) == ""


def histogram(counts: dict[int, int]) -> list[Bucket]:
    edges = [0.0, *tables_edges()]
    return [Bucket(lo, hi, counts.get(i, 0))
            for i, (lo, hi) in enumerate(zip(edges, [*edges[1:], None], strict=True))]


def tables_edges() -> tuple[float, ...]:
    from llmx.stats import LATENCY_EDGES_MS

    return LATENCY_EDGES_MS


def cells(line: str) -> float:
    """Width of the bar on a chart line, in cells (eighths count as fractions)."""
    return sum(1.0 if c == "█" else (tables.EIGHTHS.index(c) / 8 if c in tables.EIGHTHS[1:]
                                     else 0.0) for c in line)


def test_latency_chart_bars_are_proportional() -> None:
    chart = render(latency_chart(histogram({1: 10, 2: 5, 4: 20}), width=WIDTH))
    lines = chart.splitlines()
    assert [line.split("│")[0].strip() for line in lines] == [
        "1-2 ms", "2-5 ms", "5-10 ms", "10-20 ms"]  # trimmed to the used range
    assert [line.split()[-1] for line in lines] == ["10", "5", "0", "20"]
    widths = [cells(line) for line in lines]
    assert widths[2] == 0
    assert widths[0] * 2 == widths[3] and widths[1] * 4 == widths[3]
    assert max(len(line) for line in lines) <= WIDTH


def test_latency_chart_labels_seconds_and_open_end() -> None:
    chart = render(latency_chart(histogram({0: 1, 9: 1, 15: 2}), width=WIDTH))
    labels = [line.split("│")[0].strip() for line in chart.splitlines()]
    assert labels[0] == "< 1 ms" and "500 ms-1 s" in labels and labels[-1] == "≥ 50 s"


def test_latency_chart_empty() -> None:
    assert latency_chart(histogram({}), width=WIDTH).plain == ""


def test_sparkline() -> None:
    assert sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([3, 3]) == "██"
    assert sparkline([]) == ""


def test_merge_points_keeps_totals() -> None:
    points = [Point(BASE_TS + i * 60, i, i % 2) for i in range(100)]
    merged = merge_points(points, 40)
    assert len(merged) <= 40
    assert sum(p.requests for p in merged) == sum(range(100))
    assert sum(p.hits for p in merged) == 50
    assert merged[0].start == BASE_TS and merge_points(points, 200) == points


def test_hits_chart_in_the_view() -> None:
    start = 1_699_999_200.0
    records = [record(ts=start + 10, tier="exact"), record(ts=start + 3 * 3600, tier="exact"),
               record(ts=start + 3 * 3600 + 5, tier="exact"), record(ts=start + 7200)]
    summary = summarize(records, now=start + 86_400, start=start)
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None, force_terminal=False)
    print_stats(console, summary, entries=None, disk_bytes=None, since="24h")
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "per 1 h" in out and "UTC" in out
    assert "2023-11-14 22:00 → 2023-11-15 22:00 UTC" in out
    hits = line_with(out, "hits ").split()[-1]
    requests = line_with(out, "requests ▅").split()[-1]
    assert len(hits) == len(requests) == 25
    assert hits[3] == "█" and hits[0] == "▅" and hits[2] == "▁"  # 2 hits, 1 hit, none
    assert requests[2] == requests[0] == "▅"


def test_formats() -> None:
    assert (fmt_ms(None), fmt_ms(0.4123), fmt_ms(42.25), fmt_ms(812.4), fmt_ms(2345.0)) == (
        "-", "0.41 ms", "42.2 ms", "812 ms", "2.35 s")
    assert (fmt_money(None), fmt_money(0.0123), fmt_money(0.0), fmt_money(1234.5)) == (
        "n/a", "$0.0123", "$0", "$1,234.50")
    assert (fmt_bytes(512), fmt_bytes(2048), fmt_bytes(3 * 1024**3)) == (
        "512 B", "2.0 KiB", "3.0 GiB")
