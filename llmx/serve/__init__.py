"""``llmx serve``: the request path behind an OpenAI-compatible HTTP endpoint.

Other tools (the ``openai`` SDK, curl, any language) get llmx's cache, compression, single
flight and retries by pointing their base URL at it. The app is llmx's own small ASGI
application (``llmx.serve.app``); the HTTP server is uvicorn (``llmx.serve.run``), the one
module that imports it.
"""
