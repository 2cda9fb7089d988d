"""``llmx sim``: run the embedded simulator until Ctrl-C / SIGTERM (then exit 130)."""

from __future__ import annotations

from typing import Any

from llmx.cli._io import Io
from llmx.errors import ExitCode

RATES = ("fail_rate", "rate_limit_rate", "cut_rate", "stall_rate", "midstream_stall_rate",
         "refusal_rate", "inband_error_rate", "jitter")
PROVIDER_PATHS = (("openai", "/v1"), ("anthropic", ""), ("ollama", ""))
DELAYS = ("latency_ms", "ttft_ms", "tokens_per_s", "per_input_token_ms", "batch_delay_s",
          "connect_delay_ms", "idle_close_ms")


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Each flag by the config's checkers: rates in 0..1, delays finite and >= 0, a real port."""
    from llmx.config import schema

    checkers: dict[str, schema.Checker] = {"port": schema.integer(0, 65535)}
    checkers.update({name: schema.number(0.0, 1.0) for name in RATES})
    checkers.update({name: schema.number(0.0) for name in DELAYS})
    checked = dict(options)
    for name, checker in checkers.items():
        if name in checked:
            checked[name] = schema.check_flag("--" + name.replace("_", "-"), checker,
                                              checked[name])
    return checked


def profiles_text(base_url: str) -> str:
    """A ``[profiles.*]`` table per provider the simulator speaks, ready to paste into a
    config: each ``base_url`` as that provider's codec expects it (OpenAI's ends in ``/v1``)."""
    import tomli_w

    tables = {f"sim-{provider}": {"provider": provider, "model": "sim-1",
                                  "base_url": base_url + suffix}
              for provider, suffix in PROVIDER_PATHS}
    return (f"# llmx sim is serving {base_url} until Ctrl-C. Profiles for a config file "
            "(`llmx config path`):\n" + tomli_w.dumps({"profiles": tables})
            + f"# an OpenAI SDK takes base_url=\"{base_url}/v1\" and any api_key\n")


def run_sim(options: dict[str, Any], io: Io) -> int:
    """Stdout gets only the base URL (scripts read its first line); the profiles go to
    stderr. Ends when signalled, with the documented "interrupted" code."""
    from llmx.sim import SimOptions, run_forever

    def started(base_url: str) -> None:
        io.stderr.write(profiles_text(base_url))
        io.stderr.flush()

    run_forever(SimOptions(**check_options(options)), io.stdout, started)
    return int(ExitCode.INTERRUPTED)
