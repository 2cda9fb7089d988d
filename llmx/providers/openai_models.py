"""What the current OpenAI models accept for a length limit and a temperature. Pure.

The reasoning families — ``gpt-5`` (``gpt-5``, ``gpt-5-mini``, ``gpt-5-nano``, ``gpt-5.1``,
``gpt-5-codex``...), ``o1``, ``o3`` and ``o4`` (``o4-mini``...) — refuse ``max_tokens`` on
Chat Completions (they want ``max_completion_tokens``, which counts the hidden reasoning
tokens too) and refuse any temperature but their default. ``FAMILIES`` is that table; a
model belongs to a family when its name (after any ``vendor/`` prefix, as OpenRouter spells
``openai/gpt-5-mini``) is the family's name or starts with it followed by ``-`` or ``.``.

A profile overrides the table with ``token_param`` and ``send_temperature`` (``Overrides``;
``None`` keeps the table's choice). What a caller may rely on:

- ``sampling_fields(request, overrides)`` (``add_sampling`` writes them into a body): the
  Chat Completions fields for the request's ``max_tokens`` and ``temperature``: a
  ``max_tokens`` under the model's token field; a temperature only when the request has one
  and the model takes it (``send_temperature = true`` sends it to any model).
- ``sends_temperature(model, overrides)``: the temperature rule alone (the Responses API
  codec uses it with its own length field, ``max_output_tokens``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from llmx.choices import TokenParam
from llmx.types import Request

FAMILIES: tuple[str, ...] = ("gpt-5", "o1", "o3", "o4")
"""Model families that take ``max_completion_tokens`` and only their default temperature."""

MAX_TOKENS: TokenParam = "max_tokens"
MAX_COMPLETION_TOKENS: TokenParam = "max_completion_tokens"


class Overrides(NamedTuple):
    """A profile's ``token_param`` and ``send_temperature``; ``None``: the table decides."""

    token_param: TokenParam | None = None
    send_temperature: bool | None = None


TABLE = Overrides()
"""No overrides: the table decides everything."""


def family(model: str) -> str | None:
    """The family of ``model`` in ``FAMILIES``, or None for any other model."""
    name = model.rpartition("/")[2].lower()
    for prefix in FAMILIES:
        if name == prefix or name.startswith((prefix + "-", prefix + ".")):
            return prefix
    return None


def token_param(model: str, overrides: Overrides = TABLE) -> TokenParam:
    """The Chat Completions field that carries the length limit for ``model``."""
    if overrides.token_param is not None:
        return overrides.token_param
    return MAX_COMPLETION_TOKENS if family(model) else MAX_TOKENS


def sends_temperature(model: str, overrides: Overrides = TABLE) -> bool:
    """Whether a temperature the request carries goes on the wire for ``model``."""
    if overrides.send_temperature is not None:
        return overrides.send_temperature
    return family(model) is None


@lru_cache(maxsize=256)
def _rules(model: str, overrides: Overrides) -> tuple[TokenParam, bool]:
    """(token field, temperature sent) for a model: decided once per model and overrides."""
    return token_param(model, overrides), sends_temperature(model, overrides)


def add_sampling(payload: dict[str, Any], request: Request,
                 overrides: Overrides = TABLE) -> None:
    """Put the length-limit and temperature fields of a Chat Completions body in
    ``payload`` (the codec's hook: one dict, no copy)."""
    field, temperature = _rules(request.model, overrides)
    if temperature and request.temperature is not None:
        payload["temperature"] = request.temperature
    if request.max_tokens is not None:
        payload[field] = request.max_tokens


def sampling_fields(request: Request, overrides: Overrides = TABLE) -> dict[str, Any]:
    """The length-limit and temperature fields of a Chat Completions body, alone."""
    fields: dict[str, Any] = {}
    add_sampling(fields, request, overrides)
    return fields
