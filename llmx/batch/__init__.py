"""Batch runs: many prompts from a JSONL stream, answered concurrently.

    jobs.py      one input line -> Job (or BadLine); Results -> output lines; resume helpers
    limits.py    TokenBucket (--rpm / --tpm) and AdaptiveGate (AIMD concurrency, 429 pause)
    runner.py    run_batch: bounded read-ahead, priorities, retries, ordered output, stop/grace

Nothing here imports httpx or touches the network: the runner drives an injected ``send``
(identical requests in flight are sent once by the Client: ``llmx.flight``).
"""
