"""``GET`` lists and ``DELETE`` for the simulator's files and batches (pure).

- OpenAI ``GET /v1/files`` (``purpose``, ``limit``, ``after``, ``order``) and ``GET
  /v1/batches`` (``limit``, ``after``): ``{"object": "list", "data", "first_id",
  "last_id", "has_more"}``, newest first unless ``order=asc``; ``after`` is the id the
  previous page ended with.
- OpenAI ``DELETE /v1/files/{id}``: ``{"id", "object": "file", "deleted": true}``.
- Anthropic ``GET /v1/messages/batches`` (``limit``, ``after_id``, ``before_id``):
  ``{"data", "has_more", "first_id", "last_id"}``, newest first.
- Anthropic ``DELETE /v1/messages/batches/{id}``: ``{"id", "type":
  "message_batch_deleted"}``; a batch still processing is refused with a 400 (cancel it
  first), as the API does.

OpenAI's Batch API has no DELETE; the router answers it 405.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from llmx.sim.batch_wire import Action, ok
from llmx.sim.common import SimError, bad_request

if TYPE_CHECKING:
    from llmx.sim.batches import SimBatches

_MAX_LIMIT = {"files": 10_000, "batches": 100, "messages": 1000}
_DEFAULT_LIMIT = {"files": 10_000, "batches": 20, "messages": 20}


def _limit(query: dict[str, list[str]], kind: str) -> int:
    raw = query.get("limit", [str(_DEFAULT_LIMIT[kind])])[0]
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_LIMIT[kind]:
        raise bad_request(f"limit must be an integer between 1 and {_MAX_LIMIT[kind]}")
    return int(raw)


def _after(objects: list[dict[str, Any]], ident: str | None) -> list[dict[str, Any]]:
    """The objects after the one with id ``ident`` (all of them without one)."""
    if ident is None:
        return objects
    ids = [obj["id"] for obj in objects]
    if ident not in ids:
        raise bad_request(f"No object with id '{ident}' to page from")
    return objects[ids.index(ident) + 1:]


def page(objects: Sequence[dict[str, Any]], query: str, kind: str) -> dict[str, Any]:
    """One page of ``objects`` (oldest first as given), as ``kind``'s list endpoint does."""
    params = parse_qs(query)
    ordered = list(objects) if params.get("order") == ["asc"] else list(reversed(objects))
    if kind == "files" and params.get("purpose"):
        ordered = [obj for obj in ordered if obj.get("purpose") == params["purpose"][0]]
    if kind == "messages" and "before_id" in params:
        ordered = list(reversed(_after(list(reversed(ordered)), params["before_id"][0])))
        start = max(0, len(ordered) - _limit(params, kind))
        return _shape(ordered[start:], start > 0, kind)
    cursor = params.get("after_id" if kind == "messages" else "after", [None])[0]
    rest = _after(ordered, cursor)
    limit = _limit(params, kind)
    return _shape(rest[:limit], len(rest) > limit, kind)


def _shape(data: list[dict[str, Any]], more: bool, kind: str) -> dict[str, Any]:
    ends = {"first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": more}
    return {"data": data, **ends} if kind == "messages" else {"object": "list", "data": data,
                                                              **ends}


def route(batches: SimBatches, method: bytes, parts: list[str],
          query: str) -> tuple[str, Action] | None:
    """(label, action) for a list or delete route; None for any other request."""
    listing: dict[tuple[str, ...], Callable[..., list[dict[str, Any]]]] = {
        ("files",): lambda headers: batches.file_objects(),
        ("batches",): lambda headers: batches.openai_objects(),
        ("messages", "batches"): batches.anthropic_objects,
    }
    key = tuple(parts)
    if method == b"GET" and key in listing:
        lister, kind = listing[key], parts[0]
        return "/v1/" + "/".join(parts), lambda headers, body: ok(
            page(lister(headers), query, kind))
    if method == b"DELETE" and len(parts) == 2 and parts[0] == "files":
        return "/v1/files/{id}", lambda headers, body: ok(batches.delete_file(parts[1]))
    if method == b"DELETE" and len(parts) == 3 and parts[:2] == ["messages", "batches"]:
        return "/v1/messages/batches/{id}", lambda headers, body: ok(
            batches.delete_anthropic(parts[2], headers))
    return None


def refuse_delete_while_processing(ident: str, status: str) -> None:
    if status != "ended":
        raise SimError(400, "invalid_request",
                       f"Batch {ident} cannot be deleted while it is {status}; cancel it "
                       "first and wait for it to end")
