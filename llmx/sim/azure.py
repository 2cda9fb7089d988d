"""Azure OpenAI's URL forms in the simulator (pure): which OpenAI route an Azure path is.

- ``/openai/deployments/{deployment}/chat/completions?api-version=V`` (and
  ``/embeddings``): the OpenAI route, answered as the deployment's model; without an
  ``api-version`` Azure answers 404 ``Resource not found``, and so does the simulator.
- ``/openai/responses?api-version=V``: ``/v1/responses``.
- ``/openai/v1/...`` (the v1 API, no api-version): ``/v1/...``.

Azure takes the key in an ``api-key`` header, the v1 API also as a bearer token
(``app.py`` checks both like the other providers' key headers).
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote

from llmx.sim.common import SimError

_DEPLOYMENT_ROUTES = {"chat/completions": "/v1/chat/completions",
                      "embeddings": "/v1/embeddings"}


def route(path: str, query: str) -> tuple[str, str | None] | None:
    """(the OpenAI path, the deployment or None) for an Azure-form path; None otherwise."""
    if path.startswith("/openai/v1/"):
        return path.removeprefix("/openai"), None
    if path == "/openai/responses":
        _need_version(query)
        return "/v1/responses", None
    if not path.startswith("/openai/deployments/"):
        return None
    name, _, rest = path.removeprefix("/openai/deployments/").partition("/")
    target = _DEPLOYMENT_ROUTES.get(rest)
    if not name or target is None:
        raise SimError(404, "not_found", "Resource not found")
    _need_version(query)
    return target, unquote(name)


def _need_version(query: str) -> None:
    if not parse_qs(query).get("api-version"):
        raise SimError(404, "not_found", "Resource not found")
