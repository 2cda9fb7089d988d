"""Azure OpenAI: the OpenAI wire formats at Azure's URLs, the key in an ``api-key`` header.

The profile's ``base_url`` is the resource root (``https://RESOURCE.openai.azure.com``).
Two URL forms, as Azure documents them:

- with ``api_version``: ``{base}/openai/deployments/{deployment}/chat/completions
  ?api-version={api_version}`` (Responses: ``{base}/openai/responses?api-version=...``);
- without (the v1 API, no dated versions): ``{base}/openai/v1/chat/completions`` and
  ``{base}/openai/v1/responses``.

The dated form sends the key as ``api-key: KEY``; the v1 form as ``Authorization: Bearer
KEY``, as Azure's v1 documentation does with the plain OpenAI client (its ``api_key`` set to
the resource's key). The body's ``model`` is the deployment
name when one is set (the v1 API routes on it), else the profile's model. Which length
field and whether a temperature is sent is decided by the profile's ``model`` (the
underlying model, e.g. ``gpt-5-mini``), since a deployment may have any name.
Errors are OpenAI-shaped and labelled ``azure``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import quote

from llmx.errors import LlmxError
from llmx.providers import openai_models
from llmx.providers.base import Codec, HttpCall, StreamDecoder
from llmx.providers.openai import OpenAICodec
from llmx.providers.responses import ResponsesCodec
from llmx.providers.wire import Headers, status_error
from llmx.types import Chunk, Request

PROVIDER = "azure"
API_KEY_HEADER = "api-key"


def azure_path(api: str, deployment: str | None, api_version: str | None) -> str:
    """The path (relative to the resource root) of a chat or responses call."""
    if api_version is None:
        return "openai/v1/responses" if api == "responses" else "openai/v1/chat/completions"
    version = quote(api_version, safe="")
    if api == "responses":
        return f"openai/responses?api-version={version}"
    name = quote(deployment or "", safe="")
    return f"openai/deployments/{name}/chat/completions?api-version={version}"


def resolved(model: str, overrides: openai_models.Overrides) -> openai_models.Overrides:
    """The model table's choices for ``model``, fixed, so a deployment name never hides
    which model it serves."""
    return openai_models.Overrides(openai_models.token_param(model, overrides),
                                   openai_models.sends_temperature(model, overrides))


class AzureCodec:
    """An OpenAI codec (chat or responses) sent to Azure's URL with an ``api-key``."""

    __slots__ = ("_deployment", "_inner", "_path", "_v1")
    name: str = PROVIDER

    def __init__(self, *, model: str, deployment: str | None, api_version: str | None,
                 api: str = "chat",
                 overrides: openai_models.Overrides = openai_models.TABLE) -> None:
        fixed = resolved(model, overrides)
        self._inner: Codec = (ResponsesCodec(fixed, name=PROVIDER) if api == "responses"
                              else OpenAICodec(fixed))
        self._deployment = deployment
        self._path = azure_path(api, deployment, api_version)
        self._v1 = api_version is None

    def build(self, request: Request, api_key: str | None) -> HttpCall:
        if self._deployment:
            request = request._replace(model=self._deployment)
        if self._v1:  # the OpenAI call as is: the key as a bearer token
            return replace(self._inner.build(request, api_key), path=self._path)
        call = self._inner.build(request, None)
        headers = Headers(call.headers)
        if api_key:
            headers[API_KEY_HEADER] = api_key
        return HttpCall(call.method, self._path, headers, call.body)

    def parse_response(self, body: bytes) -> Chunk:
        return self._inner.parse_response(body)

    def stream_decoder(self) -> StreamDecoder:
        return self._inner.stream_decoder()

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> LlmxError:
        return status_error(PROVIDER, status, body)
