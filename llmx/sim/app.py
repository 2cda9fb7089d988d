"""Routing: an HTTP request in, a planned response (``Reply``/``StreamReply``) out.

No IO here: the connection layer (``protocol.py``) carries out the plan,
including its delays and injected faults.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llmx.sim import (
    azure,
    batches,
    catalog,
    dialect_anthropic,
    dialect_ollama,
    dialect_ollama_generate,
    dialect_openai,
    dialect_responses,
    directives,
)
from llmx.sim.common import (
    Answer,
    ChatCall,
    Durations,
    EmbedCall,
    Fault,
    Headers,
    Meta,
    SimError,
    StreamBody,
    bad_request,
    dumps,
    make_answer,
)
from llmx.sim.faults import Dice, Plan
from llmx.sim.options import SimOptions
from llmx.sim.stats import SimStats
from llmx.sim.text import count_all, embed, prompt_key

MODELS = catalog.MODELS
INVALID_KEY = b"sim-invalid"
ECHO_KEY_PREFIX = b"sim-echo-"  # a key refused with a 401 that repeats it (see directives)
JSON = b"application/json"
_STREAM_HEADERS: Headers = ((b"cache-control", b"no-cache"),)
_ERROR_FAULTS = frozenset({Fault.RATE_LIMIT, Fault.FAIL_500, Fault.FAIL_503})
_BREAK_FAULTS = frozenset({Fault.CUT, Fault.STALL_MID})
_KEY_HEADERS = (b"authorization", b"x-api-key", b"api-key")  # api-key: Azure


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Headers
    body: bytes
    delay: float = 0.0
    fault: Fault = Fault.NONE  # CUT, STALL or STALL_MID, carried out by the connection


@dataclass(frozen=True, slots=True)
class StreamReply:
    headers: Headers
    body: StreamBody
    pieces: tuple[str, ...]
    plan: Plan
    fault: Fault = Fault.NONE
    break_after: int = 0  # pieces sent before a CUT or STALL_MID


Outcome = Reply | StreamReply


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    id_prefix: str
    auth_message: str
    error_body: Callable[[SimError, str], bytes]
    parse_chat: Callable[[dict[str, Any]], ChatCall]
    render_chat: Callable[[ChatCall, Answer, Meta, Durations], bytes]
    stream_chat: Callable[[ChatCall, Answer, Meta], StreamBody]
    error_headers: Headers = ()


def _dialects() -> dict[str, Dialect]:
    oa, an, ol = dialect_openai, dialect_anthropic, dialect_ollama
    rs, og = dialect_responses, dialect_ollama_generate
    return {
        # named after the provider whose errors and directives they share
        "responses": Dialect("openai", "resp_sim", "Incorrect API key provided.",
                             oa.error_body, rs.parse_chat,
                             lambda c, a, m, d: rs.render_chat(c, a, m), rs.stream_chat),
        "ollama_generate": Dialect("ollama", "ollama-sim", "unauthorized", ol.error_body,
                                   og.parse_generate, og.render_generate, og.stream_generate),
        "openai": Dialect("openai", "chatcmpl-sim", "Incorrect API key provided.",
                          oa.error_body, oa.parse_chat,
                          lambda c, a, m, d: oa.render_chat(c, a, m), oa.stream_chat),
        "anthropic": Dialect("anthropic", "msg_sim", "invalid x-api-key", an.error_body,
                             an.parse_chat, lambda c, a, m, d: an.render_chat(c, a, m),
                             an.stream_chat, ((b"x-should-retry", b"true"),)),
        "ollama": Dialect("ollama", "ollama-sim", "unauthorized", ol.error_body,
                          ol.parse_chat, ol.render_chat, ol.stream_chat),
    }


def json_reply(status: int, body: bytes, extra: Headers = ()) -> Reply:
    return Reply(status, ((b"content-type", JSON), *extra), body)


def _dialect_for(path: str, headers: Iterable[tuple[bytes, bytes]]) -> str:
    if path.startswith("/v1/models") and catalog.is_anthropic_client(dict(headers)):
        return "anthropic"
    if path == "/api/generate":
        return "ollama_generate"
    if path.startswith("/api/"):
        return "ollama"
    if path == "/v1/responses":
        return "responses"
    if path.startswith("/v1/messages"):
        return "anthropic"
    return "openai"


def _check_key(dialect: Dialect, headers: Iterable[tuple[bytes, bytes]]) -> None:
    """Refuse the reserved keys: ``sim-invalid`` (401) and ``sim-echo-*`` (a 401 whose
    message repeats the key, as several providers' messages do)."""
    if _has_invalid_key(headers):
        raise SimError(401, "auth", dialect.auth_message)
    for name, value in headers:
        key = value.rpartition(b" ")[2]
        if name in _KEY_HEADERS and key.startswith(ECHO_KEY_PREFIX):
            raise directives.echo_key_error(dialect.name, key.decode("latin-1"))


def _has_invalid_key(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    return any(name in _KEY_HEADERS and value.rpartition(b" ")[2] == INVALID_KEY
               for name, value in headers)


class SimApp:
    """Turns requests into planned responses and keeps the stats."""

    def __init__(self, opts: SimOptions) -> None:
        self.opts = opts
        self.stats = SimStats(opts)
        self.dice = Dice(opts)
        self._ids = itertools.count(1)
        self._dialects = _dialects()
        self.batches = batches.SimBatches(opts, self.stats, self.dice)
        self._routes: dict[tuple[bytes, str], Callable[[Dialect, dict[str, Any]], Outcome]] = {
            (b"POST", "/v1/chat/completions"): self._chat,
            (b"POST", "/v1/responses"): self._chat,
            (b"POST", "/v1/messages"): self._chat,
            (b"POST", "/v1/messages/count_tokens"): self._count_tokens,
            (b"POST", "/api/chat"): self._chat,
            (b"POST", "/api/generate"): self._chat,
            (b"GET", "/api/tags"): self._ollama_tags,
            (b"POST", "/api/show"): self._ollama_show,
            (b"POST", "/v1/embeddings"): self._embed_openai,
            (b"POST", "/api/embed"): self._embed_ollama,
        }

    def handle(
        self, method: bytes, target: bytes, headers: Iterable[tuple[bytes, bytes]], body: bytes
    ) -> Outcome:
        raw_path, _, raw_query = target.partition(b"?")
        path, query = raw_path.decode("latin-1"), raw_query.decode("latin-1")
        if path.startswith("/sim/"):
            return self._control(method, path)
        stats = self.stats
        stats.requests += 1
        dialect = self._dialects["openai"]
        try:
            path, deployment = azure.route(path, query) or (path, None)
            dialect = self._dialects[_dialect_for(path, headers)]
            outcome = self._dispatch(dialect, method, path, query, headers, body, deployment)
        except SimError as err:
            outcome = self.error(dialect, err)
        stats.by_status[outcome.status if isinstance(outcome, Reply) else 200] += 1
        return outcome

    def _dispatch(self, dialect: Dialect, method: bytes, path: str, query: str,
                  headers: Iterable[tuple[bytes, bytes]], body: bytes,
                  deployment: str | None) -> Outcome:
        route = self._routes.get((method, path))
        if route is None and batches.owns(path):
            return self._batch_api(dialect, method, path, headers, body, query)
        if route is None:
            return self._not_routed(method, path, dict(headers))
        self.stats.by_endpoint[path] += 1
        _check_key(dialect, headers)
        obj = _json_object(body) if method == b"POST" else {}
        if deployment is not None:
            obj["model"] = deployment  # Azure answers as the deployment, whatever the body says
        return route(dialect, obj)

    def error(self, dialect: Dialect, err: SimError, extra: Headers = ()) -> Reply:
        request_id = f"req_sim{next(self._ids):08x}"
        return json_reply(err.status, dialect.error_body(err, request_id), extra)

    def _control(self, method: bytes, path: str) -> Reply:
        if path == "/sim/stats" and method == b"GET":
            return json_reply(200, dumps(self.stats.snapshot()))
        if path == "/sim/reset" and method == b"POST":
            self.stats.reset()
            return json_reply(200, b'{"ok":true}')
        return json_reply(404, dumps({"error": {"message": f"no such sim route: {path}"}}))

    def _not_routed(self, method: bytes, path: str, headers: dict[bytes, bytes]) -> Outcome:
        if path == "/v1/models" or path.startswith("/v1/models/"):
            return self._models(method, path, headers)
        verb = method.decode("latin-1")
        if any(p == path for _, p in self._routes):
            raise SimError(405, "invalid_request", f"Method {verb} not allowed for {path}")
        guess = _route_like(path, {p for _, p in self._routes})
        tip = f"; did you mean {guess}? (check the base_url)" if guess else ""
        raise SimError(404, "not_found", f"Invalid URL ({verb} {path}){tip}")

    def _models(self, method: bytes, path: str, headers: dict[bytes, bytes]) -> Reply:
        """``GET /v1/models[/{id}]``, Anthropic-shaped for an Anthropic client."""
        if method != b"GET":
            raise SimError(404, "not_found", f"Invalid URL ({method.decode()} {path})")
        model_id = path.removeprefix("/v1/models").strip("/") or None
        self.stats.by_endpoint["/v1/models/{id}" if model_id else "/v1/models"] += 1
        if catalog.is_anthropic_client(headers):
            return json_reply(200, catalog.anthropic_models(model_id))
        try:
            return json_reply(200, catalog.openai_models(model_id))
        except SimError as err:  # OpenAI's code for it: model_not_found
            return json_reply(err.status, catalog.model_not_found(err.message))

    def _count_tokens(self, dialect: Dialect, obj: dict[str, Any]) -> Outcome:
        call = dialect.parse_chat({**obj, "max_tokens": obj.get("max_tokens", 1)})
        return json_reply(200, catalog.count_tokens(count_all(call.texts)))

    def _ollama_tags(self, dialect: Dialect, obj: dict[str, Any]) -> Outcome:
        stamp = dialect_ollama.created_at(catalog.CREATED)
        return Reply(200, ((b"content-type", b"application/json; charset=utf-8"),),
                     catalog.ollama_tags(stamp))

    def _ollama_show(self, dialect: Dialect, obj: dict[str, Any]) -> Outcome:
        stamp = dialect_ollama.created_at(catalog.CREATED)
        return Reply(200, ((b"content-type", b"application/json; charset=utf-8"),),
                     catalog.ollama_show(obj, stamp))

    def _batch_api(
        self,
        dialect: Dialect,
        method: bytes,
        path: str,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
        query: str = "",
    ) -> Outcome:
        label, action = self.batches.route(method, path, query)
        self.stats.by_endpoint[label] += 1
        fields = dict(headers)
        _check_key(dialect, fields.items())
        out = action(fields, body)
        return Reply(out.status, ((b"content-type", out.content_type),), out.body)

    def _fault_reply(self, dialect: Dialect, fault: Fault) -> Reply | None:
        if fault not in _ERROR_FAULTS:
            return None
        self.stats.faults[fault.value] += 1
        if fault is Fault.RATE_LIMIT:
            secs = self.opts.retry_after_s
            extra = ((b"retry-after", f"{secs:g}".encode()),
                     (b"retry-after-ms", f"{secs * 1000:g}".encode()), *dialect.error_headers)
            message = "Rate limit reached (simulated). Please try again later."
            return self.error(dialect, SimError(429, "rate_limit", message), extra)
        if fault is Fault.FAIL_503:  # Anthropic says overloaded with a 529
            status = 529 if dialect.name == "anthropic" else 503
            message = "The server is overloaded (simulated). Please try again later."
            return self.error(dialect, SimError(status, "overloaded", message))
        message = "The server had an error while processing your request (simulated)."
        return self.error(dialect, SimError(500, "server", message))

    def _chat(self, dialect: Dialect, obj: dict[str, Any]) -> Outcome:
        call = dialect.parse_chat(obj)
        answer = make_answer(call, self.opts.max_tokens_default)
        stats = self.stats
        stats.record_prompt(call.last_user)
        directive = directives.find(call.last_user) if dialect.id_prefix != "resp_sim" else None
        if directive is not None:
            seen = stats.prompts.get(prompt_key(call.last_user), 1)
            if directive.applies(seen):
                return self._directed(dialect, directive, call, answer)
        shape = (self.dice.shape(dialect.name)  # refusal_rate / inband_error_rate: chat shapes
                 if dialect.id_prefix != "resp_sim" else None)
        if shape is not None:
            return self._directed(dialect, directives.Directive(shape, None), call, answer)
        fault = self.dice.fault()
        failed = self._fault_reply(dialect, fault)
        if failed is not None:
            return failed
        stats.input_tokens += answer.input_tokens
        stats.output_tokens += answer.output_tokens
        plan = self.dice.plan(answer.input_tokens)
        meta = Meta(f"{dialect.id_prefix}{next(self._ids):08x}", time.time())
        if fault is not Fault.NONE:
            stats.faults[fault.value] += 1
        if call.stream:
            body = dialect.stream_chat(call, answer, meta)
            cut = self.dice.break_point(len(answer.pieces)) if fault in _BREAK_FAULTS else 0
            headers = ((b"content-type", body.content_type), *_STREAM_HEADERS)
            return StreamReply(headers, body, answer.pieces, plan, fault, cut)
        durations = Durations(plan.first_token_delay, answer.output_tokens * plan.token_interval)
        content_type = b"application/json; charset=utf-8" if dialect.name == "ollama" else JSON
        rendered = dialect.render_chat(call, answer, meta, durations)
        return Reply(
            200,
            ((b"content-type", content_type),),
            rendered,
            plan.total(answer.output_tokens),
            fault,
        )

    def _directed(
        self, dialect: Dialect, directive: directives.Directive, call: ChatCall, answer: Answer
    ) -> Reply:
        meta = Meta(f"{dialect.id_prefix}{next(self._ids):08x}", time.time())
        shaped = directives.render(dialect.name, directive, call, answer, meta)
        self.stats.faults[f"directive_{directive.name}"] += 1
        extra = dialect.error_headers if shaped.status >= 400 else ()
        return Reply(shaped.status, ((b"content-type", shaped.content_type), *extra), shaped.body)

    def _embed(self, dialect: Dialect, call: EmbedCall) -> tuple[list[list[float]], int, Plan]:
        dims = min(call.dims or self.opts.embedding_dims, 8192)
        tokens = count_all(call.inputs)
        vectors = [embed(text, dims) for text in call.inputs]
        return vectors, tokens, self.dice.embed_plan(tokens)

    def _embed_openai(self, dialect: Dialect, obj: dict[str, Any]) -> Outcome:
        call = dialect_openai.parse_embed(obj)
        fault = self.dice.fault()
        failed = self._fault_reply(dialect, fault)
        if failed is not None:
            return failed
        vectors, tokens, plan = self._embed(dialect, call)
        self.stats.input_tokens += tokens
        body = dialect_openai.render_embed(call, vectors, tokens)
        return self._whole(body, JSON, plan, fault)

    def _embed_ollama(self, dialect: Dialect, obj: dict[str, Any]) -> Outcome:
        call = dialect_ollama.parse_embed(obj)
        fault = self.dice.fault()
        failed = self._fault_reply(dialect, fault)
        if failed is not None:
            return failed
        vectors, tokens, plan = self._embed(dialect, call)
        self.stats.input_tokens += tokens
        durations = Durations(plan.first_token_delay, 0.0)
        body = dialect_ollama.render_embed(call, vectors, tokens, durations)
        return self._whole(body, b"application/json; charset=utf-8", plan, fault)

    def _whole(self, body: bytes, content_type: bytes, plan: Plan, fault: Fault) -> Reply:
        if fault is not Fault.NONE:
            self.stats.faults[fault.value] += 1
        return Reply(200, ((b"content-type", content_type),), body, plan.total(0), fault)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise bad_request("the request body must be a JSON object")
    return obj


def _route_like(path: str, routes: set[str]) -> str | None:
    """The route a mistyped base_url probably meant: ``/chat/completions`` (no ``/v1``),
    ``/v1/v1/messages`` (``/v1`` twice), or a near spelling."""
    import difflib

    for route in sorted(routes):
        if route.endswith(path) or path.endswith(route):
            return route
    close = difflib.get_close_matches(path, sorted(routes), n=1, cutoff=0.8)
    return close[0] if close else None

