"""Fallbacks: a call that one profile cannot answer at all is answered by the next.

    async with Fallback.of(config, "main") as chain:  # main, then its `fallback` profiles
        answer = chain.stream("hello")
        async for chunk in answer:
            print(chunk.text, end="")
        answer.completion()            # as from Client.stream
        answer.profile                 # the Profile that answered
        answer.switches                # (Switch(failed, error, to), ...): why it moved on
        await chain.generate("hello")  # one answer, whole

    Fallback([main, backup], on_switch=print)  # any profiles, in the order to try them
    await first_answer(names, attempt)  # attempt(0), attempt(1)... until one answers (batch)

What a caller may rely on:

* each profile has its own ``llmx.engine.Client`` (its own cache scope, connection pool,
  retries and records): the first profile's is made with the Fallback (or given as
  ``first``) and entered with it; another is made and entered when a call first reaches
  it; all are closed when the Fallback exits. ``client(profile)`` makes one (default:
  ``Client(profile)``);
* a call moves to the next profile only when it failed with an error ``may_fall_back``
  accepts (a rate limit, a 5xx or 529 status, an in-band overload or server error, a
  connection error or a timeout), which a Client raises only once its own retries are
  spent, and only while the call has handed its caller no chunk. Any other error (auth,
  400, usage, a refusal) and any failure after the first chunk (a stream cut mid-way: the
  answer is partial) is raised as it is, as is the last profile's error;
* ``on_switch(switch)`` is called once per switch, before the next profile is asked;
* each Client writes its own records: the failed call's line names its profile with
  status ``error``, the answering call's names the profile that answered, ``ok``;
* the call's options (``Call``) go to every profile except ``model``: a model chosen for
  the first profile is not asked of the others, which use their own;
* ``stream`` plans and looks the call up in the first profile's Client at once, as
  ``Client.stream`` does; a later profile plans and looks up when the call reaches it (its
  own cache may answer).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

from llmx.answer import Answer
from llmx.errors import LlmxError, ProviderError, RateLimitError, TransportError
from llmx.plan import Call

if TYPE_CHECKING:
    from llmx.config.profile import Config, Profile
    from llmx.engine import Client, Plan
    from llmx.types import Chunk, Completion

__all__ = ["Fallback", "FallbackAnswer", "Switch", "first_answer", "may_fall_back"]

T = TypeVar("T")


def may_fall_back(error: BaseException) -> bool:
    """Whether another profile may answer a call that failed with ``error`` (after its
    retries): 429, 5xx (529 included, in HTTP or in-band), connection errors, timeouts."""
    if isinstance(error, RateLimitError | TransportError):
        return True
    return (isinstance(error, ProviderError) and error.status is not None
            and 500 <= error.status <= 599)


async def first_answer(names: Sequence[str], attempt: Callable[[int], Awaitable[T]],
                on_switch: Callable[[Switch], None] | None = None) -> T:
    """The result of ``attempt(0)``, else — when it failed with an error ``may_fall_back``
    accepts — of ``attempt(1)``, and so on; ``names[i]`` names the profile of attempt
    ``i``. For calls that hand nothing over before they end (``Client.generate``): every
    such failure moves on. The last attempt's error is raised as it is."""
    for index in range(len(names) - 1):
        try:
            return await attempt(index)
        except LlmxError as exc:
            if not may_fall_back(exc):
                raise
            if on_switch is not None:
                on_switch(Switch(names[index], exc, names[index + 1]))
    return await attempt(len(names) - 1)


class Switch(NamedTuple):
    """One move to the next profile: which one failed, with what, and which one is next."""

    failed: str
    error: LlmxError
    to: str

    def note(self) -> str:
        """One line for stderr (the error's message carries no secret: ``llmx.errors``)."""
        reason = " ".join(self.error.message.split())
        return f"note: profile '{self.failed}' failed ({reason}); profile '{self.to}' answers now"


class Fallback:
    """Several profiles as one: each call is answered by the first that can (module
    docstring). Use as ``async with Fallback(...) as chain``."""

    def __init__(self, profiles: Sequence[Profile], *,
                 client: Callable[[Profile], Client] | None = None, first: Client | None = None,
                 on_switch: Callable[[Switch], None] | None = None) -> None:
        if not profiles:
            raise ValueError("a Fallback needs at least one profile")
        if first is not None and first.profile.name != profiles[0].name:
            raise ValueError("`first` must be the Client of the first profile")
        self.profiles = tuple(profiles)
        self._make = client or _default_client
        self._first = first or self._make(self.profiles[0])
        self._clients: list[Client | None] = [None] * len(self.profiles)
        self._on_switch = on_switch
        self._stack = AsyncExitStack()
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, config: Config, name: str | None = None, **options: Any) -> Fallback:
        """The profile ``name`` (as ``resolve_profile`` finds it), then its fallbacks in the
        order ``llmx.config.fallbacks.chain`` gives; ``options`` as for ``Fallback``."""
        from llmx.config.fallbacks import chain
        from llmx.config.profile import resolve_profile

        profile = resolve_profile(config, name)
        return cls([config.profiles[each] for each in chain(config.profiles, profile.name)],
                   **options)

    @property
    def profile(self) -> Profile:
        """The first profile: the one every call asks first."""
        return self.profiles[0]

    def __repr__(self) -> str:
        return f"Fallback({', '.join(repr(p.name) for p in self.profiles)})"

    async def __aenter__(self) -> Fallback:
        self._clients[0] = await self._stack.enter_async_context(self._first)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._stack.aclose()

    def plan(self, prompt: str, call: Call | None = None, *, stream: bool = True) -> Plan:
        """The first profile's plan of ``prompt`` (``Client.plan``); pass it to ``stream``."""
        return self._first.plan(prompt, call, stream=stream)

    def stream(self, prompt: str, call: Call | None = None, *, wire_stream: bool = True,
               plan: Plan | None = None) -> FallbackAnswer:
        """Start an answer, as ``Client.stream`` does; ``plan``: the first profile's plan of
        this prompt and call, already made (``plan.call`` is then the call)."""
        first = self._first.stream(prompt if plan is None else plan, call,
                                   wire_stream=wire_stream)
        options = plan.call if plan is not None else call or Call()
        return FallbackAnswer(self, first, prompt, options._replace(model=None), wire_stream)

    def generate(self, prompt: str, call: Call | None = None
                 ) -> Coroutine[Any, Any, Completion]:
        """One answer, whole (``stream(..., wire_stream=False).collect()``). Await it."""
        return self.stream(prompt, call, wire_stream=False).collect()

    async def client(self, index: int) -> Client:
        """The entered Client of ``profiles[index]`` (made and entered on first use)."""
        if index == 0 and self._clients[0] is None:
            raise RuntimeError("use `async with Fallback(...)` before sending requests")
        async with self._lock:
            found = self._clients[index]
            if found is None:
                made = self._make(self.profiles[index])
                self._clients[index] = await self._stack.enter_async_context(made)
                return made
        return found

    def switched(self, switch: Switch) -> None:
        if self._on_switch is not None:
            self._on_switch(switch)


class FallbackAnswer(Answer):
    """An ``Answer`` that moves to the next profile when its call cannot be answered;
    ``profile`` is the profile answering it (the first, until a switch), ``switches``
    the moves made so far."""

    __slots__ = ("_profile", "_switches")

    def __init__(self, chain: Fallback, first: Answer, prompt: str, later: Call,
                 wire_stream: bool) -> None:
        self._profile = chain.profile
        self._switches: list[Switch] = []
        super().__init__(first.prepared, self._through(chain, first, prompt, later, wire_stream),
                         first.cached)

    @property
    def profile(self) -> Profile:
        return self._profile

    @property
    def switches(self) -> tuple[Switch, ...]:
        return tuple(self._switches)

    async def _through(self, chain: Fallback, answer: Answer, prompt: str, later: Call,
                       wire_stream: bool) -> AsyncGenerator[Chunk | Completion, None]:
        index = 0
        while True:
            handed = False
            chunks = cast("AsyncGenerator[Chunk, None]", aiter(answer))
            try:
                async for chunk in chunks:
                    handed = True
                    yield chunk
            except LlmxError as exc:
                if handed or index + 1 == len(chain.profiles) or not may_fall_back(exc):
                    raise
                index += 1
                switch = Switch(self._profile.name, exc, chain.profiles[index].name)
                self._switches.append(switch)
                chain.switched(switch)
            else:
                yield answer.completion()
                return
            finally:
                await chunks.aclose()
            client = await chain.client(index)
            self._profile = client.profile
            answer = client.stream(prompt, later, wire_stream=wire_stream)


def _default_client(profile: Profile) -> Client:
    from llmx.engine import Client

    return Client(profile)
