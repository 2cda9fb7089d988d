"""Wire pieces of the provider Batch APIs (pure, no IO): request lines, custom_ids,
splitting into batches, multipart uploads, and reading result lines back.

OpenAI input line: ``{"custom_id", "method": "POST", "url": "/v1/chat/completions",
"body"}``; output and error file lines: ``{"id", "custom_id", "response": {"status_code",
"request_id", "body"} | null, "error": {"code", "message"} | null}``. Anthropic request:
``{"custom_id", "params"}``; result line: ``{"custom_id", "result": {"type": "succeeded",
"message"} | {"type": "errored", "error": <error response>} | {"type": "canceled" |
"expired"}}``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmx.batch.jobs import Job
from llmx.batch.output import describe_error
from llmx.errors import LlmxError
from llmx.providers.anthropic import AnthropicCodec
from llmx.providers.base import Codec
from llmx.providers.openai import OpenAICodec
from llmx.providers.wire import INBAND_STATUS, as_dict, encode_json
from llmx.types import Chunk, Message, Request

CHAT_ENDPOINT = "/v1/chat/completions"
MISSING = "missing from batch output"
# Per-batch limits: OpenAI 50,000 requests / 200 MB input file; Anthropic 100,000
# requests / 256 MB. Sizes stay a little below, for the envelope around the lines.
LIMITS: Mapping[str, tuple[int, int]] = {
    "openai": (50_000, 190_000_000),
    "anthropic": (100_000, 250_000_000),
}
_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what Anthropic accepts; used for both


Outcome = Chunk | tuple[str, str]  # an answer, or (error type, message)


@dataclass(frozen=True, slots=True)
class Item:
    """One job on its way into a batch."""

    custom_id: str
    index: int  # the job's index
    line: bytes  # the encoded request (OpenAI: a JSONL line; Anthropic: one JSON object)


def job_request(job: Job, model: str) -> Request:
    """The Request direct mode sends for ``job``, before any profile defaults."""
    messages = job.messages if job.prompt is None else (*job.messages, Message("user", job.prompt))
    temperature = _number_or_none(job.params.get("temperature"))
    max_tokens = _number_or_none(job.params.get("max_tokens"))
    return Request(
        model=job.model or model,
        messages=tuple(messages),
        system=job.system,
        temperature=None if temperature is None else float(temperature),
        max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        stream=False,
    )


def _number_or_none(value: object) -> float | int | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def request_body(
    provider: str, job: Job, request: Callable[[Job], Request], model: str
) -> dict[str, Any]:
    """OpenAI: the chat body (an OpenAI Batch line's own body, without streaming, and with
    ``model`` when it names none); Anthropic: the Messages params."""
    if provider == "openai" and job.openai_body is not None:
        drop = ("stream", "stream_options")
        body = {k: v for k, v in job.openai_body.items() if k not in drop}
        body.setdefault("model", model)
        return body
    codec: Codec = OpenAICodec() if provider == "openai" else AnthropicCodec()
    body = as_dict(json.loads(codec.build(request(job)._replace(stream=False), None).body))
    body.pop("stream", None)  # batch APIs answer whole messages; some refuse the field
    return body


def encode_item(provider: str, custom_id: str, index: int, body: Mapping[str, Any]) -> Item:
    if provider == "openai":
        item = {"custom_id": custom_id, "method": "POST", "url": CHAT_ENDPOINT, "body": body}
        return Item(custom_id, index, encode_json(item) + b"\n")
    return Item(custom_id, index, encode_json({"custom_id": custom_id, "params": body}))


def custom_id(job: Job, seen: set[str]) -> str:
    """The job id when it is a valid, unused custom_id; else ``llmx-<index>`` (made unique).
    Adds the chosen id to ``seen``."""
    candidate = job.id
    n = 0
    while not _CUSTOM_ID.fullmatch(candidate) or candidate in seen:
        candidate = f"llmx-{job.index}" + (f"-{n}" if n else "")
        n += 1
    seen.add(candidate)
    return candidate


def split(items: Iterable[Item], max_count: int, max_bytes: int) -> list[list[Item]]:
    """Consecutive groups of at most ``max_count`` items and (unless one item is bigger)
    ``max_bytes`` bytes of lines."""
    groups: list[list[Item]] = [[]]
    size = 0
    for item in items:
        if groups[-1] and (len(groups[-1]) >= max_count or size + len(item.line) > max_bytes):
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += len(item.line)
    return groups if groups[0] else []


def multipart(fields: Sequence[tuple[str, str | None, bytes]]) -> tuple[str, bytes]:
    """(content type, body) of a ``multipart/form-data`` request.

    ``fields`` are (name, filename or None, content); names and filenames must not hold
    quotes or line breaks. The boundary is random and checked against every content.
    """
    for name, filename, _ in fields:
        if any(c in name + (filename or "") for c in '"\r\n'):
            raise ValueError("multipart names and filenames must not hold quotes or line breaks")
    boundary = "llmx-" + secrets.token_hex(16)
    while any(boundary.encode() in content for _, _, content in fields):
        boundary = "llmx-" + secrets.token_hex(16)
    out: list[bytes] = []
    for name, filename, content in fields:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
        if filename is not None:
            head += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'
        out += [head.encode("utf-8"), b"\r\n\r\n", content, b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(out)


def parse_lines(data: bytes, outcome: Callable[[Mapping[str, Any]], Outcome]) -> dict[str, Outcome]:
    """custom_id -> outcome for each JSONL line (lines that are not JSON are skipped)."""
    found: dict[str, Outcome] = {}
    for raw in data.splitlines():
        try:
            line = as_dict(json.loads(raw))
        except ValueError:
            continue
        cid = line.get("custom_id")
        if isinstance(cid, str):
            found[cid] = outcome(line)
    return found


def openai_outcome(line: Mapping[str, Any]) -> Outcome:
    """One line of an OpenAI output or error file."""
    response = as_dict(line.get("response"))
    status, body = response.get("status_code"), response.get("body")
    if isinstance(status, int) and 200 <= status < 300:
        return _parsed(OpenAICodec(), body)
    if isinstance(status, int):
        return describe_error(OpenAICodec().parse_error(status, {}, encode_json(as_dict(body))))
    error = as_dict(line.get("error"))
    message = str(error.get("message") or "the request failed")
    return ("ProviderError", f"openai batch: {message} ({error.get('code') or 'error'})")


def openai_fallback(batch: Mapping[str, Any]) -> tuple[str, str]:
    """The error of a job that no output or error file line answers."""
    status = batch.get("status")
    if status == "failed":
        problems = [as_dict(p) for p in as_dict(batch.get("errors")).get("data") or []]
        detail = "; ".join(f"{p.get('code')}: {p.get('message')}" for p in problems[:3])
        return ("ProviderError", f"openai batch {batch.get('id')} failed: {detail or 'no detail'}")
    if status == "completed":
        return ("ProviderError", MISSING)
    return ("ProviderError", f"{MISSING} (batch {status})")


def anthropic_outcome(line: Mapping[str, Any]) -> Outcome:
    """One line of an Anthropic results file."""
    result = as_dict(line.get("result"))
    kind = result.get("type")
    if kind == "succeeded":
        return _parsed(AnthropicCodec(), result.get("message"))
    if kind == "errored":
        body = as_dict(result.get("error"))
        status = INBAND_STATUS.get(str(as_dict(body.get("error")).get("type")), 500)
        return describe_error(AnthropicCodec().parse_error(status, {}, encode_json(body)))
    if kind in ("canceled", "expired"):
        return ("ProviderError", f"anthropic batch: the request was {kind}")
    return ("ProviderError", f"anthropic batch: unknown result type {str(kind)[:40]!r}")


def results_path(base_url: str, url: object, path: str) -> str:
    """Anthropic's ``results_url`` when it is on the profile's own origin (the API key goes
    with it), else the documented ``{path}/results``."""
    origin = "/".join(base_url.rstrip("/").split("/")[:3])
    if isinstance(url, str) and url.startswith(origin + "/"):
        return url
    return f"{path}/results"


def _parsed(codec: Codec, body: object) -> Outcome:
    try:
        return codec.parse_response(encode_json(as_dict(body)))
    except LlmxError as exc:
        return describe_error(exc)
