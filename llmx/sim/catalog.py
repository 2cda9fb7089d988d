"""The simulator's model catalogue, in each provider's shape (pure).

- OpenAI ``GET /v1/models`` and ``GET /v1/models/{id}``: ``{"object": "list", "data":
  [model...]}`` and one ``{"id", "object": "model", "created", "owned_by"}``; an unknown id
  is a 404 with code ``model_not_found``.
- Anthropic ``GET /v1/models`` (and ``/v1/models/{id}``), for a client that sends
  ``anthropic-version``: ``{"data": [{"type": "model", "id", "display_name",
  "created_at"}], "has_more", "first_id", "last_id"}``.
- Anthropic ``POST /v1/messages/count_tokens``: ``{"input_tokens": N}``, N counted as the
  chat endpoint counts a prompt.
- Ollama ``GET /api/tags`` and ``POST /api/show``: the local models and one model's
  details; an unknown model is a 404 ``{"error": "model 'x' not found"}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from llmx.sim.common import SimError, bad_request, dumps

MODELS = ("sim-1", "sim-1-mini", "sim-embed-1")
CREATED = 1_700_000_000
_DIGEST = "0" * 64


def is_anthropic_client(headers: dict[bytes, bytes]) -> bool:
    """Anthropic's SDKs send ``anthropic-version`` (and the key as ``x-api-key``)."""
    return b"anthropic-version" in headers


def _openai_model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": "llmx-sim"}


def _anthropic_model(name: str) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(CREATED, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": "model", "id": name, "display_name": name.replace("-", " ").title(),
            "created_at": stamp}


def _known(name: str, message: str) -> str:
    if name not in MODELS:
        raise SimError(404, "not_found", message)
    return name


def openai_models(model_id: str | None) -> bytes:
    if model_id is None:
        return dumps({"object": "list", "data": [_openai_model(m) for m in MODELS]})
    message = f"The model '{model_id}' does not exist or you do not have access to it."
    return dumps(_openai_model(_known(model_id, message)))


def model_not_found(message: str) -> bytes:
    """OpenAI's 404 for an unknown model, in the shape of the recorded capture."""
    return dumps({"error": {"message": message, "type": "invalid_request_error",
                            "param": None, "code": "model_not_found"}})


def anthropic_models(model_id: str | None) -> bytes:
    if model_id is not None:
        return dumps(_anthropic_model(_known(model_id, f"model: {model_id}")))
    data = [_anthropic_model(m) for m in MODELS]
    return dumps({"data": data, "has_more": False, "first_id": data[0]["id"],
                  "last_id": data[-1]["id"]})


def count_tokens(input_tokens: int) -> bytes:
    return dumps({"input_tokens": input_tokens})


def _ollama_details() -> dict[str, Any]:
    return {"parent_model": "", "format": "gguf", "family": "sim", "families": ["sim"],
            "parameter_size": "1B", "quantization_level": "Q4_K_M"}


def ollama_tags(modified_at: str) -> bytes:
    models = [{"name": f"{m}:latest", "model": f"{m}:latest", "modified_at": modified_at,
               "size": 1_000_000, "digest": _DIGEST, "details": _ollama_details()}
              for m in MODELS]
    return dumps({"models": models})


def ollama_show(obj: dict[str, Any], modified_at: str) -> bytes:
    name = obj.get("model", obj.get("name"))
    if not isinstance(name, str) or not name:
        raise bad_request("model is required")
    base = name.removesuffix(":latest")
    if base not in MODELS:
        raise SimError(404, "not_found", f"model '{name}' not found")
    capabilities = ["embedding"] if "embed" in base else ["completion"]
    return dumps({
        "modelfile": f"FROM {base}\n", "parameters": "", "template": "{{ .Prompt }}",
        "details": _ollama_details(),
        "model_info": {"general.architecture": "sim", "sim.context_length": 8192},
        "capabilities": capabilities, "modified_at": modified_at,
    })
