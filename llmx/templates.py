"""Prompt templates: ``[templates.NAME]`` tables of the config, applied by ``llmx ask -t NAME``.

A template's keys are declared once, in ``Template`` below (type, check, help): the config
loader checks each table against them (an unknown key or a bad value is a ``ConfigError``
naming ``templates.NAME.KEY``, as for a profile), ``llmx templates`` lists them.

What a caller may rely on:

* ``prompt`` is a text in which ``{input}`` stands for what is piped on stdin and ``{args}``
  for the command line's prompt words (joined by spaces). Nothing else in it is special:
  other braces are sent as written. Words given to a template without ``{args}`` follow its
  text after a blank line; stdin piped to one without ``{input}`` is appended as context, as
  for any prompt. A template without ``prompt`` leaves the prompt as given.
* ``system``, ``profile``, ``model``, ``temperature``, ``max_tokens`` and
  ``reasoning_effort`` apply unless the command line sets them (a flag wins); each is
  checked by the same rule as the profile key or flag of that name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from llmx.choices import REASONING_EFFORTS
from llmx.config import fields, schema
from llmx.config.fields import setting, settings_table
from llmx.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from llmx.cli.ask import AskArgs

INPUT = "{input}"
ARGS = "{args}"
# What a template sets when the command line does not: the AskArgs field of each.
APPLIED = ("system", "profile", "model", "temperature", "max_tokens", "reasoning_effort")


@settings_table
class Template:
    """One ``[templates.NAME]`` table."""

    description: str | None = setting(
        default=None, check=schema.text(allow_empty=True), example="review a diff",
        help="free text, shown by `llmx templates`")
    system: str | None = setting(
        default=None, check=schema.text(allow_empty=True),
        example="You are a careful code reviewer.", help="the system prompt (-s wins)")
    prompt: str | None = setting(
        default=None, check=schema.text(), example="Review this change:\n\n{input}",
        help="the prompt: {input} is stdin, {args} the prompt words; unset: the prompt as "
             "given")
    profile: str | None = setting(
        default=None, check=schema.text(), example="claude", help="the profile to use (-p wins)")
    model: str | None = setting(
        default=None, check=fields.rule("model"), example="gpt-4o", help="the model (-m wins)")
    temperature: float | None = setting(
        default=None, check=schema.number(0.0, 2.0), example=0.2,
        help="sampling temperature (--temperature wins)")
    max_tokens: int | None = setting(
        default=None, check=fields.rule("max_tokens"), example=800,
        help="cap on answer tokens (--max-tokens wins)")
    reasoning_effort: str | None = setting(
        default=None, check=schema.choice(*REASONING_EFFORTS), example="low",
        help=f"{' | '.join(REASONING_EFFORTS)} (--reasoning-effort wins)")


def load_templates(raw: object, profiles: Mapping[str, Any]) -> Mapping[str, Template]:
    """The checked ``[templates]`` of a config document (``profiles``: the known names)."""
    if not isinstance(raw, Mapping):
        schema.fail("templates", f"expected a table of templates, got {schema.type_name(raw)}")
    spec = fields.table_spec(Template)
    found: dict[str, Template] = {}
    for name, table in sorted(raw.items()):
        path = schema.join("templates", name)
        if not name.strip():
            schema.fail(path, "a template name must not be empty")
        checked = schema.validate_table(path, table, spec)
        profile = checked.get("profile")
        if profile is not None and profile not in profiles:
            schema.fail(schema.join(path, "profile"), f"no profile named {profile!r}",
                        hint="list them with `llmx profiles`")
        found[name] = Template(**checked)
    return MappingProxyType(found)


def find(templates: Mapping[str, Template], name: str) -> Template:
    """The template ``name``, or a ``UsageError`` naming the closest one."""
    template = templates.get(name)
    if template is not None:
        return template
    if not templates:
        raise ConfigError(f"no template named {name!r}: the config has no [templates] table",
                          hint="add [templates.NAME] with a prompt and/or system")
    guess = schema.closest(name, templates)
    also = f"; did you mean {guess!r}?" if guess else ""
    raise UsageError(f"no template named {name!r}{also}", hint="list them with `llmx templates`")


def applied(args: AskArgs, template: Template) -> AskArgs:
    """``args`` with each of ``APPLIED`` the command line left unset taken from ``template``."""
    from llmx.values import replaced

    given = {name: getattr(template, name) for name in APPLIED
             if getattr(args, name) is None and getattr(template, name) is not None}
    return replaced(args, **given) if given else args


def render(prompt: str, words: Sequence[str], stdin: str | None) -> str:
    """``prompt`` with ``{args}`` and ``{input}`` filled in (see the module docstring), in
    one pass: a marker inside stdin or the words is text, never filled in again."""
    import re

    joined = " ".join(words)
    values = {INPUT: stdin or "", ARGS: joined}
    text = "".join(values.get(part, part) for part in re.split(r"(\{input\}|\{args\})", prompt))
    if ARGS not in prompt and joined:
        return f"{text.rstrip()}\n\n{joined}"
    return text


def listing(templates: Mapping[str, Template]) -> list[tuple[str, str]]:
    """``(name, summary)`` of each template, by name: its description, else its prompt's or
    system prompt's first line, with the profile/model it picks."""
    rows = []
    for name in sorted(templates):
        template = templates[name]
        summary = template.description or (template.prompt or template.system or "").strip()
        summary = summary.splitlines()[0] if summary else ""
        picks = [f"{key}={value}" for key in ("profile", "model")
                 if (value := getattr(template, key)) is not None]
        rows.append((name, "  ".join([summary, *(f"({pick})" for pick in picks)]).strip()))
    return rows
