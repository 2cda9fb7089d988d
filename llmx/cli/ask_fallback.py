"""``llmx ask`` over a profile's fallbacks (``fallback = [...]``, see ``llmx.fallback``).

``with_fallbacks`` gives ``ask`` what it sends through: the Client itself when its profile
has no fallbacks, else an ``AskChain``, which has the part of the Client's surface that
``ask`` uses (``async with``, ``stream(plan, wire_stream=...)``, ``profile``: the profile
that answered, once it has). Each switch writes one ``note:`` line on stderr. The flags
are checked against every fallback profile before anything is sent (a ``--temperature``
out of a fallback's provider's range is a usage error), except ``--model``, which only the
first profile is asked for.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from llmx.cli._io import Io

if TYPE_CHECKING:
    from llmx.answer import Answer
    from llmx.cli.ask import AskArgs
    from llmx.config.profile import Config, Profile
    from llmx.engine import Client, Plan
    from llmx.fallback import Fallback, FallbackAnswer, Switch


class AskChain:
    """One ``ask`` call over a Fallback (see the module docstring)."""

    def __init__(self, chain: Fallback, prompt: str) -> None:
        self._chain, self._prompt = chain, prompt
        self._answer: FallbackAnswer | None = None

    @property
    def profile(self) -> Profile:
        """The profile that answers (the first, until a switch)."""
        return self._chain.profile if self._answer is None else self._answer.profile

    async def __aenter__(self) -> AskChain:
        await self._chain.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self._chain.__aexit__(exc_type, exc, tb)

    def stream(self, plan: Plan, *, wire_stream: bool = True) -> Answer:
        self._answer = self._chain.stream(self._prompt, wire_stream=wire_stream, plan=plan)
        return self._answer


def with_fallbacks(client: Client, config: Config, prompt: str, args: AskArgs, io: Io
                   ) -> Client | AskChain:
    """``client`` alone, or an ``AskChain`` starting with it when its profile has
    fallbacks (their flags checked: ``UsageError``, nothing sent)."""
    from llmx.config.fallbacks import chain

    names = chain(config.profiles, client.profile.name)
    if len(names) == 1:
        return client
    from llmx.cli.ask import check_flags
    from llmx.engine import Client
    from llmx.fallback import Fallback
    from llmx.state import Once, stderr_warn
    from llmx.values import replaced

    profiles = [config.profiles[name] for name in names]
    for profile in profiles[1:]:
        check_flags(replaced(args, model=None), profile)
    warnings = Once(stderr_warn(io.stderr))

    def make(profile: Profile) -> Client:
        return Client(profile, env=io.env, warn=warnings, warm=False, refresh_ahead=False)

    def note(switch: Switch) -> None:
        io.stderr.write(switch.note() + "\n")
        io.stderr.flush()

    return AskChain(Fallback(profiles, client=make, first=client, on_switch=note), prompt)
