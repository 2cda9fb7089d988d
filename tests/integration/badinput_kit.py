"""The harness of the bad-input table: one private directory per case, and a snapshot of
every file before and after, so "nothing lost" is checked, not assumed.

A case about parsing, validation, files or the state dir (a read-only or full tmpfs
mounted over it: the file system refuses the writes, whoever makes them) runs in-process
(``llmx.cli.run`` through the CLI test harness, with the environment, working directory and
standard streams the process would have had); a case about the process's edges runs as a
real ``python -m llmx``: a closed stdin, a full or closed stdout, a non-UTF-8 argument as
the interpreter decodes it, and ``llmx sim`` (which would serve forever if a check failed).

Cases run once per module: the processes concurrently (a thread each) while the in-process
cases run one by one in the main thread; each parametrized test then asserts on its own
case's result, so a failure names the case.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

LLMX = [sys.executable, "-m", "llmx"]
EMBEDDED_CONFIG = ('default_profile = "local"\n[profiles.local]\nprovider = "openai"\n'
                   'model = "sim-1"\nbase_url = "embedded"\n')

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One bad input: what is run, what must come back, what must not change.

    ``argv`` may hold ``{dir}`` (the case's directory). ``files`` are written first (bytes).
    ``stdout`` is ``"pipe"``, ``"full"`` (/dev/full) or ``"closed"``; ``stdin`` is bytes or
    ``None`` for a closed stdin. ``frozen``: no file under the case directory (config,
    input, output, state) may be created, changed or removed — the refused command touches
    nothing. ``expect_out`` is a substring stdout must hold (an answer was delivered).
    """

    name: str
    argv: tuple[str, ...]
    code: int
    needle: str = ""
    files: Mapping[str, bytes] = field(default_factory=dict)
    config: str | None = EMBEDDED_CONFIG
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: bytes | None = b""
    stdout: str = "pipe"
    frozen: bool = True
    one_error_line: bool = True
    expect_out: str | None = None
    setup: Setup | None = None
    check: Callable[[Path, Outcome], None] | None = None
    may_write: tuple[str, ...] = ()  # path prefixes a frozen case may still change
    mount: bool = False  # its setup mounts a file system (root only)
    process: bool = False  # runs as a real process even when nothing below asks for one

    @property
    def in_process(self) -> bool:
        """Whether nothing about this case needs a process of its own (see the docstring)."""
        return not (self.process or self.stdin is None or self.stdout != "pipe")


def changed(outcome: Outcome, allowed: tuple[str, ...] = ()) -> list[str]:
    """Files created, changed or removed by the run, outside the ``allowed`` prefixes."""
    paths = set(outcome.before) | set(outcome.after)
    moved = [path for path in paths if outcome.before.get(path) != outcome.after.get(path)]
    return sorted(path for path in moved if not path.startswith(allowed))


@dataclass(frozen=True)
class Outcome:
    root: Path
    code: int
    stdout: bytes
    stderr: str
    before: Mapping[str, str]
    after: Mapping[str, str]


def snapshot(root: Path) -> dict[str, str]:
    """Every regular file under ``root``: relative path -> sha256 of its bytes."""
    found: dict[str, str] = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


PRIVATE = ("LLMX_", "OPENAI", "ANTHROPIC")
# The environment a case starts from: this process's, less every llmx and provider variable,
# taken once (in-process cases swap os.environ while they run).
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE)}


def case_env(root: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(BASE_ENV)
    env.update(LLMX_HOME=str(root / "state"), XDG_CONFIG_HOME=str(root / "xdg"),
               XDG_STATE_HOME=str(root / "xdg-state"), NO_COLOR="1", HOME=str(root))
    if (root / "llmx.toml").exists():
        env["LLMX_CONFIG"] = str(root / "llmx.toml")
    env.update({k: v.replace("{dir}", str(root)) for k, v in extra.items()})
    return env


def prepare(case: Case, root: Path) -> None:
    root.mkdir(parents=True)
    if case.config is not None:
        (root / "llmx.toml").write_text(case.config)
    for rel, data in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if case.setup is not None:
        case.setup(root)


def run_case(case: Case, root: Path, timeout: float = 60) -> Outcome:
    """The case as a real process (see the module docstring for which ones)."""
    prepare(case, root)
    before = snapshot(root)
    argv = [*LLMX, *(arg.replace("{dir}", str(root)) for arg in case.argv)]
    argv_bytes = [os.fsencode(arg) for arg in argv]
    stdin: int | None = subprocess.PIPE if case.stdin is not None else subprocess.DEVNULL
    out_target: object = subprocess.PIPE
    full = None
    if case.stdout == "full":
        full = open("/dev/full", "wb")  # noqa: SIM115 - closed below
        out_target = full
    try:
        proc = subprocess.Popen(argv_bytes, stdin=stdin, stdout=out_target,  # type: ignore[arg-type]
                                stderr=subprocess.PIPE, env=case_env(root, case.env),
                                cwd=root, close_fds=True,
                                preexec_fn=_close_stdin if case.stdin is None else None)
        if case.stdout == "closed":
            assert proc.stdout is not None
            proc.stdout.close()
            proc.stdout = None  # the reader is gone before the answer: a closed pipe
        out, err = proc.communicate(input=case.stdin, timeout=timeout)
    finally:
        if full is not None:
            full.close()
    return Outcome(root, proc.returncode, out or b"", err.decode(errors="replace"), before,
                   snapshot(root))


def run_in_process(case: Case, root: Path) -> Outcome:
    """The case through ``llmx.cli.run`` in this process, with what its process would have
    had: the environment (``os.environ`` too), the working directory, a piped stdin."""
    from tests.cli.harness import environ_as, invoke

    assert case.in_process and case.stdin is not None, case.name
    prepare(case, root)
    before = snapshot(root)
    argv = [arg.replace("{dir}", str(root)) for arg in case.argv]
    env = case_env(root, case.env)
    with environ_as(env):
        result = invoke(argv, stdin=case.stdin, env=env, cwd=root)
    return Outcome(root, result.returncode, result.stdout,
                   result.stderr.decode(errors="replace"), before, snapshot(root))


def _close_stdin() -> None:
    os.close(0)  # the child starts with no fd 0 at all, as after `<&-`


def run_all(cases: list[Case], base: Path, workers: int = 4) -> dict[str, Outcome]:
    """Every case's outcome: first the in-process cases, one by one in this thread (they
    swap process-wide state: streams, cwd, env), then the processes in a pool of threads, so
    that no child is forked while this thread is swapping that state or importing."""
    done = {case.name: run_in_process(case, base / case.name)
            for case in cases if case.in_process}
    with ThreadPoolExecutor(workers) as pool:
        futures = {case.name: pool.submit(run_case, case, base / case.name)
                   for case in cases if not case.in_process}
        done.update({name: future.result() for name, future in futures.items()})
    return {case.name: done[case.name] for case in cases}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]
