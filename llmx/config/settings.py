"""Every profile setting, declared once: its type, its default, its check and its help text
(one ``setting(...)`` each, see ``llmx.config.fields``). Pure.

The checked key list (``fields.profile_spec``), the defaults a resolved profile gets,
``llmx config show`` and ``llmx.toml.example`` are all read from these classes. Adding a
setting is one ``setting(...)`` line here, plus the code that uses it. Durations are held
in seconds and sizes in bytes (the TOML may spell them ``"30s"``, ``"256MiB"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from llmx.choices import (
    CACHE_BACKENDS,
    CACHE_MODES,
    COMPRESSION_MODES,
    EMBEDDED,
    EMBEDDERS,
    OPENAI_APIS,
    PROVIDERS,
    TOKEN_PARAMS,
    TTL_KINDS,
    CacheBackend,
    CacheMode,
    CompressionMode,
    Embedder,
    OpenAIApi,
    Provider,
    TokenParam,
    TtlKind,
)
from llmx.config import schema
from llmx.config.fields import Declared, setting, settings_table, table

MIN_CONTEXT_WINDOW = 256
MAX_CONTEXT_WINDOW = 100_000_000
_DEFAULT_TTL = 86_400.0


def _seconds(value: float) -> str | float:
    return schema.format_duration(value)


def _ttl_shown(value: Mapping[str, float]) -> dict[str, str | float]:
    return {kind: schema.format_duration(seconds) for kind, seconds in value.items()}


_EMBEDDER_HELP: Mapping[Embedder, str] = MappingProxyType({
    "auto": "model if installed, else lexical", "lexical": "local, free",
    "model": "local sentence model, llmx[model]", "provider": "the provider's embeddings API"})


def _one_of(options: tuple[str, ...]) -> str:
    return " | ".join(options)


@settings_table
class HttpSettings:
    """The connection pool of one endpoint. Timeouts are in seconds.

    In a profile, ``max_keepalive`` defaults to ``max_connections``."""

    max_connections: int = setting(
        default=10, check=schema.integer(1, 10_000),
        help="connections open at once to the endpoint (the seed's connection_pool_size)")
    max_keepalive: int = setting(
        default=10, check=schema.integer(0, 10_000), example=5,
        help="idle connections kept open (at most max_connections); unset: max_connections")
    keepalive_expiry: float = setting(
        default=60.0, check=schema.duration(allow_zero=True), show=_seconds,
        help="how long an idle connection stays open")
    min_connections: int = setting(
        default=0, check=schema.integer(0, 10_000), example=2,
        help="connections opened when a client starts and kept as a warm standby "
             "(at most max_connections; 0: none, each opened on first use)")
    health_check: bool = setting(
        default=True, check=schema.boolean(),
        help="check an idle connection before reusing it (off: reuse blindly)")
    http2: bool = setting(
        default=False, check=schema.boolean(),
        help="HTTP/2: many requests share few connections")
    connect_timeout: float = setting(
        default=5.0, check=schema.duration(), show=_seconds,
        help="longest wait for a connection")
    read_timeout: float = setting(
        default=30.0, check=schema.duration(), show=_seconds,
        help="longest silence between two pieces of the answer")


def _default_ttl() -> Mapping[str, float]:
    return MappingProxyType({"default": _DEFAULT_TTL})


@settings_table
class CacheSettings:
    """``ttl`` maps a content kind (``default``, ``chat``, ``code``, ``json``) to seconds;
    kinds without an entry use ``ttl["default"]`` (see ``ttl_for``)."""

    mode: CacheMode = setting(
        default="read-write", check=schema.choice(*CACHE_MODES),
        help=f"{_one_of(CACHE_MODES)}: whether answers are read from and written to the cache")
    max_entries: int = setting(
        default=1000, check=schema.integer(1),
        help="answers kept (the seed's cache_size); the least recently used go first")
    max_bytes: int = setting(
        default=256 * 1024 * 1024, check=schema.size(), show=schema.format_size,
        help="disk space the cache may use")
    semantic: bool = setting(
        default=True, check=schema.boolean(), help="also answer near-identical prompts")
    threshold: float = setting(
        default=0.92, check=schema.number(0.0, 1.0),
        help="cosine similarity needed for a semantic hit")
    embedder: Embedder = setting(
        default="auto", check=schema.choice(*EMBEDDERS),
        help=" | ".join(f"{name} ({_EMBEDDER_HELP[name]})" for name in EMBEDDERS))
    embedding_model: str | None = setting(
        default=None, check=schema.text(), example="text-embedding-3-small",
        help="for embedder = \"provider\"; unset: the provider's default embeddings model")
    backend: CacheBackend = setting(
        default="disk", check=schema.choice(*CACHE_BACKENDS),
        help="disk (this machine's files) | redis (answers, vectors and in-flight requests "
             "shared by every process using `redis_url`)")
    redis_url: str | None = setting(
        default=None, check=schema.text(), example="redis://127.0.0.1:6379/0",
        help="for backend = \"redis\": redis://HOST:PORT/DB, rediss:// (TLS) or "
             "unix:///path/redis.sock")
    ttl: Mapping[str, float] = setting(
        default_factory=_default_ttl, show=_ttl_shown,
        check=schema.frozen({kind: schema.duration() for kind in TTL_KINDS}),
        help=f"how long an answer stays fresh, per content kind ({', '.join(TTL_KINDS)}); "
             f"kinds not listed use `default` ({schema.format_duration(_DEFAULT_TTL)})")

    refresh_ahead: float = setting(
        default=0.0, check=schema.number(0.0, 0.5), example=0.1,
        help="share of an answer's life (0.1 = its last 10 %) in which an exact hit is asked "
             "again once, in the background of a long-running process (batch, serve, the "
             "library), never in a one-shot ask; 0: off")

    def ttl_for(self, kind: TtlKind | str) -> float:
        return self.ttl.get(kind, self.ttl["default"])


@settings_table
class CompressionSettings:
    """How a prompt is compressed before it is sent."""

    mode: CompressionMode = setting(
        default="off", check=schema.choice(*COMPRESSION_MODES),
        help=f"{_one_of(COMPRESSION_MODES)}: the rules applied to a prompt before it is sent")


@settings_table
class BatchSettings:
    """``rpm`` / ``tpm``: requests / tokens per minute; ``None`` (or 0 in TOML) = no limit."""

    concurrency: int = setting(
        default=16, check=schema.integer(1, 10_000), help="requests in flight at once")
    rpm: int | None = setting(
        default=None, check=schema.integer(0), example=500,
        help="requests per minute (0 or unset: no limit)")
    tpm: int | None = setting(
        default=None, check=schema.integer(0), example=200_000,
        help="tokens per minute (0 or unset: no limit)")
    auto_min_saving: float = setting(
        default=0.01, check=schema.number(0.0),
        help="`llmx batch --mode auto`: the least estimated saving (in the [price]'s "
             "currency) for which a run waits for the provider's Batch API")
    max_batch_size: int = setting(
        default=16, check=schema.integer(1, 10_000),
        help="embedding lookups grouped into one request (the seed's batch_size)")
    max_wait_ms: float = setting(
        default=10.0, check=schema.number(0.0, 60_000.0),
        help="milliseconds a group waits to fill up")


@settings_table
class Price:
    """Money per one million tokens, for cost estimates."""

    input: float = setting(default=0.0, check=schema.number(0.0),
                           help="per one million prompt tokens")
    output: float = setting(default=0.0, check=schema.number(0.0),
                            help="per one million answer tokens")
    cached_input: float | None = setting(
        default=None, check=schema.number(0.0), example=0.075,
        help="per one million prompt tokens read from the provider's prompt cache "
             "(OpenAI cached_tokens, Anthropic cache reads; default: the input price)")
    cache_write: float | None = setting(
        default=None, check=schema.number(0.0), example=1.0,
        help="per one million prompt tokens written to the provider's prompt cache "
             "(Anthropic cache_creation_input_tokens; default: the input price)")


EXTENDS = Declared(
    "start from this profile (already resolved); sub-tables merge key by key",
    schema.text(), None, None, "another-profile")
"""The one profile key that is not a ``Profile`` field: it is resolved away."""


@settings_table
class Profile:
    """A resolved profile. ``timeout`` is the total budget in seconds for one
    request, retries and back-off included.

    A profile never holds an API key, only where to find one, so no repr can leak a key."""

    name: str
    description: str | None = setting(
        default=None, check=schema.text(allow_empty=True), example="what this profile is for",
        help="free text, shown by `llmx config show`")
    provider: Provider = setting(
        check=schema.choice(*PROVIDERS), example="openai",
        help=f"the API it speaks: {_one_of(PROVIDERS)}")
    model: str = setting(
        check=schema.text(), example="gpt-4o-mini", help="the model asked for")
    base_url: str = setting(
        check=schema.url(), example="https://api.openai.com/v1",
        help=f"the API's root; unset: the provider's public endpoint; \"{EMBEDDED}\": "
             "the embedded simulator")
    api_key_env: str | None = setting(
        default=None, check=schema.env_var_name(), example="OPENAI_API_KEY",
        help="the environment variable holding the key (never the key itself); \"\": no key")
    api_key_cmd: str | None = setting(
        default=None, check=schema.command(), example="pass show openai/api-key", repr=False,
        help="instead of api_key_env: a command (string or array) that prints the key "
             "(first line used)")
    api: OpenAIApi | None = setting(
        default=None, check=schema.choice(*OPENAI_APIS), example="responses",
        help="openai and azure: chat (Chat Completions) | responses (the Responses API); "
             "unset: chat")
    deployment: str | None = setting(
        default=None, check=schema.text(), example="my-gpt-5-mini",
        help="azure: the deployment name (with api_version: the URL's /deployments/NAME; "
             "without: sent as the model)")
    api_version: str | None = setting(
        default=None, check=schema.text(), example="2024-10-21",
        help="azure: the ?api-version= of the deployment URL; unset: the /openai/v1 API")
    token_param: TokenParam | None = setting(
        default=None, check=schema.choice(*TOKEN_PARAMS), example="max_completion_tokens",
        help="openai and azure: the field that carries max_tokens; unset: "
             "max_completion_tokens for the gpt-5 and o-series models, else max_tokens")
    send_temperature: bool | None = setting(
        default=None, check=schema.boolean(), example=True,
        help="openai and azure: send temperature; unset: not to the gpt-5 and o-series "
             "models (they accept only their default), else when set")
    temperature: float | None = setting(
        default=None, check=schema.number(0.0, 2.0), example=0.2,
        help="0..2 (0..1 for anthropic); unset: the provider's default")
    max_tokens: int | None = setting(
        default=None, check=schema.integer(1), example=1024,
        help="longest answer in tokens; unset: the provider's default")
    context_window: int | None = setting(
        default=None, check=schema.integer(MIN_CONTEXT_WINDOW, MAX_CONTEXT_WINDOW),
        example=128_000,
        help="tokens (prompt + reply) the model accepts; unset: the model's published window "
             "(8192 for unknown models). A prompt that does not fit leaves max_tokens (or 1024) "
             "for the reply: oldest turns are dropped, then the middle of a long message is "
             "cut, with a visible marker")
    timeout: float = setting(
        default=60.0, check=schema.duration(), show=_seconds,
        help="total budget for one request, retries included")
    retries: int = setting(
        default=2, check=schema.integer(0, 100), help="on 429, 5xx and connection errors")
    fallback: tuple[str, ...] = setting(
        default=(), check=schema.profile_names(), show=list, example=["backup"],
        help="profiles tried in turn when a call fails after its retries (429, 5xx, 529, "
             "connection errors, in-band overload) before any output; each one's own "
             "fallbacks follow it")
    logs: bool = setting(
        default=True, check=schema.boolean(),
        help="keep each answer with its prompt in the logs database (`llmx logs`, `-c`); "
             "false: this profile's calls leave no trace there (as `--no-log` does)")
    http: HttpSettings = table(default_factory=HttpSettings, help="the connection pool")
    cache: CacheSettings = table(default_factory=CacheSettings,
                                 help="the answer cache: exact, then semantic")
    compression: CompressionSettings = table(default_factory=CompressionSettings,
                                             help="prompt compression")
    batch: BatchSettings = table(default_factory=BatchSettings,
                                 help="`llmx batch` and embedding requests")
    price: Price | None = table(of=Price, default=None,
                                help="per one million tokens, for cost estimates")
    builtin: bool = False

    @property
    def embedded(self) -> bool:
        """True when ``base_url`` asks for the embedded simulator."""
        return self.base_url == EMBEDDED

    @property
    def needs_key(self) -> bool:
        return self.api_key_env is not None or self.api_key_cmd is not None
