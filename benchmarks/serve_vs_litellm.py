"""`llmx serve` next to the LiteLLM proxy, both with their cache on, in front of one simulator.

    python benchmarks/serve_vs_litellm.py [--requests 1000] [--clients 100] [--rounds 2]
                                          [--litellm-python PATH]

Figures (budgets from issue 14), each a ratio against LiteLLM measured in the same run:
  requests per second   at --clients concurrent clients, for misses (distinct prompts) and
                        for cache hits (the same prompts again)            llmx >= 3x LiteLLM
  CPU per request       the proxy process's user+system time / requests     llmx <= 1/3

Phases alternate (llmx, LiteLLM, LiteLLM, llmx, ...) so the machine's drift touches both; each
starts once both proxies are idle, and an answer counts as failed only past 60 s. The
load comes from wrk (Debian's package; C, two threads, ``SECONDS`` a phase), or, without it,
from an httpx client in this process, which costs ~16 ms of CPU a request itself and then
bounds both sides' rates; the simulator answers at once, so what is measured is each
proxy's own cost. A hit phase first answers the ``CYCLE`` prompts it then repeats.
LiteLLM is never a project dependency: it lives in its own
venv (benchmarks/.venv-litellm, created on first use with `pip install 'litellm[proxy]'`) or
the interpreter --litellm-python names; its remote price-map fetch is turned off
(LITELLM_LOCAL_MODEL_COST_MAP), so nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sidevenv
import simproc

KEY = "sk-bench-" + "k" * 32
CYCLE = 200  # prompts a hit phase repeats
SECONDS = 10.0  # each wrk phase
FAILED = {"llmx": 0, "litellm": 0}  # requests that got no 200 (a failed llmx one stops it)


def litellm_python(given: str | None) -> Path:
    """An interpreter with litellm: ``given``, or the benchmark's own venv."""
    return Path(sidevenv.python_with("litellm", ["litellm[proxy]"], given))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the proxy exited ({proc.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url}: not up after {timeout:.0f} s")


def start_litellm(python: Path, sim_url: str, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = home / "litellm.yaml"
    config.write_text(
        "model_list:\n  - model_name: sim-1\n    litellm_params:\n      model: openai/sim-1\n"
        f"      api_base: {sim_url}/v1\n      api_key: unused\n"
        "litellm_settings:\n  cache: true\n  cache_params:\n    type: local\n"
        f"general_settings:\n  master_key: {KEY}\n")
    port = free_port()
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen([str(python.parent / "litellm"), "--config", str(config),
                             "--port", str(port), "--num_workers", "1"], cwd=home, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/health/liveliness", proc, 300)
    return proc, url


def start_llmx(sim_url: str, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = home / "llmx.toml"
    config.write_text(f'default_profile = "up"\n[profiles.up]\nprovider = "openai"\n'
                      f'model = "sim-1"\nbase_url = "{sim_url}/v1"\n')
    port = free_port()
    env = {**os.environ, "LLMX_HOME": str(home / "state"), "BENCH_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "llmx", "serve", "--port", str(port),
                             "--config", str(config), "--api-key-env", "BENCH_KEY"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/healthz", proc, 60)
    return proc, url


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children that were waited for (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


async def load(url: str, prompts: list[str], clients: int) -> tuple[float, int]:
    """Send every prompt, ``clients`` at a time; requests per second and failed requests."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"authorization": f"Bearer {KEY}"}
    queue = iter(prompts)
    failed = [0]
    async with httpx.AsyncClient(timeout=120, limits=limits, headers=headers) as client:
        async def worker() -> None:
            for prompt in queue:
                body = {"model": "sim-1", "max_tokens": 16,
                        "messages": [{"role": "user", "content": prompt}]}
                try:
                    reply = await client.post(url + "/v1/chat/completions", json=body)
                    failed[0] += reply.status_code != 200
                except httpx.HTTPError:
                    failed[0] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return len(prompts) / (time.perf_counter() - started), failed[0]


WRK_SCRIPT = """
local counter, id = 0, 0
function setup(thread) thread:set("id", math.random(1, 1000000000)) end
function init(args) id = wrk.thread:get("id") or 0 end
request = function()
  counter = counter + 1
  local i = counter
  if CYCLE > 0 then i = counter % CYCLE else i = id .. " " .. counter end
  local body = '{"model":"sim-1","max_tokens":16,"messages":[{"role":"user","content":"'
    .. PREFIX .. ' question ' .. i .. '"}]}'
  return wrk.format("POST", "/v1/chat/completions",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer KEY"}, body)
end
"""


def load_wrk(url: str, prefix: str, cycle: int, clients: int, seconds: float
             ) -> tuple[float, int, int]:
    """wrk (C, two threads) against ``url`` for ``seconds``: requests per second, requests
    without a 2xx, requests in all. ``cycle`` > 0 repeats ``cycle`` prompts (already
    answered once: cache hits); 0 makes every prompt new (misses)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.replace("CYCLE", str(cycle)).replace("KEY", KEY)
                     .replace("PREFIX", repr(prefix)))
    try:
        # a slow answer is slow, not failed: wrk's own 2 s timeout counted every answer
        # past 2 s (a machine busy with other work) as an error; the rate still shows it
        done = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds:g}s", "--timeout",
                               "60s", "-s", script.name, url], capture_output=True, text=True,
                              check=True)
    finally:
        os.unlink(script.name)
    out = done.stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    failed = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors
                                                  else 0)
    return rate, failed, total


def settle(pids: list[int], timeout: float = 60.0) -> None:
    """Until none of ``pids`` uses more than 5 % of a core (or ``timeout``): a proxy still
    working off the last phase's abandoned requests takes no CPU from the next phase."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = [cpu_seconds(pid) for pid in pids]
        time.sleep(0.5)
        if all(cpu_seconds(pid) - was < 0.025 for pid, was in zip(pids, before, strict=True)):
            return


def phase(name: str, proc: subprocess.Popen[bytes], url: str, prompts: list[str],
          clients: int, others: list[int]) -> tuple[float, float]:
    settle([proc.pid, *others])
    before = cpu_seconds(proc.pid)
    if shutil.which("wrk"):
        kind, prefix = name.split()[1], prompts[0].rsplit(" question", 1)[0]
        if kind == "hit":  # answer the prompts wrk will cycle over once, so they are cached
            asyncio.run(load(url, [f"{prefix} question {i}" for i in range(CYCLE)], clients))
            before = cpu_seconds(proc.pid)
        rate, failed, sent = load_wrk(url, prefix, CYCLE if kind == "hit" else 0, clients,
                                      SECONDS)
    else:
        rate, failed = asyncio.run(load(url, prompts, clients))
        sent = len(prompts)
    cpu = (cpu_seconds(proc.pid) - before) / sent * 1000
    print(f"  {name}: {rate:.1f} req/s, {cpu:.2f} CPU ms/req, {failed} failed",
          file=sys.stderr)
    if failed and name.startswith("llmx"):
        raise SystemExit(f"{name}: {failed} of {len(prompts)} requests failed")
    FAILED[name.split()[0]] += failed
    return rate, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--litellm-python")
    args = parser.parse_args()
    python = litellm_python(args.litellm_python)
    sim, sim_url = simproc.start(simproc.sim_command(), quiet=True)
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="llmx-vs-litellm-") as directory:
        home = Path(directory)
        procs = {"llmx": start_llmx(sim_url, home), "litellm": start_litellm(python, sim_url,
                                                                               home)}
        try:
            for n in range(args.rounds):
                order = ("llmx", "litellm") if n % 2 == 0 else ("litellm", "llmx")
                for name in order:
                    proc, url = procs[name]
                    prompts = [f"round {n} {name} question {i}" for i in range(args.requests)]
                    print(f"round {n}: {name}", file=sys.stderr)
                    for kind in ("miss", "hit"):
                        results.setdefault((name, kind), []).append(
                            phase(f"{name} {kind}", proc, url, prompts, args.clients,
                                  [p.pid for p, _ in procs.values() if p is not proc]))
        finally:
            for proc, _ in procs.values():
                proc.terminate()
                proc.wait(timeout=30)
            simproc.stop(sim)
    for kind in ("miss", "hit"):
        ours, theirs = results[("llmx", kind)], results[("litellm", kind)]
        rate_o, rate_t = (statistics.median(r for r, _ in x) for x in (ours, theirs))
        cpu_o, cpu_t = (statistics.median(c for _, c in x) for x in (ours, theirs))
        print(f"{kind:4s}  requests/s  llmx {rate_o:7.1f}  LiteLLM {rate_t:7.1f}  "
              f"ratio {rate_o / rate_t:5.2f}x (budget >= 3x)")
        print(f"{kind:4s}  CPU ms/req  llmx {cpu_o:7.2f}  LiteLLM {cpu_t:7.2f}  "
              f"ratio {cpu_o / cpu_t:5.2f} (budget <= 0.33)")
    print(f"{args.clients} concurrent clients, {args.requests} requests per phase, "
          f"{args.rounds} rounds, medians; requests without a 200: llmx {FAILED['llmx']}, "
          f"LiteLLM {FAILED['litellm']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
