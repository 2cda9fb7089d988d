"""A real `redis-server` for the tests: one per xdist worker, on a unix socket in a temporary
directory, no persistence; each test that asks for it gets it empty. Tests skip with a
message where `redis-server` is not installed (CI installs it)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class RedisServer:
    socket: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def command(self, *words: str) -> str:
        """One command through redis-cli (its reply as text)."""
        done = subprocess.run(["redis-cli", "-s", str(self.socket), *words],
                              capture_output=True, text=True, timeout=10, check=True)
        return done.stdout.strip()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_redis(directory: Path) -> RedisServer:
    sock = directory / "redis.sock"
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--save", "", "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.02)
    return RedisServer(sock, proc)


@pytest.fixture(scope="session")
def _redis_session() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server); "
                    "CI installs it")
    with tempfile.TemporaryDirectory(prefix="llmx-redis-") as directory:
        server = start_redis(Path(directory))
        yield server
        server.stop()


@pytest.fixture
def redis_server(_redis_session: RedisServer) -> RedisServer:
    """The worker's Redis, emptied for this test (restarted if a test stopped it)."""
    server = _redis_session
    if server.proc.poll() is not None:
        restarted = start_redis(server.socket.parent)
        server.proc, server.socket = restarted.proc, restarted.socket
    server.command("FLUSHALL")
    return server
