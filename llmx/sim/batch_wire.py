"""Wire pieces of the simulated batch APIs (pure): multipart form parsing, input
validation, file objects, timestamps and route matching."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llmx.sim.common import SimError, bad_request

JSON = b"application/json"
BINARY = b"application/octet-stream"
_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


@dataclass(frozen=True, slots=True)
class BatchReply:
    status: int
    content_type: bytes
    body: bytes


Action = Callable[[Mapping[bytes, bytes], bytes], BatchReply]


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


def dump_json(obj: Any) -> bytes:
    return json.dumps(obj).encode("utf-8")


def ok(obj: Any) -> BatchReply:
    return BatchReply(200, JSON, dump_json(obj))


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(dump_json(line) + b"\n" for line in lines)


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def not_found(what: str, ident: str) -> SimError:
    return SimError(404, "not_found", f"No such {what}: '{ident}'")


def load_object(body: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("the request body is not valid JSON") from None
    if not isinstance(obj, dict):
        raise bad_request("the request body must be a JSON object")
    return obj


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """``'form-data; name="file"'`` -> ``("form-data", {"name": "file"})``."""
    main, _, _ = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value[len(main) :]):
        raw = match.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[match.group(1).lower()] = raw
    return main.strip().lower(), params


def form_parts(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """A ``multipart/form-data`` body as ``{field name: (filename, content)}``."""
    kind, params = header_params(content_type)
    boundary = params.get("boundary", "")
    if kind != "multipart/form-data" or not boundary:
        raise bad_request("the request must be multipart/form-data with a boundary")
    pieces = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    if len(pieces) < 2 or not pieces[-1].startswith(b"--"):
        raise bad_request("the multipart body is not terminated by its closing boundary")
    parts: dict[str, tuple[str | None, bytes]] = {}
    for piece in pieces[1:-1]:
        _, crlf, part = piece.partition(b"\r\n")  # drops transport padding after the boundary
        head, sep, content = part.partition(b"\r\n\r\n")
        if part.startswith(b"\r\n"):
            head, sep, content = b"", b"\r\n", part[2:]
        if not crlf or not sep:
            raise bad_request("a multipart part has no header/body separator")
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = value
        _, disp = header_params(disposition)
        if "name" in disp:
            parts[disp["name"]] = (disp.get("filename"), content)
    return parts


def pick(
    table: Mapping[tuple[str, ...], tuple[bytes, Callable[..., BatchReply]]],
    method: bytes,
    parts: list[str],
    root: str,
) -> tuple[str, Action]:
    shape = tuple(p if i % 2 == 0 else "*" for i, p in enumerate(parts))
    verb = method.decode("latin-1")
    label = root + "/" + "/".join("{id}" if p == "*" else p for p in shape)
    entry = table.get(shape) if all(parts) else None
    if entry is None:
        raise SimError(404, "not_found", f"Invalid URL ({verb} {label})")
    want, handler = entry
    if method != want:
        raise SimError(405, "invalid_request", f"Method {verb} not allowed for {label}")
    if len(parts) < 2:
        return label, handler
    ident = parts[1]
    return label, lambda headers, body: handler(ident, headers, body)


def input_lines(data: bytes, endpoint: str) -> tuple[list[tuple[str, Any]], list[dict[str, Any]]]:
    """(the requests, the validation problems) of an OpenAI batch input file."""
    requests: list[tuple[str, Any]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()

    def problem(code: str, line: int, message: str) -> None:
        problems.append({"code": code, "line": line, "message": message, "param": None})

    for lineno, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            item = None
        if not isinstance(item, dict):
            problem("invalid_json_line", lineno, "This line is not parseable as valid JSON.")
            continue
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            problem("missing_required_parameter", lineno, "custom_id must be a non-empty string")
        elif custom_id in seen:
            problem("duplicate_custom_id", lineno, f"custom_id {custom_id!r} is used twice")
        elif item.get("url") != endpoint or item.get("method") != "POST":
            problem("url_mismatch", lineno, f"the line must be a POST to {endpoint}")
        else:
            seen.add(custom_id)
            requests.append((custom_id, item.get("body")))
    if not requests and not problems:
        problem("empty_file", 0, "The batch input file is empty.")
    return requests, problems


def anthropic_requests(req: Mapping[str, Any]) -> list[tuple[str, Any]]:
    items = req.get("requests")
    if not isinstance(items, list) or not items:
        raise bad_request("requests: must be a non-empty list")
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        custom_id = item.get("custom_id") if isinstance(item, dict) else None
        if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
            raise bad_request(f"requests.{i}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$")
        if custom_id in seen:
            raise bad_request(f"requests.{i}.custom_id: duplicate custom_id {custom_id!r}")
        seen.add(custom_id)
        out.append((custom_id, item.get("params")))
    return out
