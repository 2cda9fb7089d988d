"""The declared workload, generated from a seed: short prompts, a cache mix, complex prompts.

Paraphrases are produced here by rewriting an earlier prompt (case, punctuation,
contractions): they are labelled "rewrite" paraphrases, not human ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TOPICS = ("a binary heap", "TCP slow start", "a Bloom filter", "HTTP keep-alive",
          "the CAP theorem", "a B-tree", "garbage collection", "DNS caching",
          "a mutex", "consistent hashing", "UTF-8", "a hash map", "backpressure",
          "a write-ahead log", "gradient descent", "TLS handshakes")
ASKS = ("What is {t}?", "How do I explain {t} to a new engineer?",
        "What is the main trade-off of {t}?", "Give one example where {t} is useful.",
        "How does {t} fail in practice?", "Why do I need {t}?")
REPEAT, PARAPHRASE, NEW = "repeat", "paraphrase", "new"
MIX = ((REPEAT, 0.3), (PARAPHRASE, 0.2), (NEW, 0.5))
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


def paraphrase(prompt: str, rng: random.Random) -> str:
    """A rewrite of ``prompt``: contraction, case and punctuation changes."""
    text = prompt.replace("What is", "What's").replace("How do I", "How do i")
    text = text.replace("Why do I", "Why do i").replace("do not", "don't")
    if rng.random() < 0.5:
        text = text.lower()
    text = text.rstrip("?.") + (" ?" if rng.random() < 0.5 else "")
    return text if text != prompt else prompt + "?"


def cache_mix(size: int, rng: random.Random) -> list[list[MixItem]]:
    """``size`` items in waves of ``WAVE``: 30 % repeats, 20 % paraphrases, 50 % new."""
    counts = {label: round(size * share) for label, share in MIX}
    counts[NEW] = size - counts[REPEAT] - counts[PARAPHRASE]
    news = fresh_prompts(counts[NEW], rng, "mix")
    first, rest_new = news[:WAVE], news[WAVE:]
    rest = ([NEW] * len(rest_new) + [REPEAT] * counts[REPEAT]
            + [PARAPHRASE] * counts[PARAPHRASE])
    rng.shuffle(rest)
    waves = [[MixItem(p, NEW, None) for p in first]]
    sent = list(first)
    new_iter = iter(rest_new)
    for start in range(0, len(rest), WAVE):
        wave: list[MixItem] = []
        for label in rest[start:start + WAVE]:
            if label == NEW:
                wave.append(MixItem(next(new_iter), NEW, None))
                continue
            original = rng.choice(sent)
            text = original if label == REPEAT else paraphrase(original, rng)
            wave.append(MixItem(text, label, original))
        sent.extend(item.prompt for item in wave if item.label == NEW)
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
                      "paraphrases": "rewrites of earlier prompts (case, punctuation, "
                                     "contractions), generated by llmx.bench"},
        "complex": {"prompts": complex_count, "log_lines": log_lines,
                    "kind": "instruction + piped synthetic templated service log"},
        "max_tokens": max_tokens,
        "concurrency_levels": [10, 50, 100, 200],
    }
