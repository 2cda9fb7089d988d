"""What ``-t``, ``-f``, ``-a``, ``-x`` and ``--extract-last`` add to ``llmx ask``.

``llmx.cli.ask`` calls in here only when one of them is given (so a plain ``ask`` imports
nothing of it): ``prepare_inputs`` checks the combination, applies the template to the
arguments and reads the ``-f`` files before anything is sent; ``templated`` builds the
prompt from a template's ``prompt``; ``images_for`` reads the ``-a`` images within the
profile's provider's limits. Every refusal is one ``UsageError``/``ConfigError`` line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmx.errors import UsageError

if TYPE_CHECKING:
    from llmx.attach import TextFile
    from llmx.cli._io import Io
    from llmx.cli.ask import AskArgs
    from llmx.config.profile import Config
    from llmx.types import Image, Message


class Inputs:
    """A template's prompt (None: the prompt as given) and the ``-f`` files, read. (A plain
    class: a named tuple with these annotations would compile them at import.)"""

    __slots__ = ("files", "prompt")

    def __init__(self, prompt: str | None = None, files: tuple[TextFile, ...] = ()) -> None:
        self.prompt = prompt
        self.files = files


def prepare_inputs(config: Config, args: AskArgs) -> tuple[AskArgs, Inputs]:
    """``args`` with the template applied (flags win), and what the prompt needs."""
    if (args.extract or args.extract_last) and args.json:
        raise UsageError("-x/--extract-last print only the code: they cannot be combined "
                         "with --json")
    prompt = None
    if args.template is not None:
        from llmx.templates import applied, find

        template = find(config.templates, args.template)
        args, prompt = applied(args, template), template.prompt
    files: tuple[TextFile, ...] = ()
    if args.files:
        from llmx.attach import read_files

        files = read_files(args.files)
    return args, Inputs(prompt, files)


def templated(prompt: str, args: AskArgs, io: Io) -> str:
    """A template's ``prompt`` filled in: ``{input}`` needs piped stdin; without it, piped
    stdin is context as for any prompt."""
    from llmx.cli._stdin import read_all
    from llmx.cli.ask import _with_context
    from llmx.templates import INPUT, render

    if INPUT not in prompt:
        text = render(prompt, args.prompt, None)
        return text if io.stdin_is_tty else _with_context(text, args, io)
    if io.stdin_is_tty or args.stdin is False:
        why = "--no-stdin was given" if args.stdin is False else "nothing is piped in"
        raise UsageError(f"template {args.template!r} reads stdin ({INPUT}), but {why}",
                         hint=f"some-command | llmx ask -t {args.template}")
    return render(prompt, args.prompt, read_all(io.stdin))


def message_json(message: Message) -> dict[str, Any]:
    """A message as ``--dry-run --json`` shows it: its images by name, type, size and
    sha256 (never their bytes)."""
    shown: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        import hashlib

        shown["images"] = [{"name": image.name, "mime": image.mime, "bytes": len(image.data),
                            "sha256": hashlib.sha256(image.data).hexdigest()}
                           for image in message.images]
    return shown


def images_for(args: AskArgs, provider: str) -> tuple[Image, ...]:
    """The ``-a`` images, read (or fetched) and checked for ``provider``."""
    from llmx.attach import read_images

    return read_images(args.attach, provider)
