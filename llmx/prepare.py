"""Turning a prompt into a Request: call options, compression, the context window.
(``Call`` and ``Prepared``, the values in and out, are ``llmx.plan``'s, re-exported.)

``prepare`` is synchronous and cheap for ordinary prompts: the tokenizer loads only when
compression is on or the prompt might not fit the model's context window.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from llmx.choices import CONTENT_KINDS
from llmx.plan import Call, Prepared
from llmx.types import Message, Request

if TYPE_CHECKING:
    from pathlib import Path

    from llmx.compress.tokens import Tokenizer
    from llmx.config.profile import Profile
    from llmx.config.schema import Checker

__all__ = ["Call", "Prepared", "build_request", "call_rules", "check_call", "prepare"]

DEFAULT_RESERVE = 1024  # response tokens kept free when the call sets no max_tokens
APPROXIMATE_MARGIN = 0.9  # share of the window used when counting with a stand-in encoding


KINDS = CONTENT_KINDS  # what a prompt can be (the cache.ttl keys less "default")
# Call fields with a rule:
CHECKED = ("model", "temperature", "max_tokens", "kind", "compress", "reasoning_effort")


@functools.cache
def call_rules(provider: str) -> Mapping[str, Checker]:
    """The rule of each checked Call field: the config key's own checker, so a flag, a
    batch line's params and the config file accept exactly the same values. Made once per
    provider (the rules are pure): every call with an option set is checked by them."""
    from llmx.choices import REASONING_EFFORTS
    from llmx.config import fields
    from llmx.config.profile import temperature_rule
    from llmx.config.schema import choice

    return MappingProxyType({
        "model": fields.rule("model"), "temperature": temperature_rule(provider),
        "max_tokens": fields.rule("max_tokens"), "kind": choice(*KINDS),
        "compress": fields.rule("compression.mode"),
        "reasoning_effort": choice(*REASONING_EFFORTS)})


def check_call(profile: Profile, call: Call, names: Mapping[str, str] | None = None) -> None:
    """Refuse (``UsageError``, nothing sent) a call whose options break their rules;
    ``names`` says what to call each field in the message (e.g. ``--max-tokens``)."""
    if call.tool_choice is not None or call.schema is not None:
        _check_tools(call)
        if call.reasoning_effort is not None and profile.provider == "anthropic":
            _check_thinking(call)
    values = [(name, getattr(call, name)) for name in CHECKED]
    if all(value is None for _, value in values):
        return
    from llmx.config.schema import check_flag

    rules = call_rules(profile.provider)
    for name, value in values:
        if value is not None:
            check_flag((names or {}).get(name, name), rules[name], value)


def _check_thinking(call: Call) -> None:
    """Anthropic refuses extended thinking with a forced tool (``--schema`` is one)."""
    from llmx.errors import UsageError

    forced = "--schema" if call.schema is not None else (
        None if call.tool_choice in ("auto", "none") else f"--tool-choice {call.tool_choice}")
    if forced is not None:
        raise UsageError(f"--reasoning-effort cannot be combined with {forced} for an "
                         "Anthropic profile (its extended thinking refuses a forced tool)")


def _check_tools(call: Call) -> None:
    from llmx.errors import UsageError
    from llmx.tooling import check_choice

    check_choice(call.tool_choice, call.tools)
    if call.schema is not None and call.tools is not None:
        raise UsageError("--schema cannot be combined with --tools (ask for one or the other)")


def build_request(profile: Profile, prompt: str, call: Call, *, stream: bool) -> Request:
    """A Request from a prompt; call values win over the profile's."""
    return Request(
        model=call.model or profile.model,
        messages=(*call.history, Message("user", prompt, call.images)),
        system=call.system,
        temperature=profile.temperature if call.temperature is None else call.temperature,
        max_tokens=profile.max_tokens if call.max_tokens is None else call.max_tokens,
        stream=stream,
        tools=call.tools,
        tool_choice=call.tool_choice,
        schema=call.schema,
        reasoning_effort=call.reasoning_effort,
    )


def prepare(profile: Profile, prompt: str, call: Call, *, stream: bool,
            tokenizers: Path | None) -> Prepared:
    """Check the call, compress the prompt (if asked), build the Request, fit it into the
    context window."""
    check_call(profile, call)
    model = call.model or profile.model
    mode = call.compress or profile.compression.mode
    prepared = Prepared(build_request(profile, prompt, call, stream=stream))
    tokenizer: Tokenizer | None = None
    if mode != "off":
        from llmx.compress import shrink
        from llmx.compress.rules import COMPRESSOR_VERSION

        tokenizer = _tokenizer(model, tokenizers)
        shrunk = shrink(prompt, mode, tokenizer, budget=_budget(profile, prepared.request))
        prepared = Prepared(build_request(profile, shrunk.text, call, stream=stream),
                            shrunk.before, shrunk.after, f"{mode}:{COMPRESSOR_VERSION}",
                            approximate=shrunk.approximate)
    return _fit(profile, prepared, tokenizer, tokenizers)


def _budget(profile: Profile, request: Request) -> int:
    """Tokens the prompt may take: over it, aggressive compression merges log templates."""
    from llmx.compress.windows import context_window

    return context_window(request.model, profile.context_window) - (
        request.max_tokens or DEFAULT_RESERVE)


def _fit(profile: Profile, prepared: Prepared, tokenizer: Tokenizer | None,
         tokenizers: Path | None) -> Prepared:
    from llmx.compress.windows import context_window

    request = prepared.request
    window = context_window(request.model, profile.context_window)
    reserve = request.max_tokens or DEFAULT_RESERVE
    if _bytes(request) <= int(window * APPROXIMATE_MARGIN) - reserve:
        return prepared  # fits by any count (see ``_bytes``): no tokenizer needed
    from llmx.compress.context import fit

    tokenizer = tokenizer or _tokenizer(request.model, tokenizers)
    if tokenizer.approximate:  # counted with a stand-in encoding: leave a margin
        window = int(window * APPROXIMATE_MARGIN)
    fitted = fit(request.system, request.messages, window=window, reserve=reserve,
                 count=tokenizer.count)
    if not fitted.truncated and not fitted.dropped_messages:
        return prepared
    return prepared._replace(request=request._replace(messages=tuple(fitted.messages)),
                             omitted_tokens=fitted.omitted_tokens,
                             approximate=tokenizer.approximate)


def _bytes(request: Request) -> int:
    """The prompt's UTF-8 bytes plus its framing: at least its token count by any encoding
    ``fit`` counts with. Those are byte-level BPE over ordinary text (``Tokenizer.count``):
    every token spans one byte or more, so a text has no more tokens than bytes (a lone
    surrogate counts its 3 escaped bytes; the counter replaces it with U+FFFD, also 3).
    Compared with the budget less the stand-in margin, a prompt within it fits whether the
    model's own or a stand-in encoding would count it."""
    from llmx.compress.context import framing

    texts = [message.content for message in request.messages]
    size = sum(len(text.encode("utf-8", "surrogatepass")) for text in texts)
    size += len((request.system or "").encode("utf-8", "surrogatepass"))
    return size + framing(len(texts), system=bool(request.system))


def _tokenizer(model: str, directory: Path | None) -> Tokenizer:
    from llmx.compress.tokens import tokenizer_for

    return tokenizer_for(model, cache_dir=directory)
