"""``llmx profiles`` and ``llmx config path|show|init``: thin shells over llmx.config."""

from __future__ import annotations

from pathlib import Path

from llmx.cli._io import Io
from llmx.config.files import load, write_default_config
from llmx.config.profile import resolve_profile
from llmx.paths import config_candidates, user_config_path


def run_profiles(config_path: str | None, io: Io) -> int:
    config = load(config_path, io.env, Path.cwd())
    default = config.default_profile or "sim"
    rows = []
    for name in config.names:
        profile = config.profiles[name]
        where = "embedded simulator" if profile.embedded else profile.base_url
        rows.append(("*" if name == default else " ", name, profile.provider, profile.model, where))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        io.stdout.write("  ".join([*cells, row[4]]).rstrip() + "\n")
    return 0


def run_path(config_path: str | None, io: Io) -> int:
    """The file in use on stdout; every place looked at, in order, on stderr."""
    config = load(config_path, io.env, Path.cwd())
    for path, why in config_candidates(config_path, io.env, Path.cwd()):
        state = "found" if path.is_file() else "absent"
        io.stderr.write(f"  {why:<14} {path}  ({state})\n")
    io.stdout.write(f"{config.source if config.source else 'none (built-in profiles only)'}\n")
    return 0


def run_show(config_path: str | None, profile_name: str | None, io: Io) -> int:
    from llmx.config.show import profile_text

    config = load(config_path, io.env, Path.cwd())
    profile = resolve_profile(config, profile_name)
    io.stdout.write(f"# profile {profile.name!r}")
    io.stdout.write(f" from {config.source}\n" if config.source and not profile.builtin
                    else " (built in)\n")
    io.stdout.write(profile_text(profile, io.env))
    if profile.cache.semantic:
        _embedder_note(profile.cache.embedder, io)
    return 0


def _embedder_note(choice: str, io: Io) -> None:
    """One ``note:`` line when ``cache.embedder`` resolves to less than it could (``auto``
    without the model installed)."""
    from llmx.cache.model import resolve_embedder

    note = resolve_embedder(choice)[1]
    if note is not None:
        io.stderr.write(f"note: {note}\n")


def run_init(path: str | None, force: bool, io: Io) -> int:
    target = Path(path).expanduser() if path else user_config_path(io.env)
    written = write_default_config(target, force=force)
    io.stderr.write(f"wrote {written}\n")
    return 0
