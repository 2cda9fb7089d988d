"""``POST /v1/embeddings``: the OpenAI shape, answered by a profile's embeddings API.

``model`` names a profile (its embeddings model is used) or an embeddings model of the
default profile; ``input`` is a string or a list of strings; ``encoding_format`` ``float``
(the default) or ``base64`` (little-endian float32, as the openai SDK asks by default).
Usage is not reported by llmx's embeddings path: it is given as 0 tokens.
"""

from __future__ import annotations

import base64
import struct
from typing import TYPE_CHECKING, Any

from llmx.errors import LlmxError
from llmx.serve.wire import BadRequest

if TYPE_CHECKING:
    from llmx.serve.asgi import Exchange
    from llmx.serve.chat import Dialect
    from llmx.serve.clients import Clients


def parse(body: Any) -> tuple[str | None, list[str], str]:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise BadRequest("`input` must be a string or a non-empty list of strings")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise BadRequest("`encoding_format` must be float or base64")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise BadRequest("`model` must be a string")
    return model, texts, encoding


def encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


async def embeddings(exchange: Exchange, body: object, clients: Clients,
                     dialect: Dialect) -> None:
    from llmx.serve.chat import failed

    try:
        model, texts, encoding = parse(body)
        profile, other = clients.resolve(model)
        client = await clients.client(profile)
        vectors = await client.embed(texts, other)
    except BadRequest as exc:
        await exchange.json(400, dialect.error("invalid_request_error", str(exc)))
        return
    except LlmxError as exc:
        await failed(exchange, exc, dialect)
        return
    data = [{"object": "embedding", "index": i, "embedding": encoded(vector, encoding)}
            for i, vector in enumerate(vectors)]
    await exchange.json(200, {"object": "list", "data": data,
                              "model": other or profile.cache.embedding_model or profile.name,
                              "usage": {"prompt_tokens": 0, "total_tokens": 0}})
