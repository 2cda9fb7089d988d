"""drain3, the reference streaming log-template miner, as a compressor for compress_corpus.py.

drain3 is never a project dependency: it runs in its own venv (benchmarks/.venv-drain3,
created with ``pip install drain3`` on first use, or the interpreter ``--drain3-python``
names), in a child process that reads the inputs and prints, per input, its output text and
the seconds it took.

Output of drain3 for an input: every cluster's final template once, at its first line's
place, with the cluster's size as `` [×N]`` when it is over 1 (the same marker llmx uses, so
the token counts compare the mining, not the notation). Two configurations: drain3's
defaults (similarity 0.4, depth 4, numeric tokens parametrised) and the same with masking
instructions for numbers, IPs and hex written here (the masks drain3's README describes).
"""  # noqa: RUF002 - the multiplication sign is meant

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import sidevenv

CONFIGS = ("drain3", "drain3 masked")

RUNNER = r"""
import json, sys, time
from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

MASKS = (
    (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "IP"),
    (r"\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{12,}\b", "HEX"),
    (r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", "NUM"),
)

def miner(masked):
    config = TemplateMinerConfig()
    if masked:
        config.masking_instructions = [MaskingInstruction(p, name) for p, name in MASKS]
    return TemplateMiner(config=config)

def mine(text, masked):
    started = time.perf_counter()
    template_miner = miner(masked)
    order, seen = [], set()
    for line in text.split("\n"):
        if not line.strip():
            order.append(("line", line))
            continue
        cluster = template_miner.add_log_message(line)["cluster_id"]
        if cluster not in seen:
            seen.add(cluster)
            order.append(("cluster", cluster))
    clusters = {c.cluster_id: c for c in template_miner.drain.clusters}
    out = []
    for kind, value in order:
        if kind == "line":
            out.append(value)
            continue
        cluster = clusters[value]
        mark = f" [\u00d7{cluster.size}]" if cluster.size > 1 else ""
        out.append(cluster.get_template() + mark)
    return "\n".join(out), time.perf_counter() - started

paths = json.loads(sys.stdin.read())
result = {}
for path in paths:
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    result[path] = {str(masked): mine(text, masked) for masked in (False, True)}
print(json.dumps(result))
"""


def drain3_python(given: str | None) -> str:
    """An interpreter with drain3: ``given``, or the benchmark's own venv."""
    return sidevenv.python_with("drain3", ["drain3"], given)


def run_drain3(python: str, paths: Sequence[Path]) -> dict[str, dict[str, tuple[str, float]]]:
    """Per config (``CONFIGS``), per path: drain3's output text and its seconds."""
    done = subprocess.run([python, "-c", RUNNER], input=json.dumps([str(p) for p in paths]),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"drain3 runner failed: {done.stderr[-800:]}")
    raw: dict[str, dict[str, list[object]]] = json.loads(done.stdout)
    out: dict[str, dict[str, tuple[str, float]]] = {config: {} for config in CONFIGS}
    for path, by_mask in raw.items():
        for masked, (text, seconds) in by_mask.items():
            config = CONFIGS[1] if masked == "True" else CONFIGS[0]
            out[config][path] = (str(text), float(str(seconds)))
    return out
