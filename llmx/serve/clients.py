"""The proxy's Clients: one per profile, opened on first use and kept for the server's life,
so every request to a profile shares its connection pool, its cache and its single flight.

A request's ``model`` names a profile, or a model of the default profile (sent as that
model). ``close`` releases them all (their queued cache and record writes are written).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from llmx.engine import Client

if TYPE_CHECKING:
    from llmx.config.profile import Config, Profile
    from llmx.state import Once


class Clients:
    __slots__ = ("_clients", "_config", "_default", "_env", "_lock", "_stack", "_warn")

    def __init__(self, config: Config, default: Profile, *, env: Mapping[str, str],
                 warn: Once) -> None:
        self._config = config
        self._default = default
        self._env = env
        self._warn = warn
        self._stack = AsyncExitStack()
        self._clients: dict[str, Client] = {}
        self._lock = asyncio.Lock()

    @property
    def default(self) -> Profile:
        return self._default

    def profiles(self) -> list[Profile]:
        """Every profile a request may name, the default first."""
        others = [p for name, p in sorted(self._config.profiles.items())
                  if name != self._default.name]
        return [self._default, *others]

    def resolve(self, model: str | None) -> tuple[Profile, str | None]:
        """The profile ``model`` names and the model to send (None: the profile's own)."""
        if model is None:
            return self._default, None
        named = self._config.profiles.get(model)
        if named is not None:
            return named, None
        return self._default, (None if model == self._default.model else model)

    async def client(self, profile: Profile) -> Client:
        client = self._clients.get(profile.name)
        if client is not None:
            return client
        async with self._lock:
            client = self._clients.get(profile.name)
            if client is None:
                client = await self._stack.enter_async_context(
                    Client(profile, env=self._env, warn=self._warn))
                self._clients[profile.name] = client
        return client

    def opened(self) -> list[Client]:
        """The Clients opened so far (for ``/metrics``)."""
        return list(self._clients.values())

    async def close(self) -> None:
        await self._stack.aclose()
        self._clients.clear()
