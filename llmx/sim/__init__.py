"""The embedded simulated provider: a real HTTP/1.1 server (h11 over asyncio)
speaking the OpenAI, Anthropic and Ollama wire formats on 127.0.0.1.

Routes: OpenAI ``/v1/chat/completions``, ``/v1/responses``, ``/v1/embeddings``,
``/v1/models[/{id}]``, Files and Batches (``/v1/files``, ``/v1/batches``: create, get, list,
cancel, file delete), also at Azure's URLs (``/openai/deployments/{name}/...?api-version=``,
``/openai/responses?api-version=``, ``/openai/v1/...``; key in ``api-key``); Anthropic
``/v1/messages``, ``/v1/messages/count_tokens``, ``/v1/models`` (for a client that sends
``anthropic-version``), Message Batches (create, get, list, results, cancel, delete);
Ollama ``/api/chat``, ``/api/generate``, ``/api/embed``, ``/api/tags``, ``/api/show``.
Overload is a 503 for OpenAI and Ollama, a 529 ``overloaded_error`` for Anthropic.

Faults come from ``SimOptions`` (seeded rates) or from the request itself: a prompt
holding ``[[sim:NAME]]`` (or ``[[sim:NAME*K]]``, the first K times only) gets one of the
replies real providers send besides a plain answer (tool calls, refusals, in-band errors;
see ``directives.py``); the key ``sim-invalid`` gets a 401 and any ``sim-echo-*`` key a
401 whose message repeats it.

Names are resolved lazily so that importing ``llmx.sim`` (e.g. for
``SimOptions``) does not import h11 or the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "SimOptions",
    "SimServer",
    "count_tokens",
    "prompt_key",
    "run_forever",
    "serve",
]

_LAZY = {
    "SimOptions": "llmx.sim.options",
    "SimServer": "llmx.sim.server",
    "count_tokens": "llmx.sim.text",
    "prompt_key": "llmx.sim.text",
    "run_forever": "llmx.sim.server",
    "serve": "llmx.sim.server",
}

if TYPE_CHECKING:
    from llmx.sim.options import SimOptions
    from llmx.sim.server import SimServer, run_forever, serve
    from llmx.sim.text import count_tokens, prompt_key


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'llmx.sim' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
