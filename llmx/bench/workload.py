"""The declared workload, generated from a seed: short prompts, a cache mix, complex prompts.

The cache mix is real text: GPTCache's paraphrase pairs (``llmx/bench/data``, with their
licence), whose paraphrases llmx did not write. The short prompts of the latency rows are
generated from topics and question shapes.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from llmx.errors import LlmxError

TOPICS = ("a binary heap", "TCP slow start", "a Bloom filter", "HTTP keep-alive",
          "the CAP theorem", "a B-tree", "garbage collection", "DNS caching",
          "a mutex", "consistent hashing", "UTF-8", "a hash map", "backpressure",
          "a write-ahead log", "gradient descent", "TLS handshakes")
ASKS = ("What is {t}?", "How do I explain {t} to a new engineer?",
        "What is the main trade-off of {t}?", "Give one example where {t} is useful.",
        "How does {t} fail in practice?", "Why do I need {t}?")
REPEAT, PARAPHRASE, NEW = "repeat", "paraphrase", "new"
MIX = ((REPEAT, 0.3), (PARAPHRASE, 0.2), (NEW, 0.5))
PAIRS_FILE = Path(__file__).with_name("data") / "gptcache_pairs.json"
PAIRS_SHA256 = "d52872b116568f654fb373ac782bfbcd01d67061764705a84303a0a67aae1ef4"
_REINSTALL = "reinstall llmx: its package data is incomplete"
WAVE = 10  # the mix is sent in concurrent waves; repeats refer to earlier waves only


@dataclass(frozen=True, slots=True)
class MixItem:
    prompt: str
    label: str  # repeat | paraphrase | new
    original: str | None  # the earlier prompt a repeat/paraphrase derives from


def fresh_prompts(count: int, rng: random.Random, tag: str) -> list[str]:
    """Distinct short prompts; ``tag`` keeps separate phases from sharing prompts."""
    out: list[str] = []
    for i in range(count):
        ask = rng.choice(ASKS).format(t=rng.choice(TOPICS))
        out.append(f"{ask} (case {tag}-{i})")
    return out


def paraphrase_pairs() -> list[tuple[str, str]]:
    """GPTCache's ``(origin, similar)`` pairs (``llmx/bench/data``), one per origin, in the
    file's order; raises ``LlmxError`` when the shipped file is missing or altered."""
    import json

    try:
        data = PAIRS_FILE.read_bytes()
    except OSError as exc:
        raise LlmxError(f"cannot read {PAIRS_FILE}: {exc.strerror or exc}",
                        hint=_REINSTALL) from None
    if hashlib.sha256(data).hexdigest() != PAIRS_SHA256:
        raise LlmxError(f"{PAIRS_FILE} does not have the expected sha256", hint=_REINSTALL)
    pairs: dict[str, str] = {}
    for pair in json.loads(data):
        pairs.setdefault(pair["origin"], pair["similar"])
    return list(pairs.items())


def cache_mix(size: int, rng: random.Random) -> list[list[MixItem]]:
    """``size`` items in waves of ``WAVE``: 30 % repeats, 20 % paraphrases, 50 % new. New
    prompts are GPTCache origins; a paraphrase is the pair's ``similar`` text of an origin
    sent in an earlier wave (each origin paraphrased at most once); a repeat is an earlier
    origin again."""
    counts = {label: round(size * share) for label, share in MIX}
    counts[NEW] = size - counts[REPEAT] - counts[PARAPHRASE]
    similar = dict(rng.sample(paraphrase_pairs(), counts[NEW]))
    news = list(similar)
    first, rest_new = news[:WAVE], news[WAVE:]
    rest = ([NEW] * len(rest_new) + [REPEAT] * counts[REPEAT]
            + [PARAPHRASE] * counts[PARAPHRASE])
    rng.shuffle(rest)
    waves = [[MixItem(p, NEW, None) for p in first]]
    sent, unparaphrased = list(first), list(first)
    new_iter = iter(rest_new)
    for start in range(0, len(rest), WAVE):
        wave: list[MixItem] = []
        for label in rest[start:start + WAVE]:
            if label == NEW:
                wave.append(MixItem(next(new_iter), NEW, None))
            elif label == PARAPHRASE and unparaphrased:
                original = unparaphrased.pop(rng.randrange(len(unparaphrased)))
                wave.append(MixItem(similar[original], PARAPHRASE, original))
            else:  # a repeat (or a paraphrase with no origin left to paraphrase)
                original = rng.choice(sent)
                wave.append(MixItem(original, REPEAT, original))
        fresh = [item.prompt for item in wave if item.label == NEW]
        sent.extend(fresh)
        unparaphrased.extend(fresh)
        waves.append(wave)
    return waves


def synthetic_log(lines: int, rng: random.Random) -> str:
    """A templated service log: repetitive INFO lines, some WARN/ERROR with ids."""
    services = ("api", "worker", "auth", "billing")
    out: list[str] = []
    for i in range(lines):
        ts = f"2026-11-27T10:{(i // 60) % 60:02d}:{i % 60:02d}.{rng.randrange(1000):03d}Z"
        svc = rng.choice(services)
        roll = rng.random()
        if roll < 0.05:
            out.append(f"{ts} ERROR [{svc}] request {rng.randrange(10**6)} failed: "
                       f"upstream timeout after {rng.randrange(1000, 5000)} ms")
        elif roll < 0.15:
            out.append(f"{ts} WARN  [{svc}] retrying connection to db-{rng.randrange(4)} "
                       f"(attempt {rng.randrange(1, 4)})")
        else:
            out.append(f"{ts} INFO  [{svc}]    handled   GET /v1/items/{rng.randrange(500)}"
                       f"   status=200   duration={rng.randrange(5, 90)}ms")
    return "\n".join(out)


def complex_prompts(count: int, log_lines: int, rng: random.Random) -> list[str]:
    """Long prompts: an instruction, then a piped log as context (as ``cmd | llmx ask``)."""
    out = []
    for i in range(count):
        log = synthetic_log(log_lines, rng)
        ask = (f"Please could you carefully read the following service log and then "
               f"summarise, in a few sentences, the errors and what most likely caused "
               f"them (incident {i}).")
        out.append(f"{ask}\n\n{log}")  # joined as `llmx ask` joins piped stdin
    return out


def declare(size: int, complex_count: int, log_lines: int, samples: int,
            max_tokens: int) -> dict[str, object]:
    return {
        "simple": {"prompts": samples, "kind": "short distinct questions, no stream"},
        "cache_mix": {"requests": size, "wave": WAVE,
                      "proportions": {label: share for label, share in MIX},
                      "prompts": "GPTCache's paraphrase pairs: new = an origin, "
                                 "paraphrase = its human/model-written similar text"},
        "complex": {"prompts": complex_count, "log_lines": log_lines,
                    "kind": "instruction + piped synthetic templated service log"},
        "max_tokens": max_tokens,
        "concurrency_levels": [10, 50, 100, 200],
    }
