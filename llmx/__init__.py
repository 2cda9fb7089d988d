"""llmx: fast, cheap LLM calls from the shell and from Python.

Importing ``llmx`` is cheap: the public names are resolved lazily so that the
CLI's fast paths (``llmx --version``) never pay for httpx, rich or numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Call",
    "Chunk",
    "Client",
    "Completion",
    "Fallback",
    "LlmxError",
    "Message",
    "Plan",
    "Request",
    "Usage",
    "__version__",
]

_LAZY = {
    "Call": "llmx.prepare",
    "Chunk": "llmx.types",
    "Client": "llmx.engine",
    "Completion": "llmx.types",
    "Fallback": "llmx.fallback",
    "LlmxError": "llmx.errors",
    "Message": "llmx.types",
    "Plan": "llmx.plan",
    "Request": "llmx.types",
    "Usage": "llmx.types",
}

if TYPE_CHECKING:
    from llmx.engine import Client
    from llmx.errors import LlmxError
    from llmx.fallback import Fallback
    from llmx.plan import Plan
    from llmx.prepare import Call
    from llmx.types import Chunk, Completion, Message, Request, Usage


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'llmx' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
