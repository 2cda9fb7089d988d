"""`llmx profiles` and `llmx config ...` as a user runs them."""

from __future__ import annotations

import stat

from tests.cli.harness import InProcessCli, in_process_cli  # noqa: F401
from tests.integration.conftest import profile_toml


def test_global_and_command_config_options(cli: InProcessCli) -> None:
    path = cli.home / "other.toml"
    path.write_text(profile_toml("http://127.0.0.1:9", name="remote"))
    for argv in (("--config", str(path), "profiles"), ("profiles", "--config", str(path))):
        result = cli.run(*argv)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.decode().splitlines()
        assert [line.split()[:2] for line in lines if line.startswith("*")] == [["*", "remote"]]
        assert any(line.split()[0] == "sim" for line in lines)


def test_config_show_masks_the_key(cli: InProcessCli) -> None:
    cli.write_config(profile_toml("http://127.0.0.1:9", api_key_env="LLMX_TEST_KEY"))
    result = cli.run("config", "show", env={"LLMX_TEST_KEY": "sk-abcdefghijklmnop1234"})
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "LLMX_TEST_KEY" in out and "sk-abcdefghijklmnop1234" not in out


def test_config_init_writes_a_private_file_once(cli: InProcessCli) -> None:
    target = cli.home / "new" / "config.toml"
    first = cli.run("config", "init", str(target))
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    again = cli.run("config", "init", str(target))
    assert again.returncode == 2 and b"--force" in again.stderr
    assert cli.run("config", "init", "--force", str(target)).returncode == 0
    assert cli.run("--config", str(target), "profiles").returncode == 0


def test_bench_runs_against_a_profile_after_yes(cli: InProcessCli) -> None:
    import json

    from tests.integration.conftest import start_sim, stop_sim

    server = start_sim("--ttft-ms", "5")
    try:
        cli.write_config(profile_toml(server.url, name="remote") +
                         "[profiles.remote.price]\ninput = 1.0\noutput = 2.0\n")
        result = cli.run("bench", "--quick", "--json", "--profile", "remote", "--yes",
                         timeout=120)
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["target"]["kind"] == "profile 'remote'"
        assert all(row["optimised"] is not None for row in data["rows"]
                   if row["name"].startswith(("simple", "complex", "streaming")))
        assert b"estimated cost at most about" in result.stderr
    finally:
        stop_sim(server)
