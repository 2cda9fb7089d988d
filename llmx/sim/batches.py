"""Provider Batch APIs in the simulator: OpenAI Files + Batches, Anthropic Message Batches.

No IO here: ``SimBatches.route`` maps a request to an action that returns a
``BatchReply``; ``app.py`` wraps it into a ``Reply``. Everything lives in memory.

A batch is processed lazily: the first request about it after ``batch_delay_s``
has passed since its creation answers every request in it, with the same
deterministic answer (and the same stats: prompts, tokens, injected 429/5xx
faults) the synchronous endpoint would give, plus ``batch_requests``.

OpenAI: a created batch is ``validating``; the next look makes it ``failed``
(input lines that are not valid batch requests, listed in ``errors``) or
``in_progress``; once due it is ``completed`` with an output file (2xx lines)
and an error file (non-2xx lines), each only when non-empty, in the shape of
the recorded output capture. Cancelling makes it ``cancelling``, then
``cancelled`` with no files. Anthropic: ``in_progress`` until due, then
``ended`` with a ``results_url``; cancelling gives ``canceling``, then
``ended`` with every request ``canceled``.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from llmx.sim import batch_lists, dialect_anthropic, dialect_openai
from llmx.sim.batch_wire import (
    BINARY,
    Action,
    BatchReply,
    StoredFile,
    anthropic_requests,
    form_parts,
    input_lines,
    jsonl,
    load_object,
    not_found,
    ok,
    pick,
    rfc3339,
)
from llmx.sim.common import ErrorKind, Fault, Meta, SimError, bad_request, make_answer
from llmx.sim.faults import Dice
from llmx.sim.options import SimOptions
from llmx.sim.stats import SimStats

CHAT_ENDPOINT = "/v1/chat/completions"
WINDOW_S = 24 * 3600
_FAULT_ERRORS: Mapping[Fault, tuple[int, ErrorKind, str]] = MappingProxyType(
    {
        Fault.RATE_LIMIT: (429, "rate_limit", "Rate limit reached (simulated)."),
        Fault.FAIL_500: (500, "server", "The server had an error (simulated)."),
        Fault.FAIL_503: (503, "overloaded", "The server is overloaded (simulated)."),
    }
)
_PREFIXES = ("/v1/files", "/v1/batches", "/v1/messages/batches")


def owns(path: str) -> bool:
    """Whether ``path`` belongs to the batch APIs."""
    return any(path == p or path.startswith(p + "/") for p in _PREFIXES)


@dataclass(slots=True)
class _Batch:
    """One batch of either provider: its public object (updated in place) and its requests."""

    obj: dict[str, Any]
    requests: list[tuple[str, Any]]  # (custom_id, request body)
    due: float
    problems: list[dict[str, Any]] = field(default_factory=list)  # OpenAI validation errors
    results: bytes = b""  # Anthropic results JSONL


class SimBatches:
    """The batch APIs' state and handlers (one instance per server)."""

    def __init__(
        self,
        opts: SimOptions,
        stats: SimStats,
        dice: Dice,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.opts = opts
        self.stats = stats
        self.dice = dice
        self._clock = clock
        self._wall = wall
        self._ids = itertools.count(1)
        self._files: dict[str, StoredFile] = {}
        self._openai: dict[str, _Batch] = {}
        self._anthropic: dict[str, _Batch] = {}

    def route(self, method: bytes, path: str, query: str = "") -> tuple[str, Action]:
        """(the route's label for the stats, its action); SimError 404/405 otherwise."""
        parts = path.strip("/").split("/")[1:]  # without "v1"
        listed = batch_lists.route(self, method, parts, query)
        if listed is not None:
            return listed
        if parts[0] == "messages":
            return self._route_anthropic(method, parts[2:])
        table: dict[tuple[str, ...], tuple[bytes, Callable[..., BatchReply]]] = {
            ("files",): (b"POST", self._upload),
            ("files", "*"): (b"GET", self._file),
            ("files", "*", "content"): (b"GET", self._content),
            ("batches",): (b"POST", self._create_openai),
            ("batches", "*"): (b"GET", self._retrieve_openai),
            ("batches", "*", "cancel"): (b"POST", self._cancel_openai),
        }
        return pick(table, method, parts, "/v1")

    def _route_anthropic(self, method: bytes, rest: list[str]) -> tuple[str, Action]:
        table: dict[tuple[str, ...], tuple[bytes, Callable[..., BatchReply]]] = {
            ("batches",): (b"POST", self._create_anthropic),
            ("batches", "*"): (b"GET", self._retrieve_anthropic),
            ("batches", "*", "results"): (b"GET", self._results_anthropic),
            ("batches", "*", "cancel"): (b"POST", self._cancel_anthropic),
        }
        return pick(table, method, ["batches", *rest], "/v1/messages")

    def _next(self) -> int:
        return next(self._ids)

    # lists and deletes (batch_lists) ------------------------------------------

    def file_objects(self) -> list[dict[str, Any]]:
        return [stored.public() for stored in self._files.values()]

    def openai_objects(self) -> list[dict[str, Any]]:
        return [self._openai_batch(ident).obj for ident in list(self._openai)]

    def anthropic_objects(self, headers: Mapping[bytes, bytes]) -> list[dict[str, Any]]:
        return [self._anthropic_batch(ident, headers).obj for ident in list(self._anthropic)]

    def delete_file(self, ident: str) -> dict[str, Any]:
        self._files.pop(self._get_file(ident).id)
        return {"id": ident, "object": "file", "deleted": True}

    def delete_anthropic(self, ident: str, headers: Mapping[bytes, bytes]) -> dict[str, Any]:
        status = self._anthropic_batch(ident, headers).obj["processing_status"]
        batch_lists.refuse_delete_while_processing(ident, status)
        del self._anthropic[ident]
        return {"id": ident, "type": "message_batch_deleted"}

    # OpenAI files -------------------------------------------------------------

    def _upload(self, headers: Mapping[bytes, bytes], body: bytes) -> BatchReply:
        ctype = headers.get(b"content-type", b"").decode("latin-1")
        parts = form_parts(ctype, body)
        purpose = parts.get("purpose", (None, b""))[1].decode("utf-8", "replace").strip()
        if "file" not in parts:
            raise bad_request("Missing required parameter: 'file'.")
        if not purpose:
            raise bad_request("Missing required parameter: 'purpose'.")
        filename, data = parts["file"]
        return ok(self._store(filename or "upload", purpose, data).public())

    def _store(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        ident = f"file-sim{self._next():08x}"
        self._files[ident] = StoredFile(ident, filename, purpose, data, int(self._wall()))
        return self._files[ident]

    def _get_file(self, ident: str) -> StoredFile:
        found = self._files.get(ident)
        if found is None:
            raise not_found("file", ident)
        return found

    def _file(self, ident: str, headers: Mapping[bytes, bytes], body: bytes) -> BatchReply:
        return ok(self._get_file(ident).public())

    def _content(self, ident: str, headers: Mapping[bytes, bytes], body: bytes) -> BatchReply:
        return BatchReply(200, BINARY, self._get_file(ident).data)

    # OpenAI batches -----------------------------------------------------------

    def _create_openai(self, headers: Mapping[bytes, bytes], body: bytes) -> BatchReply:
        req = load_object(body)
        source = self._get_file(str(req.get("input_file_id")))
        if source.purpose != "batch":
            raise bad_request("the input file must be uploaded with purpose 'batch'")
        endpoint, window = req.get("endpoint"), req.get("completion_window")
        if endpoint != CHAT_ENDPOINT:
            raise bad_request(f"the simulator supports only endpoint {CHAT_ENDPOINT!r}")
        if window != "24h":
            raise bad_request("completion_window must be '24h'")
        now = int(self._wall())
        ident = f"batch_sim{self._next():08x}"
        obj: dict[str, Any] = {
            "id": ident, "object": "batch", "endpoint": endpoint, "errors": None,
            "input_file_id": source.id, "completion_window": window, "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": now,
            "in_progress_at": None, "expires_at": now + WINDOW_S, "finalizing_at": None,
            "completed_at": None, "failed_at": None, "expired_at": None,
            "cancelling_at": None, "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": req.get("metadata"),
        }  # fmt: skip
        requests, problems = input_lines(source.data, endpoint)
        batch = _Batch(obj, requests, self._clock() + self.opts.batch_delay_s, problems)
        self._openai[ident] = batch
        return ok(obj)

    def _openai_batch(self, ident: str) -> _Batch:
        batch = self._openai.get(ident)
        if batch is None:
            raise not_found("batch", ident)
        self._advance_openai(batch)
        return batch

    def _retrieve_openai(self, ident: str, headers: Mapping[bytes, bytes], b: bytes) -> BatchReply:
        return ok(self._openai_batch(ident).obj)

    def _cancel_openai(self, ident: str, headers: Mapping[bytes, bytes], b: bytes) -> BatchReply:
        obj = self._openai_batch(ident).obj
        if obj["status"] not in ("validating", "in_progress"):
            raise SimError(400, "invalid_request", f"Cannot cancel a batch that is {obj['status']}")
        obj["status"], obj["cancelling_at"] = "cancelling", int(self._wall())
        return ok(obj)

    def _advance_openai(self, batch: _Batch) -> None:
        obj, now = batch.obj, int(self._wall())
        status = obj["status"]
        if status == "cancelling":
            obj["status"], obj["cancelled_at"] = "cancelled", now
        elif status == "validating" and batch.problems:
            obj["status"], obj["failed_at"] = "failed", now
            obj["errors"] = {"object": "list", "data": batch.problems}
        elif status == "validating":
            obj["status"], obj["in_progress_at"] = "in_progress", now
            obj["request_counts"]["total"] = len(batch.requests)
        if obj["status"] == "in_progress" and self._clock() >= batch.due:
            self._finish_openai(batch, now)

    def _finish_openai(self, batch: _Batch, now: int) -> None:
        good: list[dict[str, Any]] = []
        bad: list[dict[str, Any]] = []
        usage = [0, 0]
        for custom_id, body in batch.requests:
            status, payload = self._answer("openai", body)
            line = {
                "id": f"batch_req_sim{self._next():08x}",
                "custom_id": custom_id,
                "response": {
                    "status_code": status,
                    "request_id": f"req_simb{self._next():08x}",
                    "body": payload,
                },
                "error": None,
            }
            (good if status == 200 else bad).append(line)
            if status == 200:
                usage[0] += payload["usage"]["prompt_tokens"]
                usage[1] += payload["usage"]["completion_tokens"]
        obj, bid = batch.obj, batch.obj["id"]
        if good:
            obj["output_file_id"] = self._store(
                f"{bid}_output.jsonl", "batch_output", jsonl(good)
            ).id
        if bad:
            obj["error_file_id"] = self._store(f"{bid}_error.jsonl", "batch_output", jsonl(bad)).id
        obj["request_counts"] = {
            "total": len(batch.requests),
            "completed": len(good),
            "failed": len(bad),
        }
        obj.update(status="completed", finalizing_at=now, completed_at=now)
        obj["usage"] = {
            "input_tokens": usage[0], "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage[1], "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage[0] + usage[1],
        }  # fmt: skip

    # Anthropic message batches ------------------------------------------------

    def _create_anthropic(self, headers: Mapping[bytes, bytes], body: bytes) -> BatchReply:
        requests = anthropic_requests(load_object(body))
        now = self._wall()
        ident = f"msgbatch_sim{self._next():08x}"
        obj: dict[str, Any] = {
            "id": ident, "type": "message_batch", "processing_status": "in_progress",
            "request_counts": {"processing": len(requests), "succeeded": 0, "errored": 0,
                               "canceled": 0, "expired": 0},
            "ended_at": None, "created_at": rfc3339(now), "expires_at": rfc3339(now + WINDOW_S),
            "archived_at": None, "cancel_initiated_at": None, "results_url": None,
        }  # fmt: skip
        self._anthropic[ident] = _Batch(obj, requests, self._clock() + self.opts.batch_delay_s)
        return ok(obj)

    def _anthropic_batch(self, ident: str, headers: Mapping[bytes, bytes]) -> _Batch:
        batch = self._anthropic.get(ident)
        if batch is None:
            raise not_found("message batch", ident)
        obj = batch.obj
        status = obj["processing_status"]
        if status == "canceling" or (status == "in_progress" and self._clock() >= batch.due):
            self._finish_anthropic(batch, canceled=status == "canceling")
            host = headers.get(b"host", b"127.0.0.1").decode("latin-1")
            obj["results_url"] = f"http://{host}/v1/messages/batches/{ident}/results"
        return batch

    def _retrieve_anthropic(
        self, ident: str, headers: Mapping[bytes, bytes], b: bytes
    ) -> BatchReply:
        return ok(self._anthropic_batch(ident, headers).obj)

    def _results_anthropic(
        self, ident: str, headers: Mapping[bytes, bytes], b: bytes
    ) -> BatchReply:
        batch = self._anthropic_batch(ident, headers)
        if batch.obj["processing_status"] != "ended":
            raise SimError(404, "not_found", f"Results for {ident} are not available yet")
        return BatchReply(200, BINARY, batch.results)

    def _cancel_anthropic(self, ident: str, headers: Mapping[bytes, bytes], b: bytes) -> BatchReply:
        obj = self._anthropic_batch(ident, headers).obj
        if obj["processing_status"] == "in_progress":
            obj["processing_status"] = "canceling"
            obj["cancel_initiated_at"] = rfc3339(self._wall())
        return ok(obj)

    def _finish_anthropic(self, batch: _Batch, *, canceled: bool) -> None:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        lines: list[dict[str, Any]] = []
        for custom_id, params in batch.requests:
            result: dict[str, Any] = {"type": "canceled"}
            if not canceled:
                status, payload = self._answer("anthropic", params)
                kind = "message" if status == 200 else "error"
                result = {"type": "succeeded" if status == 200 else "errored", kind: payload}
            counts[result["type"]] += 1
            lines.append({"custom_id": custom_id, "result": result})
        batch.results = jsonl(lines)
        batch.obj.update(
            processing_status="ended", request_counts=counts, ended_at=rfc3339(self._wall())
        )

    # answering one request ------------------------------------------------------

    def _answer(self, dialect: str, body: Any) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for one request, as the synchronous endpoint would answer."""
        mod = dialect_openai if dialect == "openai" else dialect_anthropic
        prefix = "chatcmpl-simb" if dialect == "openai" else "msg_simb"
        stats = self.stats
        stats.batch_requests += 1
        try:
            if not isinstance(body, dict):
                raise bad_request("the request body must be a JSON object")
            call = mod.parse_chat(body)
        except SimError as err:
            return err.status, json.loads(mod.error_body(err, f"req_simb{self._next():08x}"))
        answer = make_answer(call, self.opts.max_tokens_default)
        stats.record_prompt(call.last_user)
        fault = self.dice.fault()
        planned = _FAULT_ERRORS.get(fault)
        if planned is not None:
            stats.faults[fault.value] += 1
            failure = SimError(*planned)
            return failure.status, json.loads(
                mod.error_body(failure, f"req_simb{self._next():08x}")
            )
        stats.input_tokens += answer.input_tokens
        stats.output_tokens += answer.output_tokens
        meta = Meta(f"{prefix}{self._next():08x}", self._wall())
        return 200, json.loads(mod.render_chat(call, answer, meta))
