"""``llmx templates``: the config's ``[templates.NAME]`` tables, one line each."""

from __future__ import annotations

import json
from pathlib import Path

from llmx.cli._io import Io

TEMPLATES_HELP = """List the config's prompt templates (`[templates.NAME]`, used by `ask -t NAME`).

A template holds `system`, `prompt` (`{input}`: stdin, `{args}`: the words after it), and
optionally `profile`, `model` and generation settings; flags given with `-t` win.

Examples:

* `llmx templates`   (name and summary, one a line)
* `llmx templates --json | jq .review`
* `git diff | llmx ask -t review "naming"`
"""


def run_templates(config_path: str | None, as_json: bool, io: Io) -> int:
    """Each template's name and summary (``--json``: every key of each, by name). With
    none, a note on stderr and nothing on stdout (exit 0)."""
    from llmx.config.files import load
    from llmx.templates import Template, listing
    from llmx.values import names

    config = load(config_path, io.env, Path.cwd())
    templates = config.templates
    if as_json:
        shown = {name: {key: getattr(templates[name], key) for key in names(Template)}
                 for name in sorted(templates)}
        io.stdout.write(json.dumps(shown, ensure_ascii=False) + "\n")
        return 0
    if not templates:
        io.stderr.write("no templates: add [templates.NAME] tables (prompt, system, profile, "
                        "model...) to the config\n")
        return 0
    rows = listing(templates)
    width = max(len(name) for name, _ in rows)
    for name, summary in rows:
        io.stdout.write(f"{name.ljust(width)}  {summary}".rstrip() + "\n")
    return 0
