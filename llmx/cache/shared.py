"""Opening the shared (Redis) store of ``cache.backend = "redis"``, with clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from llmx.errors import ConfigError
from llmx.state import Warn

if TYPE_CHECKING:
    from llmx.cache.redis_store import RedisStore
    from llmx.config.profile import CacheSettings

INSTALL_HINT = "install it with: pip install 'llmx[redis]'"


def open_redis(settings: CacheSettings, directory: Path, *, clock: Callable[[], float],
               warn: Warn | None) -> RedisStore:
    """The store at ``settings.redis_url`` (no connection is made yet: the first command
    connects). Raises ``ConfigError`` without a URL or without the ``redis`` package."""
    if not settings.redis_url:
        raise ConfigError('cache.backend = "redis" needs cache.redis_url',
                          hint='e.g. redis_url = "redis://127.0.0.1:6379/0"')
    try:
        from llmx.cache.redis_store import RedisStore
    except ImportError:
        raise ConfigError('cache.backend = "redis" needs the redis package',
                          hint=INSTALL_HINT) from None
    try:
        return RedisStore(settings.redis_url, directory, clock=clock, warn=warn)
    except ValueError as exc:  # redis-py's verdict on a malformed URL
        raise ConfigError(f"cache.redis_url: {exc}") from None
