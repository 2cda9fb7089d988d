"""Context windows: how many tokens (prompt + reply) a model accepts. Pure, stdlib only.

``context_window(model, override)`` answers with the profile's ``context_window`` when it is
set, else with the longest entry of ``DEFAULT_WINDOWS`` that the model name starts with, else
``FALLBACK_WINDOW``. Names are compared in lower case, after dropping a routing prefix such
as ``openai/`` or ``meta-llama/`` (everything up to the last ``/``); a prefix matches a whole
name or a name that goes on after a separator (``-``, ``.``, ``:``...), so ``gpt-4o-2024-08-06``,
``claude-3-5-haiku-latest``, ``llama3.2:3b`` and ``openai/gpt-4.1-mini`` all find their row.

The figures are the providers' published windows (prompt and reply together), checked in
2025. Where the published figure is not what a request may really use, the table holds the
usable figure and says why:

- ``gpt-5``: 400,000 in all, but at most 272,000 of them may be input (128,000 are kept for
  the reply), so the row says 272,000 and the reply reserve comes out of that.
- Ollama serves a model with ``num_ctx`` tokens, not the model's window: 2,048 by default
  before mid-2025, 4,096 after, more on large GPUs in later releases — whatever does not fit
  is cut by the server without an error. The rows for local models (llama, mistral, qwen...)
  give the model's own window; set ``context_window`` in an Ollama profile to the ``num_ctx``
  (or ``OLLAMA_CONTEXT_LENGTH``) you run with.

Unknown models get ``FALLBACK_WINDOW`` (8,192): small enough for almost any model served
today, so a long prompt is shortened visibly rather than rejected by the server.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

FALLBACK_WINDOW = 8_192

DEFAULT_WINDOWS: Mapping[str, int] = MappingProxyType({
    # OpenAI
    "gpt-3.5-turbo": 16_385,
    "gpt-3.5-turbo-instruct": 4_096,
    "gpt-4": 8_192,
    "gpt-4-32k": 32_768,
    "gpt-4-turbo": 128_000,
    "gpt-4-1106": 128_000,  # gpt-4-1106-preview, the first gpt-4 turbo
    "gpt-4-0125": 128_000,  # gpt-4-0125-preview
    "gpt-4-vision": 128_000,
    "gpt-4o": 128_000,  # and gpt-4o-mini
    "chatgpt-4o": 128_000,
    "gpt-4.1": 1_047_576,  # and gpt-4.1-mini, gpt-4.1-nano
    "gpt-4.5": 128_000,
    "gpt-5": 272_000,  # input limit; see the module docstring
    "o1": 200_000,
    "o1-mini": 128_000,
    "o1-preview": 128_000,
    "o3": 200_000,  # and o3-mini
    "o4-mini": 200_000,
    # Anthropic: every model since Claude 2.1 takes 200k
    "claude": 200_000,
    "claude-2": 100_000,  # claude-2.0
    "claude-2.1": 200_000,
    "claude-instant": 100_000,
    # Open-weight models, as their cards publish them (see the Ollama note above)
    "llama2": 4_096,
    "llama-2": 4_096,
    "llama3": 8_192,  # Llama 3.0
    "llama-3": 8_192,
    "llama3.1": 131_072,
    "llama-3.1": 131_072,
    "llama3.2": 131_072,
    "llama-3.2": 131_072,
    "llama3.3": 131_072,
    "llama-3.3": 131_072,
    "mistral": 32_768,
    "mixtral": 32_768,
    "mistral-nemo": 131_072,
    "qwen2": 32_768,
    "qwen2.5": 32_768,  # 131,072 only with YaRN scaling switched on
    "gemma2": 8_192,
    # llmx's embedded simulator
    "sim-1": 8_192,
})


def context_window(model: str, override: int | None = None) -> int:
    """Tokens (prompt + reply) ``model`` accepts; ``override`` (the profile's value) wins."""
    if override is not None:
        if override < 1:
            raise ValueError(f"context window must be positive, got {override}")
        return override
    return default_window(model)


@functools.lru_cache(maxsize=256)
def default_window(model: str) -> int:
    """The table's figure for ``model``: its longest matching prefix, else the fallback."""
    name = model.strip().lower().rpartition("/")[2]
    best = ""
    for prefix in DEFAULT_WINDOWS:
        if len(prefix) > len(best) and _starts_with(name, prefix):
            best = prefix
    return DEFAULT_WINDOWS[best] if best else FALLBACK_WINDOW


def _starts_with(name: str, prefix: str) -> bool:
    """``name`` is ``prefix`` or continues it after a separator: ``claude-2`` covers
    ``claude-2.0`` but not ``claude-2099...``, ``gpt-4`` covers ``gpt-4-0613`` but not
    ``gpt-4o``."""
    if not name.startswith(prefix):
        return False
    return len(name) == len(prefix) or not name[len(prefix)].isalnum()
