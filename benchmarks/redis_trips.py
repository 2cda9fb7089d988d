"""Redis round trips per request with ``cache.backend = "redis"``, counted, not timed.

    python benchmarks/redis_trips.py [--requests 20]

Budgets (issue 14): at most one round trip on a hit, at most three on a miss. A round trip
is one write of commands to the socket (redis-py's ``send_packed_command``: a pipeline is
one), counted in this process while a warm ``Client`` answers distinct new prompts (each a
miss, the semantic tier consulted) and then another one (its own home, as on another
machine) asks the same prompts again (exact hits), against a
``llmx sim`` process and a ``redis-server`` on a unix socket started here. The baseline the
figures are read against is the budget; the commands behind them come from Redis' own
``INFO commandstats``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import redis
import simproc
from redis.connection import AbstractConnection

from llmx.bench.target import sim_profile
from llmx.engine import Client
from llmx.prepare import Call
from llmx.values import replaced

TRIPS = [0]
_send = AbstractConnection.send_packed_command


def _counted(self: AbstractConnection, command: object, check_health: bool = True) -> None:
    TRIPS[0] += 1
    _send(self, command, check_health)


def start_redis(directory: Path) -> subprocess.Popen[bytes]:
    sock = directory / "redis.sock"
    proc = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(sock),
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not sock.exists():
        time.sleep(0.02)
    return proc


def commandstats(url: str) -> dict[str, int]:
    with redis.Redis.from_url(url) as client:
        stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"])
            for name, value in stats.items() if name != "cmdstat_info"}


async def measure(url: str, redis_url: str, home: str, count: int) -> dict[str, list[int]]:
    profile = sim_profile(url, 8)
    cache = replaced(profile.cache, backend="redis", redis_url=redis_url)
    profile = replaced(profile, cache=cache)
    out: dict[str, list[int]] = {"miss": [], "hit": []}
    prompts = [f"question number {i} about topic {i * 7919 % 1000}" for i in range(count)]
    for label in ("miss", "hit"):  # the hits from another Client: nothing of it in memory
        async with Client(profile, env={**os.environ, "LLMX_HOME": f"{home}/{label}"}) as client:
            await client.generate(f"a first question opens everything ({label})", Call())
            for prompt in prompts:
                before = TRIPS[0]
                completion = await client.generate(prompt, Call())
                await asyncio.sleep(0)  # the queued writes go on the loop's next turn
                await asyncio.sleep(0)
                assert (completion.cached is False) == (label == "miss"), (label, prompt)
                out[label].append(TRIPS[0] - before)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    AbstractConnection.send_packed_command = _counted  # type: ignore[method-assign]
    sim, url = simproc.start(simproc.sim_command(), quiet=True)
    with tempfile.TemporaryDirectory(prefix="llmx-trips-") as directory:
        server = start_redis(Path(directory))
        redis_url = f"unix://{directory}/redis.sock"
        try:
            before = commandstats(redis_url)
            trips = asyncio.run(measure(url, redis_url, directory, args.requests))
            after = commandstats(redis_url)
        finally:
            server.terminate()
            simproc.stop(sim)
    used = {name: after[name] - before.get(name, 0) for name in after
            if after[name] - before.get(name, 0) > 0}
    for label, budget in (("hit", 1), ("miss", 3)):
        values = trips[label]
        print(f"Redis round trips per {label}: median {statistics.median(values):g}, "
              f"max {max(values)} over {len(values)} requests   budget <= {budget}")
    print("commands Redis ran in all (INFO commandstats): "
          + ", ".join(f"{name} {count}" for name, count in sorted(used.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
