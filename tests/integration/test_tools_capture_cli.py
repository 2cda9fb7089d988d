"""Issue 13's acceptance line: `llmx ask --tools tools.json "..." --json` against a recorded
tool-call stream (../shared/data/wire/openai_chat_stream_toolcalls, replayed over loopback)
prints the calls with their parsed arguments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli.canned import serving
from tests.cli.harness import InProcessCli

CAPTURE = "openai_chat_stream_toolcalls"


@pytest.fixture
def replay(shared_data: Path) -> Iterator[tuple[str, dict[str, object]]]:
    """A loopback server answering every POST with the recorded body; its URL and the
    recorded request body (whose tools the test sends)."""
    folder = shared_data / "wire" / CAPTURE
    body = (folder / "response.body").read_bytes()
    request = json.loads((folder / "request.json").read_text())["body"]

    class Replay(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}", request


def test_tool_calls_of_a_recorded_stream_come_out_parsed(
        replay: tuple[str, dict[str, object]], cli_here: InProcessCli) -> None:
    url, request = replay
    cli_here.write_config('default_profile = "rec"\n[profiles.rec]\nprovider = "openai"\n'
                          f'model = "gpt-4o-mini"\nbase_url = "{url}/v1"\napi_key_env = "K"\n')
    tools = cli_here.home / "tools.json"
    tools.write_text(json.dumps(request["tools"]))
    done = cli_here.run("ask", "--tools", str(tools), "--json", "What is 1231 * 2331?",
                        env={"K": "sk-test-not-a-real-key"})
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["finish_reason"] == "tool_calls"
    assert answer["tool_calls"] == [{"id": "call_1EYWDzueHEp8OsB8jJSEp7WB",
                                     "name": "multiply", "arguments": {"a": 1231, "b": 2331}}]
