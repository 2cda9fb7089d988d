"""``[templates.NAME]``: checked like every config table, listed by ``llmx templates``, and
applied by ``ask -t NAME`` (system, prompt with ``{input}``/``{args}``, settings; flags win).
What would be sent is read from ``--dry-run --json``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmx.errors import ExitCode
from llmx.templates import render
from tests.cli.harness import InProcessCli, in_process_cli, invoke  # noqa: F401

CONFIG = '''\
default_profile = "main"
[profiles.main]
provider = "openai"
model = "gpt-4o-mini"
base_url = "embedded"
[profiles.other]
provider = "ollama"
model = "llama3.2"
base_url = "embedded"
[templates.review]
description = "review a diff"
system = "You are a careful reviewer."
prompt = "Review this change:\\n\\n{input}\\n\\nFocus on: {args}"
temperature = 0.1
[templates.local]
prompt = "Translate to French: {args}"
profile = "other"
model = "mistral"
max_tokens = 50
[templates.terse]
system = "Answer in one word."
'''


def sent(cli: InProcessCli, *args: str, stdin: bytes = b"") -> dict[str, Any]:
    done = cli.run("ask", "--dry-run", "--json", *args, stdin=stdin)
    assert done.returncode == 0, done.err
    loaded: dict[str, Any] = json.loads(done.out)
    return loaded


def test_system_and_prompt_with_stdin_and_words(cli: InProcessCli) -> None:
    cli.write_config(CONFIG)
    obj = sent(cli, "-t", "review", "naming", stdin=b"- a = 1\n+ b = 1\n")
    assert obj["system"] == "You are a careful reviewer."
    assert obj["messages"] == [{"role": "user", "content":
                                "Review this change:\n\n- a = 1\n+ b = 1\n\n\nFocus on: naming"}]


def test_a_template_picks_profile_and_model_and_flags_win(cli: InProcessCli) -> None:
    cli.write_config(CONFIG)
    assert sent(cli, "-t", "local", "good morning")["model"] == "mistral"
    assert sent(cli, "-t", "local", "-m", "qwen", "hi")["model"] == "qwen"
    assert sent(cli, "-t", "terse", "-s", "mine", "q")["system"] == "mine"
    done = cli.run("ask", "-t", "local", "--json", "--no-stream", "good morning")
    assert done.returncode == 0, done.err
    assert json.loads(done.out)["profile"] == "other"
    done = cli.run("ask", "-t", "local", "-p", "main", "--json", "good morning")
    assert json.loads(done.out)["profile"] == "main"


def test_a_template_without_prompt_keeps_the_prompt_and_its_context(cli: InProcessCli) -> None:
    cli.write_config(CONFIG)
    obj = sent(cli, "-t", "terse", "capital of France?", stdin=b"(geography)")
    assert obj["system"] == "Answer in one word."
    assert obj["messages"][0]["content"] == "capital of France?\n\n(geography)"


def test_input_without_stdin_is_refused(cli: InProcessCli) -> None:
    cli.write_config(CONFIG)
    done = invoke(["ask", "-t", "review", "x"], env=cli.env, cwd=cli.home, stdin_is_tty=True)
    done.assert_one_error(ExitCode.USAGE, "reads stdin ({input})", "nothing is piped")
    cli.run("ask", "-t", "review", "--no-stdin", "x").assert_one_error(
        ExitCode.USAGE, "--no-stdin")


def test_unknown_template_names_the_closest(cli: InProcessCli) -> None:
    cli.write_config(CONFIG)
    cli.run("ask", "-t", "reveiw", "x").assert_one_error(ExitCode.USAGE, "did you mean 'review'")
    cli.write_config(CONFIG.split("[templates.review]")[0])
    cli.run("ask", "-t", "review", "x").assert_one_error(ExitCode.USAGE, "no [templates] table")


@pytest.mark.parametrize(("table", "needles"), [
    ('[templates.t]\npromt = "x"\n', ("templates.t.promt", "did you mean `prompt`")),
    ('[templates.t]\ntemperature = 5\n', ("templates.t.temperature",)),
    ('[templates.t]\nprofile = "nobody"\n', ("templates.t.profile", "no profile named")),
    ('[templates.t]\nreasoning_effort = "max"\n', ("templates.t.reasoning_effort",)),
    ('templates = 3\n', ("templates", "expected a table of templates")),
    ('[templates]\nt = "x"\n', ("templates.t", "expected a table")),
])
def test_bad_template_tables_are_config_errors(cli: InProcessCli, table: str,
                                               needles: tuple[str, ...]) -> None:
    head, _, _ = CONFIG.partition("[templates.review]")
    if table.startswith("templates ="):
        cli.write_config(table + head)
    else:
        cli.write_config(head + table)
    cli.run("templates").assert_one_error(ExitCode.USAGE, *needles)
    cli.run("ask", "q").assert_one_error(ExitCode.USAGE, *needles)


def test_templates_lists_them(cli: InProcessCli) -> None:
    cli.write_config(CONFIG)
    done = cli.run("templates")
    assert done.returncode == 0, done.err
    assert done.out.splitlines() == [
        "local   Translate to French: {args}  (profile=other)  (model=mistral)",
        "review  review a diff",
        "terse   Answer in one word.",
    ]
    listed = json.loads(cli.run("templates", "--json").out)
    assert listed["review"]["temperature"] == 0.1 and listed["local"]["max_tokens"] == 50
    assert sorted(listed) == ["local", "review", "terse"]
    cli.write_config(CONFIG.partition("[templates.review]")[0])
    empty = cli.run("templates")
    assert (empty.returncode, empty.out) == (0, "") and "no templates" in empty.err


def test_render_fills_markers_once() -> None:
    assert render("{input}|{args}", ["{input}"], "{args}") == "{args}|{input}"
    assert render("a {x} b", ["w1", "w2"], None) == "a {x} b\n\nw1 w2"
    assert render("only {input}", [], "in") == "only in"
