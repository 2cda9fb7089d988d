"""Help texts of the CLI (Markdown, rendered by Typer/Rich)."""

from __future__ import annotations

from llmx.errors import EXIT_CODE_HELP

EXIT_CODES = "\n".join(f"    {int(code):>3}  {text}" for code, text in EXIT_CODE_HELP.items())

APP_HELP = f"""Fast, cheap LLM calls from the shell.

Examples:

    llmx ask -p sim "hello"     # embedded simulator: no key, no network
    git diff | llmx ask "write a commit message"
    llmx ask --json "2+2?" | jq .usage

Exit codes:

{EXIT_CODES}
"""

ASK_HELP = """Ask one question; the answer streams to stdout.

Examples:

* `llmx ask "why is the sky blue?"`
* `cat app.log | llmx ask "why does it fail?"`   (piped stdin is context)
* `llmx ask - < prompt.txt`   (stdin is the prompt)
* `llmx ask --json -p sim "hi" | jq .usage`
"""

STATS_HELP = """What the cache and compression saved, from the request records.

Examples:

* `llmx stats`   (everything recorded)
* `llmx stats --since 24h --by model`
* `llmx stats --json | jq .total`
"""

BATCH_HELP = """Answer a JSONL file of prompts concurrently: one output line per input line.

An input line is `{"id", "prompt" | "messages", "system", "model", "profile", "priority",
"params"}` or an OpenAI Batch request line (`custom_id`, `method`, `url`, `body`). Output
lines carry `id`, `text`, `usage`, `cached`, `latency_ms`, `attempts`, or `error`.
Identical prompts in flight are sent once; the cache answers repeats; a 429 pauses every
worker and lowers the concurrency. Ctrl-C stops sending, finishes what is in flight,
writes it, and exits 130: run again with `--resume` to do the rest.

Nothing is written until every flag and file checks out. `-o FILE` is written beside it
(`.FILE.llmx-partial`) and renamed over it when the run ends, so FILE only ever holds
whole lines; a full disk keeps every whole line and exits 7. `--resume` keeps the good
answers of FILE (and of a killed run's partial file), runs error lines again, and writes
each id once.

Examples:

* `llmx batch prompts.jsonl -o answers.jsonl -j 100`
* `llmx batch prompts.jsonl -o answers.jsonl --resume`   (after exit 7, 130 or a crash)
* `llmx batch prompts.jsonl -o answers.jsonl --no-cache`   (neither read nor write the cache)
* `llmx batch prompts.jsonl -o answers.jsonl --refresh`   (ask again, store the new answers)
* `llmx batch prompts.jsonl --provider-batch -o answers.jsonl`   (50 % cheaper, slower)
"""

WARM_HELP = """Answer a JSONL file of prompts into the cache, printing no answers.

A batch whose output is the cache: the same input lines, concurrency, limits, retries and
Ctrl-C handling as `llmx batch`, but answers go only to the cache (and the records). Lines
already answered by the cache are not sent again; stderr ends with what was already warm,
what was answered now, and each failed line (exit 7 when any failed).

Examples:

* `llmx cache warm faq.jsonl -j 50`
* `llmx cache warm faq.jsonl --refresh`   (ask every line again and store the new answers)
* `llmx cache warm faq.jsonl --semantic`   (a paraphrase already cached counts as warm)
"""

COMPRESS_HELP = """Compress text the way `llmx ask --compress` would; counts go to stderr.

Conservative mode changes no word (whitespace, duplicate lines, JSON, tables).
Aggressive mode also drops filler words, writes the keys of NDJSON lines once, and
folds log lines (and whole stack traces) that differ only in numbers, ids, IPs and
timestamps into one template with a count and a summary of each varying value;
every distinct word stays. Code is never touched; URLs, paths and quoted strings
are never cut. Over `--max-tokens`, similar templates are merged (the output says so).

Examples:

* `cat app.log | llmx compress --mode aggressive`
* `cat app.log | llmx compress --mode aggressive --explain >/dev/null`   (what each rule saved)
* `llmx compress big.log --mode aggressive --max-tokens 4000`
* `llmx compress prompt.md --json | jq .saved_pct`
"""

BENCH_HELP = """Reproduce the performance table by measurement: naive baseline vs llmx.

By default against the embedded simulator in its own process, with a latency model like a
hosted model's (printed with the results). Every figure comes from this run.

Examples:

* `llmx bench --quick`   (about 30 s)
* `llmx bench --json > bench.json`
"""

SERVE_HELP = """Serve the profiles behind an OpenAI-compatible endpoint (cache, single flight,
retries and records shared by every client).

Prints its base URL as the first line of stdout. A request's `model` names a profile, or a
model of the default profile; every answer carries `x-llmx-cache: exact|semantic|miss`.
Routes: `POST /v1/chat/completions`, `POST /v1/messages`, `POST /v1/embeddings`,
`GET /v1/models`, `GET /metrics`, `GET /healthz`.
Ctrl-C / SIGTERM finish the answers in flight, then exit 0.

Examples:

* `llmx serve --port 8080`   (then `OPENAI_BASE_URL=http://127.0.0.1:8080/v1`)
* `LLMX_CLIENT_KEYS=k1,k2 llmx serve --host 0.0.0.0 --api-key-env LLMX_CLIENT_KEYS -p work`
"""
