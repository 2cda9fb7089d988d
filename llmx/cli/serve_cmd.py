"""``llmx serve``: check everything, bind, print the base URL, serve until signalled."""

from __future__ import annotations

from pathlib import Path

from llmx.cli._io import Io
from llmx.errors import ExitCode, UsageError


def run_serve(io: Io, *, host: str, port: int, profile: str | None, config: str | None,
              api_key_env: list[str]) -> int:
    """A refused start (bad flag, unknown profile, a key variable unset, a port taken)
    binds nothing and exits 2 with one line; a signal ends it with exit 0 once the answers
    in flight are delivered."""
    from llmx.config.files import load
    from llmx.config.profile import resolve_profile
    from llmx.config.schema import check_flag, integer
    from llmx.serve.run import bind, is_loopback, keys_from

    port = check_flag("--port", integer(0, 65535), port)
    settings = load(config, io.env, Path.cwd())
    default = resolve_profile(settings, profile)
    keys = keys_from(dict(io.env), api_key_env)
    if not keys and not is_loopback(host):
        raise UsageError(f"--host {host} is not a loopback address: give --api-key-env VAR, "
                         "so that only your clients can spend your providers' keys")
    sock = bind(host, port)
    from llmx.serve.app import ServeApp
    from llmx.serve.clients import Clients
    from llmx.serve.run import serve
    from llmx.state import Once

    def warn(message: str) -> None:
        io.stderr.write(f"warning: {message}\n")
        io.stderr.flush()

    clients = Clients(settings, default, env=io.env, warn=Once(warn))
    app = ServeApp(clients, keys=keys, log=io.stderr)
    serve(app, sock, io.stdout, lambda url: _say(io, url, bool(keys)))
    return int(ExitCode.OK)


def _say(io: Io, url: str, keyed: bool) -> None:
    auth = "clients must send one of the --api-key-env keys" if keyed else "no client key needed"
    io.stderr.write(f"llmx serve: OpenAI clients use base_url={url}/v1 ({auth}); "
                    "Ctrl-C stops it\n")
    io.stderr.flush()


__all__ = ["run_serve"]
