"""Rendering the answer: raw text for pipes, streaming Markdown for terminals.

``llmx.ui.stream`` (standard library only, on the CLI fast path) chooses a sink;
``llmx.ui.markdown`` (the only Rich user here) renders Markdown on a terminal at a
cost linear in the answer's length. Nothing is imported here so that importing
``llmx.ui.stream`` stays cheap.
"""

from __future__ import annotations
