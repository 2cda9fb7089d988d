"""`llmx serve` against the provider straight, in the same run: added TTFT and many streams.

    python benchmarks/serve_proxy.py [--rounds 40] [--streams 1000] [--ttft-ms 20]
                                     [--against DIR]

Figures (budgets from issue 14):
  added TTFT, a miss     first content delta of a streamed chat completion through the
                         proxy minus the same request straight to the simulator, in rounds
                         (straight, proxy, bare proxy; the order turning each round), new
                         prompts, so the proxy looks each one up, misses, sends it and
                         stores it: prompts
                         with no lexical neighbour, then prompts whose neighbours the
                         semantic tier's model must judge                              <= 2 ms
  the proxy's own share  the same, through a second `llmx serve` whose cache is off
                         (cache.mode = "off": no look-up, no store), in the same rounds:
                         what the proxy adds besides the cache look-up
  concurrent streams     N streams held open at once through the proxy (a simulator
                         pacing each answer), all of them answered whole               1,000

``--against DIR``: a second llmx source tree (a checkout of ``main``, say) whose two
proxies (cache on, cache off) join the same rounds as two more sides, so a change is
measured against the code before it in one run, under the same load; the two trees' TTFTs
are also compared round by round (paired). Each proxy's CPU per request (its whole answer,
from Linux's schedstat) is printed too: it moves less with the machine's load than TTFT.
``benchmarks/serve_timeline.py`` says where the added TTFT goes, step by step.

Every side uses the same client code (httpx, one pooled AsyncClient) against a `llmx sim`
process; each proxy is a `llmx serve` process whose profile points at that simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import simproc


def start_serve(sim_url: str, home: Path, *, cache: bool = True, tree: str | None = None
                ) -> tuple[subprocess.Popen[str], str]:
    home.mkdir(exist_ok=True)
    config = home / "llmx.toml"
    config.write_text(f'default_profile = "up"\n[profiles.up]\nprovider = "openai"\n'
                      f'model = "sim-1"\nbase_url = "{sim_url}/v1"\n'
                      "[profiles.up.http]\nmax_connections = 2000\nmax_keepalive = 2000\n"
                      + ("" if cache else '[profiles.up.cache]\nmode = "off"\n'))
    command = [sys.executable, "-m", "llmx", "serve", "--port", "0", "--config", str(config)]
    env = {"LLMX_HOME": str(home / "state"), "PATH": "/usr/bin"}
    if tree is not None:  # that tree's llmx, not the installed one
        env["PYTHONPATH"] = tree
    return simproc.start(command, env=env, quiet=True)


async def first_token_ms(client: httpx.AsyncClient, base: str, prompt: str) -> float:
    body = {"model": "sim-1", "stream": True, "max_tokens": 16,
            "messages": [{"role": "user", "content": prompt}]}
    started = time.perf_counter()
    seen: float | None = None
    async with client.stream("POST", base + "/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if seen is None and line.startswith("data: {"):
                choices = json.loads(line[6:]).get("choices") or [{}]
                if choices[0].get("delta", {}).get("content"):
                    seen = time.perf_counter()
    assert seen is not None, "no content arrived"
    return (seen - started) * 1000


def prompt_for(i: int, side: str, kind: str) -> str:
    """``similar``: prompts that share most words, so the proxy's semantic tier has
    candidates and its model must judge them; ``distinct``: made-up words no other prompt
    has, so the look-up finds no candidate."""
    if kind == "similar":
        return f"question {i} via {side}"
    rng = random.Random(f"{side} {i}")
    return " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(7))
                    for _ in range(6))


async def added_ttft(sides: list[str], rounds: int, kind: str) -> dict[str, list[float]]:
    """Each side's TTFTs (ms), round by round, each side with its own prompt; the order
    turns each round, so no side is always first after the client's pause."""
    out: dict[str, list[float]] = {side: [] for side in sides}
    async with httpx.AsyncClient(timeout=60) as client:
        for side in sides:  # one warm-up each: connections and the cache open
            await first_token_ms(client, side, f"warm-up {side}")
        for i in range(rounds):
            order = sides[i % len(sides):] + sides[:i % len(sides)]
            for side in order:
                out[side].append(await first_token_ms(client, side,
                                                      prompt_for(i, side, kind)))
    return out


def cpu_ms(pid: int) -> float:
    """CPU time ``pid`` has run so far, in ms (Linux's schedstat; NaN elsewhere)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return float("nan")


def measured(sides: list[str], pids: dict[str, int], rounds: int, kind: str
             ) -> tuple[dict[str, list[float]], dict[str, float]]:
    """``added_ttft``'s TTFTs, and each proxy's CPU ms per request over the rounds (its
    whole answer: the look-up, the stream and the store)."""
    before = {side: cpu_ms(pid) for side, pid in pids.items()}
    ttfts = asyncio.run(added_ttft(sides, rounds, kind))
    cpu = {side: (cpu_ms(pid) - before[side]) / (rounds + 1) for side, pid in pids.items()}
    return ttfts, cpu


async def many_streams(proxy: str, count: int) -> tuple[int, float]:
    """How many of ``count`` simultaneous streams were answered whole, and the wall time."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        async def one(i: int) -> bool:
            body = {"model": "sim-1", "stream": True, "max_tokens": 16,
                    "messages": [{"role": "user", "content": f"stream {i} of many"}]}
            async with client.stream("POST", proxy + "/chat/completions", json=body) as reply:
                lines = [line async for line in reply.aiter_lines() if line]
            return reply.status_code == 200 and lines[-1] == "data: [DONE]"

        started = time.perf_counter()
        done = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
        return sum(1 for ok in done if ok is True), time.perf_counter() - started


def paired(kind: str, by_side: dict[str, list[float]], sides: list[str], against: str
           ) -> None:
    """This tree's TTFT minus the other tree's, round by round (each pair ran under the
    same load, a few ms apart)."""
    for name, new, old in (("cache on", sides[1], sides[3]), ("cache off", sides[2], sides[4])):
        diffs = [a - b for a, b in zip(by_side[new], by_side[old], strict=True)]
        low, _, high = statistics.quantiles(diffs, n=4)
        print(f"  {kind}, {name}: this tree minus {against}, paired by round: median "
              f"{statistics.median(diffs):+.2f} ms (middle half {low:+.2f} to {high:+.2f})")


def report(kind: str, ttft_ms: float, straight: list[float], proxied: list[float],
           bare: list[float], label: str = "") -> None:
    diffs = [b - a for a, b in zip(straight, proxied, strict=True)]
    quartiles = statistics.quantiles(diffs, n=4)
    own = [b - a for a, b in zip(straight, bare, strict=True)]
    own_quartiles = statistics.quantiles(own, n=4)
    print(f"{kind} prompts{label}: TTFT straight to the simulator (ttft {ttft_ms:g} ms) "
          f"median {statistics.median(straight):.2f} ms; through llmx serve (a miss) "
          f"{statistics.median(proxied):.2f} ms; added, {len(diffs)} rounds: median "
          f"{statistics.median(diffs):.2f} ms (middle half {quartiles[0]:.2f} to "
          f"{quartiles[2]:.2f} ms)   budget <= 2 ms")
    print(f"  of which the proxy's own (a proxy with its cache off, same rounds): median "
          f"{statistics.median(own):.2f} ms added (middle half {own_quartiles[0]:.2f} to "
          f"{own_quartiles[2]:.2f} ms); the cache look-up and store: the rest")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", "--pairs", dest="rounds", type=int, default=40)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--ttft-ms", type=float, default=20.0)
    parser.add_argument("--against", metavar="DIR",
                        help="another llmx source tree whose proxies join the same rounds")
    args = parser.parse_args()
    sim, sim_url = simproc.start(simproc.sim_command("--ttft-ms", str(args.ttft_ms),
                                                     "--tokens-per-s", "200"), quiet=True)
    with tempfile.TemporaryDirectory(prefix="llmx-serve-bench-") as home:
        serve, serve_url = start_serve(sim_url, Path(home) / "cached")
        bare, bare_url = start_serve(sim_url, Path(home) / "bare", cache=False)
        proxies = [serve, bare]
        sides = [sim_url + "/v1", serve_url + "/v1", bare_url + "/v1"]
        if args.against:
            for name, cache in (("then", True), ("then-bare", False)):
                proc, url = start_serve(sim_url, Path(home) / name, cache=cache,
                                        tree=str(Path(args.against).resolve()))
                proxies.append(proc)
                sides.append(url + "/v1")
        try:
            pids = {side: proc.pid for side, proc in zip(sides[1:], proxies, strict=True)}
            runs = {kind: measured(sides, pids, args.rounds, kind)
                    for kind in ("distinct", "similar")}
            whole, wall = asyncio.run(many_streams(serve_url + "/v1", args.streams))
        finally:
            for proc in (*proxies, sim):
                simproc.stop(proc)
    names = ["cache on", "cache off", "then, cache on", "then, cache off"]
    for kind, (by_side, cpu) in runs.items():
        report(kind, args.ttft_ms, *(by_side[side] for side in sides[:3]))
        if args.against:
            report(kind, args.ttft_ms, *(by_side[side] for side in (sides[0], *sides[3:])),
                   label=f" (--against {args.against})")
            paired(kind, by_side, sides, args.against)
        print(f"  {kind}: proxy CPU per request (whole answer): " + ", ".join(
            f"{name} {cpu[side]:.2f} ms" for name, side in zip(names, sides[1:], strict=False)))
    print(f"concurrent streams through llmx serve: {whole} of {args.streams} answered whole "
          f"in {wall:.1f} s   budget: all of 1,000")
    return 0 if whole == args.streams else 1


if __name__ == "__main__":
    raise SystemExit(main())
