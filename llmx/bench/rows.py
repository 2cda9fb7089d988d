"""Rows from raw figures: each row's target, baseline, optimised, improvement, pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmx.bench import targets as t
from llmx.bench.measure import Level, Timed, percentile
from llmx.bench.model import BenchOptions, Row, improvement_lower
from llmx.bench.why import by_ttft, why

if TYPE_CHECKING:
    from llmx.bench.runner import Raw


def _row(name: str, table: dict[str, t.Target], baseline: float | None,
         optimised: float | None, unit: str, improvement: float | None, note: str) -> Row:
    target = table.get(name)
    passed = None if target is None or optimised is None else target.check(optimised)
    return Row(name, target.text if target else None, baseline, optimised, unit, improvement,
               passed, note)


def build_rows(raw: Raw, options: BenchOptions) -> tuple[Row, ...]:
    table = t.targets_for(options.targets)
    return (*_latency(raw, table), *_cache(raw, table), *_concurrency(raw, table),
            *_ttft(raw, table), *_tokens(raw, table), _cost(raw, options, table),
            *_lookup(raw, table), _startup(raw, table))


def _pair(name: str, table: dict[str, t.Target], base: list[float], opt: list[float],
          q: float, note: str) -> Row:
    b, o = percentile(base, q), percentile(opt, q)
    return _row(name, table, b, o, "ms", improvement_lower(b, o), note)


def _latency(raw: Raw, table: dict[str, t.Target]) -> list[Row]:
    n = len(raw.simple_opt.wall_ms)
    simple = (f"{n} distinct short prompts each side, sequential, no stream, no repeats; "
              f"{why(raw.simple_base, raw.simple_opt)}; the optimised side's first request "
              f"(cache open) took {raw.cold_ms:.0f} ms, before these")
    complex_note = (f"{len(raw.complex_opt.wall_ms)} prompts with piped log context; "
                    "optimised sends them compressed (aggressive), cache bypassed; "
                    f"{why(raw.complex_base, raw.complex_opt)}")
    return [_pair(t.SIMPLE_P50, table, raw.simple_base.wall_ms, raw.simple_opt.wall_ms, 50,
                  simple),
            _pair(t.SIMPLE_P95, table, raw.simple_base.wall_ms, raw.simple_opt.wall_ms, 95,
                  simple),
            _pair(t.COMPLEX_P50, table, raw.complex_base.wall_ms, raw.complex_opt.wall_ms, 50,
                  complex_note)]


def _cache(raw: Raw, table: dict[str, t.Target]) -> list[Row]:
    mix = raw.mix
    rate = mix.hits / mix.requests * 100.0
    false_rate = mix.false_hits / mix.hits * 100.0 if mix.hits else 0.0
    note = (f"{mix.requests} requests (30 % exact repeats, 20 % paraphrases, 50 % new), "
            "from GPTCache's paraphrase pairs (new = an origin, paraphrase = its pair's "
            "similar text, written by people or a model, not by llmx); "
            f"{mix.exact_hits} exact + {mix.semantic_hits} semantic hits; "
            f"{mix.paraphrase_hits} of {mix.paraphrases} paraphrases served their origin's "
            "answer; an ideal cache "
            "would hit 50 %; baseline has no cache")
    false_note = (f"{mix.false_hits} of {mix.hits} hits were for a new prompt or returned "
                  "another prompt's answer")
    return [_row(t.HIT_RATE, table, 0.0, rate, "%", rate, note),
            _row(t.FALSE_HITS, table, None, false_rate, "% of hits", None, false_note)]


def _best(levels: list[Level]) -> Level | None:
    clean = [lv for lv in levels if lv.errors == 0]
    return clean[-1] if clean else None


def _concurrency(raw: Raw, table: dict[str, t.Target]) -> list[Row]:
    base, opt = _best(raw.levels_base), _best(raw.levels_opt)
    tried = ", ".join(f"{lv.level}:{lv.errors} err" for lv in raw.levels_opt)
    b = float(base.level) if base else 0.0
    o = float(opt.level) if opt else 0.0
    note = (f"levels tried 10/50/100/200 (no higher); optimised {tried}; cache bypassed; "
            "baseline opens a client per request")
    bt = base.throughput if base else None
    ot = opt.throughput if opt else None
    gain = None if bt is None or ot is None or bt <= 0 else (ot / bt - 1.0) * 100.0
    return [_row(t.CONCURRENCY, table, b, o, "requests", None, note),
            _row(t.THROUGHPUT, table, bt, ot, "req/s", gain,
                 "requests / wall time at each side's highest clean level")]


def _ttft(raw: Raw, table: dict[str, t.Target]) -> list[Row]:
    def ttfts(timed: Timed) -> list[float]:
        out = [c.ttft_ms for c in timed.completions if c.ttft_ms is not None]
        return out or [float("nan")]

    def seen(timed: Timed) -> list[float]:  # from the caller's start: set-up and prepare too
        out = [s.ttft_ms for s in timed.samples if s.ttft_ms is not None]
        return out or [float("nan")]

    base, opt, hit = seen(raw.ttft_base), seen(raw.ttft_opt), ttfts(raw.ttft_cached)
    note = (f"{len(opt)} streamed prompts each side; TTFT as the caller saw it, from the "
            "moment it starts the request (a new client's set-up included) to the first "
            f"token; {why(raw.ttft_base, raw.ttft_opt, by_ttft)}")
    b50 = percentile(base, 50)
    return [_pair(t.TTFT_P50, table, base, opt, 50, note),
            _pair(t.TTFT_P95, table, base, opt, 95, note),
            _row(t.TTFT_CACHED, table, b50, percentile(hit, 50), "ms",
                 improvement_lower(b50, percentile(hit, 50)),
                 "the same prompts streamed again (cache replay); baseline has no cache, so "
                 "its figure is its uncached p50")]


def _tokens(raw: Raw, table: dict[str, t.Target]) -> list[Row]:
    rows = []
    for name, red in ((t.TOKENS_CONS, raw.conservative), (t.TOKENS_AGGR, raw.aggressive)):
        pct = improvement_lower(float(red.before), float(red.after))
        rows.append(_row(name, table, float(red.before), float(red.after), "tokens",
                         pct, f"complex prompts; {red.ids_kept * 100:.0f} % of ERROR request "
                              "ids preserved"))
    # the target is on the reduction, not on the token count
    return [_with_pass(row, table) for row in rows]


def _with_pass(row: Row, table: dict[str, t.Target]) -> Row:
    target = table.get(row.name)
    passed = None if target is None or row.improvement is None else target.check(
        row.improvement)
    return Row(row.name, row.target, row.baseline, row.optimised, row.unit, row.improvement,
               passed, row.note)


def _cost(raw: Raw, options: BenchOptions, table: dict[str, t.Target]) -> Row:
    price = options.price

    def money(tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * price.input + tokens_out * price.output) / 1e6

    def usage(timed: Timed) -> tuple[int, int]:
        done = timed.completions
        return (sum(c.usage.input_tokens for c in done),
                sum(c.usage.output_tokens for c in done))

    cb, co = usage(raw.complex_base), usage(raw.complex_opt)
    base = money(*raw.mix.tokens_all) + money(*cb)
    spent = (money(*raw.mix.tokens_sent) + money(*co)) * (1.0 - price.batch_discount)
    saving = improvement_lower(base, spent)
    cache_only = improvement_lower(base, money(*raw.mix.tokens_sent) + money(*cb)) or 0.0
    both = improvement_lower(base, money(*raw.mix.tokens_sent) + money(*co)) or 0.0
    note = (f"cache alone saves {cache_only:.1f} %, with compression {both:.1f} %, then the "
            f"batch discount; cache mix + complex prompts at input {price.input} / output "
            f"{price.output} "
            f"per 1M tokens; optimised = cache misses only, compressed, then the provider "
            f"batch discount ({price.batch_discount * 100:.0f} %, from the price table, "
            "not measured); cache hits priced at their original's usage in the baseline")
    row = _row(t.COST, table, base, spent, "$", saving, note)
    return _with_pass(row, table)


def _lookup(raw: Raw, table: dict[str, t.Target]) -> list[Row]:
    if not raw.lookup_ms:
        return [_row(name, table, None, None, "ms", None, "no exact hits to time")
                for name in (t.LOOKUP_P50, t.LOOKUP_P99)]
    note = f"{len(raw.lookup_ms)} exact-tier lookups of cached prompts; baseline has no cache"
    return [_row(t.LOOKUP_P50, table, None, percentile(raw.lookup_ms, 50), "ms", None, note),
            _row(t.LOOKUP_P99, table, None, percentile(raw.lookup_ms, 99), "ms", None, note)]


def _startup(raw: Raw, table: dict[str, t.Target]) -> Row:
    ratio = raw.startup_ms / raw.python_ms if raw.python_ms > 0 else None
    note = (f"median of 5 subprocess runs; baseline = `python -c pass`; "
            f"ratio {ratio:.1f}x" if ratio else "median of 5 subprocess runs")
    return _row(t.STARTUP, table, raw.python_ms, raw.startup_ms, "ms", None,
                note + "; the seed names no target")
