"""``llmx serve``: check everything, bind, print the base URL, serve until signalled."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from llmx.cli._io import Io
from llmx.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from llmx.cache.redis_store import RedisStore
    from llmx.config.profile import Profile


def run_serve(io: Io, *, host: str, port: int, profile: str | None, config: str | None,
              api_key_env: list[str]) -> int:
    """A refused start (bad flag, unknown profile, a key variable unset, a port taken)
    binds nothing and exits 2 with one line; a signal ends it with exit 0 once the answers
    in flight are delivered."""
    from llmx.config.files import load
    from llmx.config.profile import resolve_profile
    from llmx.config.schema import check_flag, integer
    from llmx.config.serve import serve_of
    from llmx.serve.keys import client_keys
    from llmx.serve.run import bind, is_loopback

    port = check_flag("--port", integer(0, 65535), port)
    settings = load(config, io.env, Path.cwd())
    default = resolve_profile(settings, profile)
    serve_table = serve_of(settings)
    keys = client_keys(dict(io.env), api_key_env, serve_table)
    if not keys and not is_loopback(host):
        raise UsageError(f"--host {host} is not a loopback address: give --api-key-env VAR "
                         "(or [serve.clients] keys), so that only your clients can spend "
                         "your providers' keys")
    sock = bind(host, port)
    from llmx.serve.app import ServeApp
    from llmx.serve.clients import Clients
    from llmx.serve.run import serve
    from llmx.state import STATE, Once

    def warn(message: str) -> None:
        io.stderr.write(f"warning: {message}\n")
        io.stderr.flush()

    from llmx.serve.budgets import Budgets
    from llmx.serve.fleet import Fleet
    from llmx.serve.metrics import Metrics

    # one warning when the shared Redis goes away, whichever part meets it first
    once = Once(warn)
    shared_failed = partial(once, STATE)
    clients = Clients(settings, default, env=io.env, warn=once)
    store = _shared_store(default, io)
    budgets = Budgets(dict(serve_table.clients), shared=store, warn=shared_failed)
    app = ServeApp(clients, keys=keys, log=io.stderr, budgets=budgets,
                   fleet=Fleet(Metrics(), store, shared_failed))
    serve(app, sock, io.stdout, lambda url: _say(io, url, bool(keys)))
    return int(ExitCode.OK)


def _shared_store(default: Profile, io: Io) -> RedisStore | None:
    """The default profile's Redis (its ``cache.backend = "redis"``), where the clients'
    budgets and the fleet's metrics are kept; None without one."""
    if default.cache.backend != "redis":
        return None
    import time

    from llmx.cache.shared import open_redis
    from llmx.paths import cache_dir

    return open_redis(default.cache, cache_dir(io.env), clock=time.time, warn=None)


def _say(io: Io, url: str, keyed: bool) -> None:
    auth = "clients must send one of their keys" if keyed else "no client key needed"
    io.stderr.write(f"llmx serve: OpenAI clients use base_url={url}/v1 ({auth}); "
                    "Ctrl-C stops it\n")
    io.stderr.flush()


__all__ = ["run_serve"]
