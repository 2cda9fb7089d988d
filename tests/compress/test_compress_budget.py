"""A token budget (``shrink(budget=)``, ``llmx compress --max-tokens``) and ``--explain``."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmx.compress import shrink
from llmx.compress.explain import explain, render
from llmx.compress.tokens import tokenizer_for
from tests.cli.harness import invoke

TIMES = "\u00d7"
NAMES = ["north", "south", "east", "west", "upper", "lower", "inner", "outer"]


def log(lines: int = 160) -> str:
    return "\n".join(f"10:{i // 60:02d}:{i % 60:02d} worker {NAMES[i % 8]} finished batch "
                     f"{i * 7} in {i % 13}ms" for i in range(lines)) + "\n"


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    return tokenizer_for("gpt-4")


def test_no_budget_or_a_generous_one_never_merges(tokenizer) -> None:  # type: ignore[no-untyped-def]
    plain = shrink(log(), "aggressive", tokenizer)
    roomy = shrink(log(), "aggressive", tokenizer, budget=plain.after)
    assert plain.merged == roomy.merged == 0 and roomy.text == plain.text
    assert plain.text.count(f"[{TIMES}20]") == 8  # one template per worker name


def test_over_the_budget_templates_merge_and_the_text_says_so(tokenizer) -> None:  # type: ignore[no-untyped-def]
    plain = shrink(log(), "aggressive", tokenizer)
    tight = shrink(log(), "aggressive", tokenizer, budget=plain.after - 1)
    assert tight.merged >= 1 and tight.after < plain.after
    assert tight.text.startswith("[over the token budget: 7 templates merged")
    assert all(name in tight.text for name in NAMES)  # the words survive in the slot


def test_a_merge_level_is_taken_only_when_it_saves_tokens(tokenizer, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    """Merging can cost tokens (a merged slot lists the words of every template in it): a
    level that does is passed over, so the answer is the smallest text of all the levels."""
    from llmx.compress.rules import compress

    path = shared_data / "logs_structured" / "spark-eventlog_udf-func.ndjson"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    text = path.read_text(encoding="utf-8")
    counts = [tokenizer.count(compress(text, "aggressive", level)) for level in range(4)]
    assert any(counts[level] > counts[level - 1] for level in (1, 2, 3))  # not vacuous
    assert shrink(text, "aggressive", tokenizer, budget=1).after == min(counts)


def test_merging_never_leaves_a_template_without_a_word(tokenizer) -> None:  # type: ignore[no-untyped-def]
    """Such a template is never folded, so its lines came out in full: merging the Python
    fixture at level 3 wrote 965 tokens instead of 579 before merges kept a word."""
    from llmx.compress.rules import compress

    text = (Path(__file__).parent / "fixtures" / "python_worker_tracebacks.log").read_text()
    plain = tokenizer.count(compress(text, "aggressive"))
    assert all(tokenizer.count(compress(text, "aggressive", level)) <= plain
               for level in (1, 2, 3))


def test_conservative_mode_never_merges_whatever_the_budget(tokenizer) -> None:  # type: ignore[no-untyped-def]
    shrunk = shrink(log(), "conservative", tokenizer, budget=1)
    assert shrunk.merged == 0 and "over the token budget" not in shrunk.text


def test_explain_rows_add_up_to_the_saving(tokenizer) -> None:  # type: ignore[no-untyped-def]
    text = "Please   read this.\n" + log()
    shrunk = shrink(text, "aggressive", tokenizer)
    fired = explain(text, "aggressive", tokenizer.count)
    assert [row.rule for row in fired] == ["whitespace", "blank_lines", "filler.please", "log_fold"]
    assert sum(row.saved for row in fired) == shrunk.saved
    assert "8 templates" in fired[-1].detail and "lines removed" in fired[-1].detail
    lines = render(fired, shrunk.before, shrunk.after)
    assert lines[0].startswith("explain: whitespace") and "tokens saved" in lines[0]


def test_explain_of_an_untouched_text_says_so() -> None:
    assert render([], 5, 5) == ["explain: no rule changed the text"]


def test_cli_explain_goes_to_stderr_and_max_tokens_merges(tmp_path: Path) -> None:
    env = {"LLMX_HOME": str(tmp_path)}
    plain = invoke(["compress", "--mode", "aggressive"], stdin=log().encode(), env=env)
    assert plain.returncode == 0
    result = invoke(["compress", "--mode", "aggressive", "--explain", "--max-tokens", "60"],
                    stdin=log().encode(), env=env)
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    assert "explain: log_fold" in err and "explain: merge" in err
    assert result.stdout.decode().startswith("[over the token budget:")
    assert b"explain" not in result.stdout and len(result.stdout) < len(plain.stdout)


def test_cli_explain_says_whether_a_merge_was_taken_when_still_over(tmp_path: Path) -> None:
    env = {"LLMX_HOME": str(tmp_path)}
    merged = invoke(["compress", "--mode", "aggressive", "--explain", "--max-tokens", "1"],
                    stdin=log().encode(), env=env)
    prose = invoke(["compress", "--mode", "aggressive", "--explain", "--max-tokens", "1"],
                   stdin=b"Please summarise the plan in three short sentences.\n", env=env)
    assert merged.returncode == prose.returncode == 0
    assert "still over the budget of 1 tokens after merging (level " in merged.stderr.decode()
    assert ("still over the budget of 1 tokens (no merge level saved tokens, so none was "
            "taken)") in prose.stderr.decode()


@pytest.mark.parametrize("value", ["0", "-3"])
def test_cli_rejects_a_budget_below_one(tmp_path: Path, value: str) -> None:
    result = invoke(["compress", "--max-tokens", value], stdin=b"x\n",
                    env={"LLMX_HOME": str(tmp_path)})
    assert result.returncode == 2
    lines = result.stderr.decode().strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("error:") and "--max-tokens" in lines[0]


def test_cli_rejects_a_budget_that_is_no_number(tmp_path: Path) -> None:
    result = invoke(["compress", "--max-tokens", "lots"], stdin=b"x\n",
                    env={"LLMX_HOME": str(tmp_path)})
    assert result.returncode == 2 and b"Traceback" not in result.stderr


def test_ask_merges_a_piped_log_that_is_over_the_context_window(tmp_path: Path) -> None:
    """``prepare`` gives compression the window less the reply reserve as its budget."""
    from llmx.config.profile import Profile
    from llmx.plan import Call
    from llmx.prepare import prepare

    text = log(400)
    roomy, tight = (Profile(name="t", provider="openai", model="gpt-4", base_url="embedded",
                            context_window=window) for window in (200_000, 250))
    call = Call(compress="aggressive", max_tokens=100)
    wide = prepare(roomy, text, call, stream=False, tokenizers=tmp_path)
    narrow = prepare(tight, text, call, stream=False, tokenizers=tmp_path)
    assert "over the token budget" not in wide.request.messages[-1].content
    assert narrow.request.messages[-1].content.startswith("[over the token budget:")
    assert narrow.tokens_after < wide.tokens_after
