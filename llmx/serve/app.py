"""The proxy's ASGI application: routes, authentication, the access log, errors as JSON.

Routes: ``POST /v1/chat/completions`` and ``POST /v1/messages`` (OpenAI- and
Anthropic-shaped, ``llmx.serve.chat``), ``POST /v1/embeddings``, ``GET /v1/models`` (the
profiles, as models), ``GET /healthz``, ``GET /metrics`` (Prometheus text). Every
answer to a chat request carries ``x-llmx-cache: exact | semantic | miss``.

Authentication: when keys are configured, a request must carry one of them as
``Authorization: Bearer KEY`` or ``x-api-key: KEY`` (compared in constant time), or it gets
a 401; only ``/healthz`` is open. Each key belongs to a client (a ``[serve.clients.NAME]``
table, or the ``--api-key-env`` variable that held it); a client with budgets
(``llmx.serve.budgets``) over one gets a 429 with ``retry-after`` in the shape of the API it
called, before anything is looked up or sent (``POST`` routes only). The upstream
providers' keys are the profiles' own: nothing a client sends is forwarded upstream, and no
key appears in a response, the log or the metrics.

The access log is one line per request on ``log``: method, path, status, milliseconds, the
cache tier of a chat answer and the client's name; never a header.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from llmx.errors import LlmxError
from llmx.serve.asgi import BodyTooLarge, Disconnected, Exchange, Receive, Scope, Send
from llmx.serve.budgets import Budgets
from llmx.serve.chat import Dialect, Served, chat
from llmx.serve.clients import Clients
from llmx.serve.embeddings import embeddings
from llmx.serve.fleet import Fleet
from llmx.serve.metrics import Metrics
from llmx.serve.wire_anthropic import AnthropicDialect
from llmx.serve.wire_openai import OpenAIDialect

ROUTES = {"/v1/chat/completions": "POST", "/v1/messages": "POST", "/v1/embeddings": "POST",
          "/v1/models": "GET", "/healthz": "GET", "/metrics": "GET"}
CHAT_ROUTES = ("/v1/chat/completions", "/v1/messages")


class ServeApp:
    """``keys`` maps each client key to its client's name (none: every request is let in);
    ``budgets`` holds the clients' rpm / tpm budgets; ``fleet`` reports the metrics to the
    fleet's sum (``llmx.serve.fleet``; none: ``/metrics`` is this proxy's own)."""

    __slots__ = ("_budgets", "_clock", "_fleet", "_keys", "_log", "clients", "metrics")

    def __init__(self, clients: Clients, *, keys: Mapping[str, str], log: TextIO,
                 budgets: Budgets | None = None, fleet: Fleet | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.clients = clients
        self._fleet = fleet or Fleet(Metrics())
        self.metrics = self._fleet.metrics
        self._keys = tuple((key.encode(), name) for key, name in keys.items())
        self._budgets = budgets or Budgets({})
        self._log = log
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(Exchange(scope, receive, send))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._warm()
                self._fleet.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._fleet.stop()  # the last counts reach the fleet's sum
                await self.clients.close()  # queued cache and record writes are written
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _warm(self) -> None:
        """Open the default profile's Client before the first request (its imports, pool and
        cache cost that request nothing), then freeze what start-up made: the collector
        never scans it again, so no long pause lands in the middle of an answer."""
        import gc

        with contextlib.suppress(LlmxError):  # the first request meets it and says why
            await self.clients.client(self.clients.default)
        gc.collect()
        gc.freeze()

    async def _http(self, exchange: Exchange) -> None:
        started, served = self._clock(), Served()
        route = exchange.path
        dialect = _dialect(route)
        who = self._client(exchange)
        try:
            if route != "/healthz" and who is None:
                await exchange.json(401, dialect.error(
                    "authentication_error",
                    "a valid API key is required (Authorization: Bearer KEY or x-api-key)"))
            elif (who and ROUTES.get(route) == exchange.method == "POST"
                  and await self._over_budget(exchange, dialect, who)):
                pass
            else:
                served = await self._route(exchange, dialect)
                if who and served.tokens:
                    self._budgets.charge(who, served.tokens)
        except BodyTooLarge:
            await exchange.json(413, dialect.error("invalid_request_error",
                                                   "the request body is too large"))
        except Disconnected:
            exchange.status = exchange.status or 499  # the client left: nothing to send
        finally:
            self.metrics.request(route if route in ROUTES else "other", exchange.status)
            self._access(exchange, (self._clock() - started) * 1000, served.tier, who)

    async def _over_budget(self, exchange: Exchange, dialect: Dialect, who: str) -> bool:
        """Answer 429 (True) when ``who`` is over a budget; else one request is taken."""
        refused = self._budgets.admit(who)
        if refused is None:
            return False
        body, headers = dialect.over_budget(refused)
        await exchange.json(429, body, headers)
        return True

    async def _route(self, exchange: Exchange, dialect: Dialect) -> Served:
        method, path = exchange.method, exchange.path
        if ROUTES.get(path) != method:
            status, kind, text = ((405, "invalid_request_error", f"{method} is not allowed")
                                  if path in ROUTES else
                                  (404, "not_found_error", f"no route {path}"))
            await exchange.json(status, dialect.error(kind, text))
        elif path in CHAT_ROUTES:
            return await chat(exchange, await _json(exchange), self.clients, self.metrics,
                              dialect)
        elif path == "/v1/embeddings":
            await embeddings(exchange, await _json(exchange), self.clients, dialect)
        elif path == "/v1/models":
            await exchange.json(200, self._models())
        elif path == "/healthz":
            await exchange.json(200, {"status": "ok"})
        else:
            from llmx.serve import metrics_figures

            page = self._fleet.text() + metrics_figures.text(self.clients.opened())
            await exchange.text(200, page, "text/plain; version=0.0.4")
        return Served()

    def _client(self, exchange: Exchange) -> str | None:
        """The name of the client whose key the request carries ("" when no keys are
        configured; None: no valid key). Every key is compared, in constant time."""
        if not self._keys:
            return ""
        given = exchange.headers.get("x-api-key", "")
        bearer = exchange.headers.get("authorization", "")
        if bearer[:7].lower() == "bearer ":
            given = bearer[7:].strip()
        offered, found = given.encode(), None
        for key, name in self._keys:
            if hmac.compare_digest(offered, key):
                found = name
        return found

    def _models(self) -> dict[str, object]:
        data = [{"id": profile.name, "object": "model", "created": 0,
                 "owned_by": f"llmx:{profile.provider}:{profile.model}"}
                for profile in self.clients.profiles()]
        return {"object": "list", "data": data}

    def _access(self, exchange: Exchange, ms: float, tier: str, who: str | None) -> None:
        cache = f" cache={tier}" if tier else ""
        client = f" client={who}" if who else ""
        try:
            self._log.write(f"{exchange.method} {exchange.path} {exchange.status} "
                            f"{ms:.1f}ms{cache}{client}\n")
            self._log.flush()
        except (OSError, ValueError):
            pass  # a closed log never fails a request


async def _json(exchange: Exchange) -> object:
    raw = await exchange.body()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _NOT_JSON


_NOT_JSON = object()  # chat() answers 400 for it


def _dialect(path: str) -> Dialect:
    return AnthropicDialect() if path == "/v1/messages" else OpenAIDialect()

