"""The Typer app: every command's flags and help. The one composition root of the CLI.

``ask`` and the shared ``--config``/``--profile`` are built from the option table in
``llmx.cli.spec`` (which the fast path reads too). Each command body is a single call into
its module with the ``Io`` the app was run with (click's ``ctx.obj``; the process's own
when none was given), through the error boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from llmx import __version__
from llmx.choices import RULE_MODES
from llmx.cli._boundary import guarded
from llmx.cli._io import Io
from llmx.cli.ask import ASK_DEFAULTS
from llmx.cli.batch_spec import BATCH, BATCH_DEFAULTS, BATCH_WORDS, WARM, WARM_WORDS
from llmx.cli.chat_cmd import CHAT, CHAT_HELP, CHAT_WORDS, chat_body
from llmx.cli.help import (
    APP_HELP,
    ASK_HELP,
    BATCH_HELP,
    BENCH_HELP,
    COMPRESS_HELP,
    SERVE_HELP,
    STATS_HELP,
    WARM_HELP,
)
from llmx.cli.logs_cmd import logs_app
from llmx.cli.spec import ASK, ASK_WORDS, CONFIG, PROFILE
from llmx.cli.spec_typer import command_function, option
from llmx.cli.templates_cmd import TEMPLATES_HELP

app = typer.Typer(
    name="llmx",
    help=APP_HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Find, create and inspect the config file.", no_args_is_help=True)
app.add_typer(config_app, name="config")
cache_app = typer.Typer(help="Inspect and manage the response cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")
app.add_typer(logs_app, name="logs")

ConfigOpt = Annotated[str | None, option(CONFIG)]
ProfileOpt = Annotated[str | None, option(PROFILE)]


def _exit(ctx: typer.Context, command: Callable[[Io], int]) -> None:
    """Run ``command`` with the Io given to the app (``ctx.obj``) through the boundary."""
    io = ctx.obj if isinstance(ctx.obj, Io) else Io.system()
    raise typer.Exit(guarded(lambda: command(io), io))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"llmx {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                           help="Print the version and exit.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Fast, cheap LLM calls from the shell."""


def _config(ctx: typer.Context, own: str | None) -> str | None:
    """A command's --config, else the one given before the command (`llmx --config F cmd`)."""
    root = ctx.find_root().params.get("config")
    return own if own is not None else (root if isinstance(root, str) else None)


def _ask(ctx: typer.Context, words: tuple[str, ...], values: dict[str, Any]) -> None:
    from llmx.cli.ask import ask_args, run_ask

    args = ask_args(words, {**values, "config": _config(ctx, values["config"])})
    _exit(ctx, lambda io: run_ask(args, io))


app.command("ask", help=ASK_HELP)(command_function(ASK, ASK_WORDS, ASK_DEFAULTS, _ask))
app.command("chat", help=CHAT_HELP)(command_function(CHAT, CHAT_WORDS, ASK_DEFAULTS, chat_body))


def _valued(metavar: str, help_text: str) -> Any:
    return typer.Option(metavar=metavar, help=help_text)


@app.command()
def sim(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(metavar="PORT", help="Port (0 = a free one).")] = 0,
    latency_ms: Annotated[float, _valued("MS", "Added latency before the answer.")] = 0.0,
    ttft_ms: Annotated[float, _valued("MS", "Time to first token.")] = 0.0,
    tokens_per_s: Annotated[float, _valued("RATE", "Output pace (0 = instant).")] = 0.0,
    per_input_token_ms: Annotated[float, _valued("MS", "Cost per input token.")] = 0.0,
    jitter: Annotated[float, _valued("SHARE", "Relative jitter on delays, 0..1.")] = 0.0,
    fail_rate: Annotated[float, _valued("SHARE", "Share of 500/503 answers.")] = 0.0,
    rate_limit_rate: Annotated[float, _valued("SHARE", "Share of 429 answers.")] = 0.0,
    cut_rate: Annotated[float, _valued("SHARE", "Share of connections cut mid-answer.")] = 0.0,
    stall_rate: Annotated[float, _valued("SHARE", "Share of requests never answered.")] = 0.0,
    midstream_stall_rate: Annotated[float, _valued(
        "SHARE", "Share of answers that go silent part-way.")] = 0.0,
    refusal_rate: Annotated[float, _valued("SHARE", "Share of refusals.")] = 0.0,
    inband_error_rate: Annotated[float, _valued(
        "SHARE", "Share of answers ended by an in-band error.")] = 0.0,
    batch_delay_s: Annotated[float, _valued("SECONDS", "How long a provider batch takes.")] = 0.2,
    connect_delay_ms: Annotated[float, _valued(
        "MS", "Set-up time of each new connection.")] = 0.0,
    idle_close_ms: Annotated[float, _valued(
        "MS", "Close connections idle this long (0 = never).")] = 0.0,
    seed: Annotated[int, _valued("N", "Seed for answers and faults.")] = 0,
) -> None:
    """Run the embedded simulated provider (OpenAI, Anthropic and Ollama APIs) on 127.0.0.1.

    Prints its base URL as the first line of stdout and serves until Ctrl-C / SIGTERM.
    """
    from llmx.cli.sim_cmd import run_sim

    options = dict(port=port, latency_ms=latency_ms, ttft_ms=ttft_ms, tokens_per_s=tokens_per_s,
                   per_input_token_ms=per_input_token_ms, jitter=jitter, fail_rate=fail_rate,
                   rate_limit_rate=rate_limit_rate, cut_rate=cut_rate, stall_rate=stall_rate,
                   midstream_stall_rate=midstream_stall_rate, refusal_rate=refusal_rate,
                   inband_error_rate=inband_error_rate, batch_delay_s=batch_delay_s,
                   connect_delay_ms=connect_delay_ms, idle_close_ms=idle_close_ms, seed=seed)
    _exit(ctx, lambda io: run_sim(options, io))


@app.command(help=SERVE_HELP)
def serve(
    ctx: typer.Context,
    host: Annotated[str, _valued("HOST", "Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, _valued("PORT", "Port (0 = a free one).")] = 8080,
    profile: ProfileOpt = None,
    api_key_env: Annotated[list[str] | None, _valued(
        "VAR", "Environment variable holding the client key(s), comma separated; "
        "repeatable. Required off loopback.")] = None,
    config: ConfigOpt = None,
) -> None:
    from llmx.cli.serve_cmd import run_serve

    _exit(ctx, lambda io: run_serve(io, host=host, port=port, profile=profile,
                                    config=_config(ctx, config),
                                    api_key_env=list(api_key_env or ())))


@app.command()
def profiles(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """List profiles (the default one is marked with *)."""
    from llmx.cli.config_cmd import run_profiles

    _exit(ctx, lambda io: run_profiles(_config(ctx, config), io))


@app.command(help=TEMPLATES_HELP)
def templates(ctx: typer.Context, config: ConfigOpt = None,
              json_out: Annotated[bool, typer.Option("--json", help="Every key of each "
                                                     "template, as one JSON object.")] = False,
              ) -> None:
    from llmx.cli.templates_cmd import run_templates

    _exit(ctx, lambda io: run_templates(_config(ctx, config), json_out, io))


@config_app.command("path")
def config_path(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """Show where llmx looks for its config and which file it uses."""
    from llmx.cli.config_cmd import run_path

    _exit(ctx, lambda io: run_path(_config(ctx, config), io))


@config_app.command("show")
def config_show(ctx: typer.Context, profile: ProfileOpt = None,
                config: ConfigOpt = None) -> None:
    """Show a resolved profile as TOML (secrets masked)."""
    from llmx.cli.config_cmd import run_show

    _exit(ctx, lambda io: run_show(_config(ctx, config), profile, io))


@config_app.command("init")
def config_init(
    ctx: typer.Context,
    path: Annotated[str | None, typer.Argument(help="Where to write (default: the XDG "
                                               "config path).", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starter config file (never overwrites without --force)."""
    from llmx.cli.config_cmd import run_init

    _exit(ctx, lambda io: run_init(path, force, io))


@app.command(help=STATS_HELP)
def stats(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    since: Annotated[str | None, typer.Option(metavar="AGE", help="Only records newer than this, "
                                              "e.g. 30m, 24h, 7d.")] = None,
    by: Annotated[str | None, typer.Option(metavar="FIELD",
                                             help="Group by `model` or `profile`.")] = None,
) -> None:
    from llmx.cli.cache_cmd import cache_size
    from llmx.cli.stats_cmd import run_stats

    def run(io: Io) -> int:
        entries, disk_bytes = cache_size(io.env)
        return run_stats(io, as_json=json_out, since=since, by=by, entries=entries,
                         disk_bytes=disk_bytes)

    _exit(ctx, run)


def _batch(ctx: typer.Context, words: tuple[str, ...], values: dict[str, Any]) -> None:
    from llmx.cli.batch_cmd import run_batch_command
    from llmx.cli.batch_spec import batch_args

    args = batch_args(words, {**values, "config": _config(ctx, values.get("config"))})
    _exit(ctx, lambda io: run_batch_command(args, io))


app.command("batch", help=BATCH_HELP)(command_function(BATCH, BATCH_WORDS, BATCH_DEFAULTS,
                                                        _batch))


def _warm(ctx: typer.Context, words: tuple[str, ...], values: dict[str, Any]) -> None:
    from llmx.cli.batch_cmd import run_batch_command
    from llmx.cli.batch_spec import batch_args

    args = batch_args(words, {**values, "config": _config(ctx, values.get("config"))})
    _exit(ctx, lambda io: run_batch_command(args._replace(warm=True), io))


cache_app.command("warm", help=WARM_HELP)(command_function(WARM, WARM_WORDS, BATCH_DEFAULTS,
                                                           _warm))


@app.command(help=BENCH_HELP)
def bench(
    ctx: typer.Context,
    quick: Annotated[bool, typer.Option("--quick", help="A shorter run (<= 30 s).")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    targets: Annotated[str, typer.Option(metavar="NAME",
                                    help="Targets to compare with: seed or pass3.")] = "seed",
    yes: Annotated[bool, typer.Option("--yes", help="Don't ask before spending money on a "
                                      "real provider.")] = False,
    connect_ms: Annotated[float | None, typer.Option(
        "--connect-ms", metavar="MS", help="What a new connection to the simulator costs "
        "(default 20: TCP + TLS at a 10 ms round trip; 0: loopback only).")] = None,
    profile: ProfileOpt = None,
) -> None:
    from llmx.cli.bench_cmd import run_bench_command

    _exit(ctx, lambda io: run_bench_command(io, quick=quick, as_json=json_out,
                                            profile=profile, yes=yes, targets=targets,
                                            connect_ms=connect_ms))


@app.command(help=COMPRESS_HELP)
def compress(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="A file, or - for stdin.")] = "-",
    mode: Annotated[str, typer.Option(metavar="MODE",
                                      help=f"{' or '.join(RULE_MODES)}.")] = RULE_MODES[0],
    model: Annotated[str, typer.Option("-m", "--model", metavar="MODEL",
                                       help="Count tokens as this model does.")] = "gpt-4",
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object: text and "
                                           "counts.")] = False,
    max_tokens: Annotated[int | None, typer.Option(
        "--max-tokens", metavar="N", help="Token budget: over it, aggressive mode merges "
        "similar log templates (and says so).")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Which rules fired and the "
                                          "tokens each saved, on stderr.")] = False,
) -> None:
    from llmx.cli.compress_cmd import Options, run_compress

    options = Options(mode, model, json_out, max_tokens, explain)
    _exit(ctx, lambda io: run_compress(source, options, io))


@cache_app.command("path")
def cache_path(ctx: typer.Context) -> None:
    """Print the cache directory."""
    from llmx.cli.cache_cmd import run_cache_path

    _exit(ctx, lambda io: run_cache_path(io))


@cache_app.command("ls")
def cache_ls(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("-n", "--limit", help="How many entries.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False,
) -> None:
    """List cached answers, newest first."""
    from llmx.cli.cache_cmd import run_cache_ls

    _exit(ctx, lambda io: run_cache_ls(io, limit=limit, as_json=json_out))


@cache_app.command("show")
def cache_show(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="A key or a unique prefix of one (see `ls`).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one cached answer."""
    from llmx.cli.cache_cmd import run_cache_show

    _exit(ctx, lambda io: run_cache_show(io, key, as_json=json_out))


@cache_app.command("clear")
def cache_clear(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Really delete everything.")] = False,
) -> None:
    """Delete every cached answer (and the semantic index)."""
    from llmx.cli.cache_cmd import run_cache_clear

    _exit(ctx, lambda io: run_cache_clear(io, yes=yes))


@cache_app.command("prune")
def cache_prune(ctx: typer.Context) -> None:
    """Drop expired and over-limit entries and compact the files."""
    from llmx.cli.cache_cmd import run_cache_prune

    _exit(ctx, lambda io: run_cache_prune(io))


@app.command(epilog="Example:  llmx completions bash > ~/.local/share/bash-completion/"
             "completions/llmx")
def completions(
    ctx: typer.Context,
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish.")],
) -> None:
    """Print a static completion script for SHELL (the files in completions/ are these)."""
    from llmx.cli.completions import run_completions

    _exit(ctx, lambda io: run_completions(shell, io))
