"""The bad-input table: every category of mistake a user (or a hostile input) can make.

Each row runs in a private directory (in-process through the CLI harness, or as a real
``python -m llmx`` where the process's own edges are the point: see ``badinput_kit``) and
must end with its documented exit code, at most one ``error:`` line (plus hints and warnings), no
traceback, and nothing lost: a refused command changes no file at all (config, input,
output, state); a batch with bad lines still answers every good line, once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmx.errors import ExitCode
from tests.cli.harness import environ_as, invoke
from tests.integration.badinput_kit import (
    LLMX,
    Case,
    Outcome,
    case_env,
    changed,
    error_lines,
    run_all,
)
from tests.integration.conftest import Sim, profile_toml, start_sim

USAGE, AUTH, PARTIAL = int(ExitCode.USAGE), int(ExitCode.AUTH), int(ExitCode.PARTIAL)
OUTPUT_FAILED = int(ExitCode.OUTPUT)
RECORDS = ("state/records/",)  # a failed request is recorded (nothing was sent)
SECRET = "sk-live-bad-input-table-0123456789abcdef"


def cfg(**keys: object) -> str:
    """The embedded-simulator profile with profile keys set or added (TOML literals)."""
    base = {"provider": '"openai"', "model": '"sim-1"', "base_url": '"embedded"'}
    base.update({key: str(value) for key, value in keys.items()})
    lines = ['default_profile = "local"', "[profiles.local]"]
    lines += [f"{key} = {value}" for key, value in base.items()]
    return "\n".join(lines) + "\n"


def sub(table: str, **keys: object) -> str:
    return cfg() + f"[profiles.local.{table}]\n" + "".join(
        f"{key} = {value}\n" for key, value in keys.items())


def jsonl(*rows: object) -> bytes:
    return b"".join((row if isinstance(row, bytes) else json.dumps(row).encode()) + b"\n"
                    for row in rows)


GOOD = jsonl({"id": "a", "prompt": "first question"}, {"id": "b", "prompt": "second question"})
ANSWERS = b'{"id":"old","text":"an answer paid for earlier","usage":null}\n'


def ask(name: str, *argv: str, code: int = USAGE, needle: str = "", **kw: object) -> Case:
    return Case(name, ("ask", *argv), code, needle, **kw)  # type: ignore[arg-type]


# -- config files --------------------------------------------------------------------------

CONFIG = [
    ask("config-malformed-toml", "hi", needle="llmx.toml", config=cfg() + 'model = "x\n'),
    ask("config-unknown-top-key", "hi", needle="colour", config="colour = 1\n" + cfg()),
    ask("config-typo-key", "hi", needle="temperature", config=cfg(temprature="0.5")),
    ask("config-temperature-high", "hi", needle="temperature", config=cfg(temperature="9")),
    ask("config-temperature-type", "hi", needle="temperature", config=cfg(temperature='"hot"')),
    ask("config-temperature-nan", "hi", needle="temperature", config=cfg(temperature="nan")),
    ask("config-temperature-inf", "hi", needle="temperature", config=cfg(temperature="inf")),
    ask("config-max-tokens-zero", "hi", needle="max_tokens", config=cfg(max_tokens="0")),
    ask("config-max-tokens-negative", "hi", needle="max_tokens", config=cfg(max_tokens="-3")),
    ask("config-provider-unknown", "hi", needle="provider", config=cfg(provider='"bogus"')),
    ask("config-base-url-ftp", "hi", needle="base_url", config=cfg(base_url='"ftp://x"')),
    ask("config-base-url-empty", "hi", needle="base_url", config=cfg(base_url='""')),
    ask("config-default-profile-missing", "hi", needle="nope",
        config='default_profile = "nope"\n' + cfg().split("\n", 1)[1]),
    ask("config-extends-cycle", "hi", needle="extends",
        config=cfg(extends='"other"') + '[profiles.other]\nextends = "local"\n'),
    ask("config-extends-unknown", "hi", needle="ghost", config=cfg(extends='"ghost"')),
    ask("config-literal-api-key", "hi", needle="api_key", config=cfg(api_key=f'"{SECRET}"')),
    ask("config-cache-mode", "hi", needle="mode", config=sub("cache", mode='"sometimes"')),
    ask("config-cache-threshold", "hi", needle="threshold", config=sub("cache", threshold="1.5")),
    ask("config-cache-max-entries", "hi", needle="max_entries",
        config=sub("cache", max_entries="0")),
    ask("config-cache-ttl", "hi", needle="ttl", config=sub("cache.ttl", code='"forever"')),
    ask("config-compression-mode", "hi", needle="mode", config=sub("compression", mode='"max"')),
    ask("config-batch-concurrency-zero", "hi", needle="concurrency",
        config=sub("batch", concurrency="0")),
    ask("config-batch-concurrency-huge", "hi", needle="concurrency",
        config=sub("batch", concurrency="20000")),
    ask("config-timeout-negative", "hi", needle="timeout", config=cfg(timeout="-1")),
    ask("config-retries-negative", "hi", needle="retries", config=cfg(retries="-1")),
    ask("config-http-connections", "hi", needle="max_connections",
        config=sub("http", max_connections="0")),
    ask("config-price-negative", "hi", needle="input", config=sub("price", input="-1")),
    ask("config-profiles-not-table", "hi", needle="profiles", config='profiles = "x"\n'),
    ask("config-api-key-env-is-a-key", "hi", needle="api_key_env",
        config=cfg(api_key_env=f'"{SECRET}"')),
    ask("config-api-key-env-unset", "hi", code=AUTH, needle="LLMX_TABLE_UNSET_KEY",
        config=cfg(api_key_env='"LLMX_TABLE_UNSET_KEY"'), may_write=RECORDS),
    ask("config-api-key-cmd-fails", "hi", code=AUTH, config=cfg(api_key_cmd='"false"'),
        may_write=RECORDS),
    ask("config-context-window-tiny", "hi", needle="context_window",
        config=cfg(context_window="10")),
    ask("config-invalid-utf8", "hi", config=None, files={"bad.toml": b'model = "\xff"\n'},
        env={"LLMX_CONFIG": "{dir}/bad.toml"}),
    ask("config-flag-missing-file", "--config", "{dir}/absent.toml", "hi", needle="absent.toml"),
    ask("config-flag-is-directory", "--config", "{dir}/adir", "hi", config=None,
        files={"adir/keep": b""}),
    ask("config-env-missing-file", "hi", needle="absent.toml", config=None,
        env={"LLMX_CONFIG": "{dir}/absent.toml"}),
    ask("config-unknown-profile-flag", "-p", "wrok", "hi", needle="wrok"),
]

# -- flags ---------------------------------------------------------------------------------

FLAGS = [
    ask("ask-temperature-high", "--temperature", "9", "hi", needle="temperature"),
    ask("ask-temperature-negative", "--temperature", "-1", "hi", needle="temperature"),
    ask("ask-temperature-nan", "--temperature", "nan", "hi", needle="temperature"),
    ask("ask-temperature-inf", "--temperature", "inf", "hi", needle="temperature"),
    ask("ask-temperature-word", "--temperature", "warm", "hi", needle="temperature"),
    ask("ask-max-tokens-zero", "--max-tokens", "0", "hi", needle="max-tokens"),
    ask("ask-max-tokens-negative", "--max-tokens", "-1", "hi", needle="max-tokens"),
    ask("ask-max-tokens-word", "--max-tokens", "many", "hi", needle="max-tokens"),
    ask("ask-kind-bogus", "--kind", "bogus", "hi", needle="kind"),
    ask("ask-compress-bogus", "--compress", "extreme", "hi", needle="compress"),
    ask("ask-unknown-option", "--frobnicate", "hi", needle="frobnicate"),
    ask("ask-model-missing-value", "hi", "-m"),
    ask("ask-profile-missing-value", "hi", "-p"),
    ask("ask-non-utf8-argument", "caf\udcff", process=True),  # fsencode: the raw byte 0xff
    ask("ask-no-prompt-empty-stdin", "-", needle="prompt"),
    ask("ask-stdin-non-utf8", "-", needle="UTF-8", stdin=b"caf\xe9\n"),
    ask("ask-dry-run-bad-temperature", "--dry-run", "--temperature", "9", "hi",
        needle="temperature"),
    ask("ask-anthropic-temperature-range", "--temperature", "1.5", "hi", needle="temperature",
        config=cfg(provider='"anthropic"')),
    Case("batch-j-zero", ("batch", "in.jsonl", "-o", "out.jsonl", "-j", "0"), USAGE, "-j",
         files={"in.jsonl": GOOD, "out.jsonl": ANSWERS}),
    Case("batch-j-negative", ("batch", "in.jsonl", "-j", "-5"), USAGE, "-j",
         files={"in.jsonl": GOOD}),
    Case("batch-j-huge", ("batch", "in.jsonl", "-j", "10001"), USAGE, "-j",
         files={"in.jsonl": GOOD}),
    Case("batch-j-word", ("batch", "in.jsonl", "-j", "lots"), USAGE, files={"in.jsonl": GOOD}),
    Case("batch-rpm-negative", ("batch", "in.jsonl", "-o", "out.jsonl", "--rpm", "-1"), USAGE,
         "rpm", files={"in.jsonl": GOOD, "out.jsonl": ANSWERS}),
    Case("batch-rpm-word", ("batch", "in.jsonl", "--rpm", "fast"), USAGE, "rpm",
         files={"in.jsonl": GOOD}),
    Case("batch-tpm-negative", ("batch", "in.jsonl", "-o", "out.jsonl", "--tpm", "-1"), USAGE,
         "tpm", files={"in.jsonl": GOOD, "out.jsonl": ANSWERS}),
    Case("batch-line-retries-negative", ("batch", "in.jsonl", "--line-retries", "-1"), USAGE,
         "retries", files={"in.jsonl": GOOD}),
    Case("batch-resume-without-output", ("batch", "in.jsonl", "--resume"), USAGE, "-o",
         files={"in.jsonl": GOOD}),
    Case("sim-port-too-big", ("sim", "--port", "99999"), USAGE, "port", process=True),
    Case("sim-port-negative", ("sim", "--port", "-1"), USAGE, "port", process=True),
    Case("sim-fail-rate", ("sim", "--fail-rate", "2"), USAGE, "fail-rate", process=True),
    Case("sim-latency-negative", ("sim", "--latency-ms", "-5"), USAGE, "latency", process=True),
    Case("sim-latency-nan", ("sim", "--latency-ms", "nan"), USAGE, "latency", process=True),
    Case("stats-since-bogus", ("stats", "--since", "yesterdayish"), USAGE, "since"),
    Case("stats-by-bogus", ("stats", "--by", "colour"), USAGE, "by"),
    Case("compress-mode-bogus", ("compress", "--mode", "extreme", "in.txt"), USAGE, "mode",
         files={"in.txt": b"some text\n"}),
    Case("compress-max-tokens-zero", ("compress", "--max-tokens", "0", "in.txt"), USAGE,
         "max-tokens", files={"in.txt": b"some text\n"}),
    Case("compress-max-tokens-bogus", ("compress", "--max-tokens", "lots", "in.txt"), USAGE,
         "max-tokens", files={"in.txt": b"some text\n"}),
    Case("completions-unknown-shell", ("completions", "tcsh"), USAGE, "tcsh"),
    Case("bench-targets-bogus", ("bench", "--targets", "pass9"), USAGE, "pass9"),
    Case("cache-ls-negative-limit", ("cache", "ls", "-n", "-1"), USAGE, "limit"),
    Case("unknown-command", ("frobnicate",), USAGE, "frobnicate"),
]

# -- JSONL lines ---------------------------------------------------------------------------


def batch_lines(name: str, *bad: object, code: int = PARTIAL, errors: int = 1,
                unique: bool = True) -> Case:
    """A file of two good lines around bad ones: the good ones answered once, each bad one an
    error line, every id once, the input untouched."""
    rows = [{"id": "a", "prompt": "first question"}, *bad,
            {"id": "z", "prompt": "last question"}]
    return Case(f"jsonl-{name}", ("batch", "in.jsonl", "-o", "out.jsonl"), code,
                files={"in.jsonl": jsonl(*rows)}, frozen=False, one_error_line=False,
                check=lambda root, outcome: _check_lines(root, outcome, errors, unique))


def _check_lines(root: Path, outcome: Outcome, errors: int, unique: bool) -> None:
    assert outcome.before["in.jsonl"] == outcome.after["in.jsonl"]
    raw = (root / "in.jsonl").read_bytes().splitlines()
    lines = [json.loads(line) for line in (root / "out.jsonl").read_bytes().splitlines()]
    assert len(lines) == sum(1 for line in raw if line.strip()), lines
    ids = [line["id"] for line in lines]
    if unique:  # a duplicate id's error line carries the id it repeats
        assert len(ids) == len(set(ids)), ids
    answered = {line["id"] for line in lines if "error" not in line}
    assert {"a", "z"} <= answered, lines
    assert sum("error" in line for line in lines) == errors, lines


JSONL = [
    batch_lines("invalid-json", b'{"id": "x", "prompt": '),
    batch_lines("array", [1, 2]),
    batch_lines("missing-prompt", {"id": "x"}),
    batch_lines("prompt-number", {"id": "x", "prompt": 7}),
    batch_lines("non-utf8", b'{"id": "x", "prompt": "caf\xe9"}'),
    batch_lines("duplicate-id", {"id": "a", "prompt": "again"}, unique=False),
    batch_lines("unknown-param", {"id": "x", "prompt": "p", "params": {"temprature": 1}}),
    batch_lines("bad-priority", {"id": "x", "prompt": "p", "priority": "urgent"}),
    batch_lines("bad-role", {"id": "x", "messages": [{"role": "robot", "content": "hi"}]}),
    batch_lines("param-temperature-high", {"id": "x", "prompt": "p",
                                           "params": {"temperature": 9}}),
    batch_lines("param-max-tokens-zero", {"id": "x", "prompt": "p",
                                          "params": {"max_tokens": 0}}),
    batch_lines("param-temperature-nan", b'{"id": "x", "prompt": "p", '
                b'"params": {"temperature": NaN}}'),
    batch_lines("unknown-profile", {"id": "x", "prompt": "p", "profile": "ghost"}),
    batch_lines("openai-bad-url", {"custom_id": "x", "method": "POST", "url": "/v1/nope",
                                   "body": {"model": "m", "messages": []}}),
    batch_lines("torn-last-line", b'{"id": "x", "prompt": "cut he'),
    Case("jsonl-empty-file", ("batch", "in.jsonl", "-o", "out.jsonl"), 0,
         files={"in.jsonl": b""}, frozen=False, one_error_line=False),
    Case("jsonl-blank-lines", ("batch", "in.jsonl", "-o", "out.jsonl"), 0,
         files={"in.jsonl": b"\n \n\t\n"}, frozen=False, one_error_line=False),
]

# -- files and paths -----------------------------------------------------------------------


def _link(kind: str) -> object:
    def setup(root: Path) -> None:
        if kind == "hard":
            os.link(root / "in.jsonl", root / "out.jsonl")
        else:
            (root / "out.jsonl").symlink_to(root / "in.jsonl")
    return setup


PATHS = [
    Case("path-input-missing", ("batch", "nope.jsonl", "-o", "out.jsonl"), USAGE, "nope.jsonl",
         files={"out.jsonl": ANSWERS}),
    Case("path-input-directory", ("batch", "adir", "-o", "out.jsonl"), USAGE, "adir",
         files={"adir/x": b"", "out.jsonl": ANSWERS}),
    Case("path-output-is-input", ("batch", "in.jsonl", "-o", "in.jsonl"), USAGE, "in.jsonl",
         files={"in.jsonl": GOOD}),
    Case("path-output-is-input-resume", ("batch", "in.jsonl", "-o", "in.jsonl", "--resume"),
         USAGE, files={"in.jsonl": GOOD}),
    Case("path-output-hard-link-to-input", ("batch", "in.jsonl", "-o", "out.jsonl"), USAGE,
         files={"in.jsonl": GOOD}, setup=_link("hard")),  # type: ignore[arg-type]
    Case("path-output-symlink-to-input", ("batch", "in.jsonl", "-o", "out.jsonl"), USAGE,
         files={"in.jsonl": GOOD}, setup=_link("soft")),  # type: ignore[arg-type]
    Case("path-output-dir-missing", ("batch", "in.jsonl", "-o", "no/such/out.jsonl"), USAGE,
         files={"in.jsonl": GOOD}),
    Case("path-output-is-directory", ("batch", "in.jsonl", "-o", "adir"), USAGE, "adir",
         files={"in.jsonl": GOOD, "adir/x": b""}),
    Case("path-summary-dir-missing", ("batch", "in.jsonl", "-o", "out.jsonl", "--summary-json",
                                      "no/such/summary.json"), USAGE, "summary",
         files={"in.jsonl": GOOD, "out.jsonl": ANSWERS}),
    Case("path-compress-missing", ("compress", "absent.txt"), USAGE, "absent.txt"),
    Case("path-compress-non-utf8", ("compress", "in.txt"), USAGE, "UTF-8",
         files={"in.txt": b"caf\xe9\n"}),
    Case("path-config-init-exists", ("config", "init", "{dir}/llmx.toml"), USAGE, "exists"),
    Case("path-config-show-unknown-profile", ("config", "show", "-p", "ghost"), USAGE, "ghost"),
]

# -- the state directory -------------------------------------------------------------------


def _home_is_file(root: Path) -> None:
    (root / "state").write_bytes(b"not a directory\n")


def _corrupt_cache(root: Path) -> None:
    responses = root / "state" / "cache" / "responses"
    responses.mkdir(parents=True)
    (responses / "cache.db").write_bytes(b"this is not a database\n" * 100)


def _bad_records(root: Path) -> None:
    records = root / "state" / "records"
    records.mkdir(parents=True)
    (records / "2026-12.jsonl").write_bytes(b'{"torn": \n\xff\xfe garbage\n')


MOUNTS: list[Path] = []  # state dirs mounted by a setup, unmounted after the table


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def _mounted_state(size: str, *, readonly: bool = False, warm: bool = False) -> object:
    """$LLMX_HOME on its own tmpfs: read-only, or filled to the last byte; ``warm`` answers
    one ask first, so the case's ask is a cache hit."""

    def setup(root: Path) -> None:
        state = root / "state"
        state.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                        str(state)], check=True, capture_output=True)
        MOUNTS.append(state)
        if warm:
            env = case_env(root, {})
            with environ_as(env):
                warmed = invoke(["ask", "-p", "sim", "hi"], env=env, cwd=root)
            assert warmed.returncode == 0, warmed.stderr
        if readonly:
            subprocess.run(["mount", "-o", "remount,ro", str(state)], check=True,
                           capture_output=True)
        else:
            fd = os.open(state / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * 4096):
                    pass
            os.close(fd)
    return setup


def state_case(name: str, argv: tuple[str, ...], setup: object, **kw: object) -> Case:
    return Case(name, argv, 0, setup=setup, frozen=False, one_error_line=False,  # type: ignore[arg-type]
                mount=True, **kw)  # type: ignore[arg-type]


def _all_answered(root: Path, outcome: Outcome) -> None:
    lines = [json.loads(line) for line in (root / "out.jsonl").read_bytes().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"], lines
    assert all(isinstance(line.get("text"), str) and line["text"] for line in lines), lines


def _moved_aside(root: Path, outcome: Outcome) -> None:
    """A damaged database is moved aside with one warning, and a fresh one is used."""
    moved = list((root / "state" / "cache" / "responses").glob("cache.db.corrupt-*"))
    assert len(moved) == 1, outcome.stderr
    warnings = [line for line in outcome.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "damaged" in warnings[0], outcome.stderr


STATE = [
    ask("state-home-is-a-file", "-p", "sim", "hi", code=0, frozen=False,
        one_error_line=False, expect_out="", setup=_home_is_file),  # type: ignore[arg-type]
    ask("state-corrupt-cache-db", "-p", "sim", "hi", code=0, frozen=False,
        one_error_line=False, expect_out="", setup=_corrupt_cache,  # type: ignore[arg-type]
        check=_moved_aside),
    Case("state-bad-records-line", ("stats",), 0, frozen=False, one_error_line=False,
         setup=_bad_records),
    Case("state-corrupt-cache-ls", ("cache", "ls"), 0, setup=_corrupt_cache, frozen=False,
         one_error_line=False, check=_moved_aside),
    Case("state-corrupt-cache-prune", ("cache", "prune"), 0, setup=_corrupt_cache,
         frozen=False, one_error_line=False,
         check=_moved_aside),
    Case("state-readonly-cache-prune", ("cache", "prune"), USAGE, "read-only",
         setup=_mounted_state("4m", readonly=True, warm=True), mount=True),  # type: ignore[arg-type]
    state_case("state-readonly-ask-miss", ("ask", "-p", "sim", "hi"),
               _mounted_state("1m", readonly=True), expect_out=""),
    state_case("state-readonly-ask-hit", ("ask", "-p", "sim", "hi"),
               _mounted_state("4m", readonly=True, warm=True), expect_out=""),
    state_case("state-readonly-batch", ("batch", "in.jsonl", "-o", "out.jsonl"),
               _mounted_state("1m", readonly=True), files={"in.jsonl": GOOD},
               check=_all_answered),
    state_case("state-full-ask-miss", ("ask", "-p", "sim", "hi"), _mounted_state("256k"),
               expect_out=""),
    state_case("state-full-ask-hit", ("ask", "-p", "sim", "hi"),
               _mounted_state("4m", warm=True), expect_out=""),
    state_case("state-full-batch", ("batch", "in.jsonl", "-o", "out.jsonl"),
               _mounted_state("256k"), files={"in.jsonl": GOOD}, check=_all_answered),
]

# -- closed and full streams ---------------------------------------------------------------

STREAMS = [
    ask("stdout-full-ask", "-p", "sim", "hi", code=OUTPUT_FAILED, stdout="full", frozen=False),
    Case("stdout-full-help", ("--help",), OUTPUT_FAILED, stdout="full"),
    Case("stdout-full-version", ("--version",), OUTPUT_FAILED, stdout="full"),
    Case("stdout-full-profiles", ("profiles",), OUTPUT_FAILED, stdout="full"),
    Case("stdout-full-config-show", ("config", "show"), OUTPUT_FAILED, stdout="full"),
    Case("stdout-full-stats", ("stats",), OUTPUT_FAILED, stdout="full"),
    Case("stdout-full-batch", ("batch", "in.jsonl"), OUTPUT_FAILED, stdout="full",
         files={"in.jsonl": GOOD}, frozen=False),
    ask("stdout-closed-ask", "-p", "sim", "hi", code=0, stdout="closed", frozen=False,
        one_error_line=False),
    Case("stdout-closed-help", ("--help",), 0, stdout="closed", one_error_line=False),
    ask("stdin-closed-ask", "-p", "sim", "hi", code=0, stdin=None, frozen=False,
        one_error_line=False, expect_out=""),
    ask("stdin-closed-dash", "-", code=USAGE, stdin=None),
]

CASES = CONFIG + FLAGS + JSONL + PATHS + STATE + STREAMS


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    base = tmp_path_factory.mktemp("bad-inputs")
    runnable = [case for case in CASES if can_mount() or not case.mount]
    try:
        yield run_all(runnable, base)
    finally:
        for state in MOUNTS:
            subprocess.run(["umount", "-l", str(state)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_the_table_is_large_and_names_are_unique() -> None:
    assert len(CASES) >= 100
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, outcomes: dict[str, Outcome]) -> None:
    if case.mount and not can_mount():
        pytest.skip("needs root to mount a read-only or full state dir")
    outcome = outcomes[case.name]
    where = f"{case.name}: exit {outcome.code}\n{outcome.stderr}"
    assert outcome.code == case.code, where
    assert "Traceback" not in outcome.stderr, where
    assert SECRET not in outcome.stderr and SECRET.encode() not in outcome.stdout, where
    errors = error_lines(outcome.stderr)
    if case.code != 0 and case.one_error_line:
        assert len(errors) == 1, where
        assert case.needle in errors[0], where
        assert len(errors[0]) < 400, where
        assert outcome.stdout == b"", where
    if case.code == 0:
        assert not errors, where
    if case.frozen:
        assert not changed(outcome, case.may_write), f"{where}\nfiles changed"
    if case.expect_out is not None:
        assert outcome.stdout.strip(), where
    if case.check is not None:
        case.check(outcome.root, outcome)


# -- signals: SIGINT and SIGTERM end every long command the same documented way --------------

SIGNALS = [signal.SIGINT, signal.SIGTERM]


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a foreground job gets it from a shell


@pytest.fixture
def slow_sim(sim_factory: Callable[..., Sim]) -> Sim:
    return sim_factory("--tokens-per-s", "40")


def _signal_env(tmp_path: Path, url: str) -> dict[str, str]:
    (tmp_path / "llmx.toml").write_text(profile_toml(url))
    return case_env(tmp_path, {})


@pytest.mark.parametrize("sig", SIGNALS, ids=[sig.name for sig in SIGNALS])
def test_signal_mid_stream_ask(sig: signal.Signals, slow_sim: Sim, tmp_path: Path) -> None:
    env = _signal_env(tmp_path, slow_sim.url)
    argv = [*LLMX, "ask", "--no-cache", "--max-tokens", "60", "tell me a long story"]
    whole = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert whole.returncode == 0, whole.stderr
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env, cwd=tmp_path,
                            preexec_fn=_default_signals)
    assert proc.stdout is not None
    first = os.read(proc.stdout.fileno(), 1)  # unbuffered: communicate() reads the rest
    time.sleep(0.2)
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=30)
    shown = first + rest
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert err.decode().strip().splitlines() == ["error: interrupted"]
    partial = shown.removesuffix(b"\n")  # a newline may close the cut line
    assert partial and whole.stdout.startswith(partial), (shown, whole.stdout)  # nothing twice


def _has_lines(path: Path) -> bool:
    """The run is under way: its partial output (renamed over -o at the end) holds lines."""
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig", SIGNALS, ids=[sig.name for sig in SIGNALS])
def test_signal_mid_batch(sig: signal.Signals, slow_sim: Sim, tmp_path: Path) -> None:
    env = _signal_env(tmp_path, slow_sim.url)
    rows = [{"id": f"q{i}", "prompt": f"question number {i}", "params": {"max_tokens": 8}}
            for i in range(200)]
    (tmp_path / "in.jsonl").write_bytes(jsonl(*rows))
    proc = subprocess.Popen([*LLMX, "batch", "in.jsonl", "-o", "out.jsonl", "-j", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env, cwd=tmp_path,
                            preexec_fn=_default_signals)
    out, partial = tmp_path / "out.jsonl", tmp_path / ".out.jsonl.llmx-partial"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _has_lines(partial):
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err.decode()
    lines = out.read_bytes().splitlines(keepends=True)
    assert lines and all(line.endswith(b"\n") for line in lines)
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == len(set(ids)) and len(ids) < len(rows)


@pytest.mark.parametrize("sig", SIGNALS, ids=[sig.name for sig in SIGNALS])
def test_signal_stops_the_simulator(sig: signal.Signals) -> None:
    server = start_sim()
    server.proc.send_signal(sig)
    server.proc.wait(timeout=10)
    assert server.proc.returncode == ExitCode.INTERRUPTED
    assert server.proc.stderr is not None
    assert "Traceback" not in server.proc.stderr.read()
