"""``llmx batch`` lines over their profile's fallbacks (``fallback = [...]``).

A line whose profile (its own ``profile``, else the run's) has fallbacks is sent to the
next profile of its chain (``llmx.config.fallbacks.chain``) when its call failed after
the Client's retries with an error ``llmx.fallback.may_fall_back`` accepts; batch asks for
whole answers, so nothing was handed over before a failure. Each profile answers through
the run's one Client for it (``Clients.get``: its cache, pool, retries and records). The
line's ``model`` is asked of its first profile only. One ``note:`` line on stderr per pair
of profiles (the first failure's reason), not one per line: a run of 10,000 lines against
a dead endpoint says it once. The output line is the answering profile's answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from llmx.batch.jobs import Job
    from llmx.cli.batch_cmd import Clients
    from llmx.config.profile import Config
    from llmx.fallback import Switch
    from llmx.types import Completion


class LineFallbacks:
    """Sends a line through its profile's chain (see the module docstring)."""

    def __init__(self, clients: Clients, config: Config, default: str | None,
                 stderr: TextIO, flags: Mapping[str, bool]) -> None:
        self._clients, self._config, self._default = clients, config, default
        self._stderr, self._flags = stderr, flags
        self._chains: dict[str | None, tuple[str, ...]] = {}
        self._said: set[tuple[str, str]] = set()

    def send(self, job: Job, first: Callable[[], Awaitable[Completion]]
             ) -> Awaitable[Completion]:
        """``first()`` — called now, so the line boards its Client's flight at launch and
        an identical line launched after it joins — when the line's profile has no
        fallbacks, else the line through its chain (``flags``: ``call_for``'s, as for the
        first profile). A profile that does not resolve fails in the line's own task."""
        from llmx.errors import LlmxError

        try:
            names = self._chain(job.profile)
        except LlmxError:
            return self._through(job, first)
        if len(names) == 1:
            return first()
        return self._through(job, first)

    async def _through(self, job: Job, first: Callable[[], Awaitable[Completion]]
                       ) -> Completion:
        from llmx.batch.jobs import call_for
        from llmx.fallback import first_answer

        names = self._chain(job.profile)  # an unknown profile fails the line, as before
        if len(names) == 1:
            return await first()
        later = call_for(job, **self._flags)._replace(model=None)

        async def attempt(index: int) -> Completion:
            if index == 0:
                return await first()
            client = await self._clients.get(names[index])
            return await client.generate(job.prompt or "", later)

        return await first_answer(names, attempt, self._note)

    def _chain(self, profile: str | None) -> tuple[str, ...]:
        from llmx.config.fallbacks import chain
        from llmx.config.profile import resolve_profile

        found = self._chains.get(profile)
        if found is None:
            name = resolve_profile(self._config, profile or self._default).name
            found = self._chains[profile] = chain(self._config.profiles, name)
        return found

    def _note(self, switch: Switch) -> None:
        pair = (switch.failed, switch.to)
        if pair in self._said:
            return
        self._said.add(pair)
        try:
            self._stderr.write(switch.note() + "\n")
            self._stderr.flush()
        except (OSError, ValueError):
            pass
