"""Unit behaviour of each compression rule, what no rule may touch, idempotence, edge inputs."""

from __future__ import annotations

import json

import pytest

from llmx.compress.rules import (
    COMPRESSOR_VERSION,
    all_rules,
    apply_rules,
    compress,
    rules_for,
)
from llmx.compress.rules_protect import mask

MODES = ("conservative", "aggressive")
TIMES = "\u00d7"

FENCE = (
    "```python\n"
    "def  f(x):   # please keep   these spaces\n"
    "\n\n\n"
    "    return x  \n"
    "```\n"
)
PROTECTED_PROMPT = (
    "I want you to act as a reviewer.   Please read the code below.\n"
    "\n\n\n"
    + FENCE
    + "Run `grep  -n  please  src/` first, please.\n"
    "The spec is at https://example.com/please/really?simply=1 and the file is "
    "/home/me/please  notes.txt or C:\\Users\\me\\really.txt or ./simply/run.sh.\n"
    'Answer with "please   keep   this, really" and the numbers 3.14159, 1,000 and -42.\n'
)


def words(text: str) -> list[str]:
    return text.split()


# --- what no rule may touch ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_code_urls_paths_numbers_and_quotes_survive_verbatim(mode: str) -> None:
    out = compress(PROTECTED_PROMPT, mode)  # type: ignore[arg-type]
    for kept in (
        FENCE,
        "`grep  -n  please  src/`",
        "https://example.com/please/really?simply=1",
        "/home/me/please",
        "C:\\Users\\me\\really.txt",
        "./simply/run.sh",
        '"please   keep   this, really"',
        "3.14159",
        "1,000",
        "-42",
    ):
        assert out.count(kept) == 1, kept
    assert out != PROTECTED_PROMPT  # the rules did run on the prose around them


def test_aggressive_removes_fillers_only_outside_protected_spans() -> None:
    out = compress(PROTECTED_PROMPT, "aggressive")
    assert out.startswith("Act as a reviewer. Read the code below.\n\n```python\n")
    assert "first, please." not in out and "first." in out
    assert out.count("please") == 5  # fence, inline code, URL, path, quote; not the prose


def test_fence_variants() -> None:
    tilde = "~~~\na    b\n~~~~\n"
    assert tilde in compress("x  y\n" + tilde + "z  w", "aggressive")
    unclosed = "```\nplease   keep\n\n\n\nall of it  "
    assert compress("I want you to read:\n" + unclosed, "aggressive").endswith(unclosed)
    not_a_fence = "``` a`b  c"  # a backtick fence's info string never holds a backtick
    assert compress(not_a_fence, "conservative") == "``` a`b c"


def test_indented_code_lines_keep_their_inner_spacing() -> None:
    text = "Example:\n\n    x  =  1    # please\n    - not a list  item\n\n- list  item"
    out = compress(text, "aggressive")
    assert "    x  =  1    # please\n" in out
    assert out.endswith("- list item")


def test_apostrophes_are_not_quotes_but_single_quotes_are() -> None:
    out = compress("It's fine, please don't worry. Say 'please  help' now.", "aggressive")
    assert out == "It's fine, don't worry. Say 'please  help' now."


@pytest.mark.parametrize(("text", "spans"), [
    ("say 'a \"b' c\" d", ["'a \"b'"]),  # the leftmost span wins; the later quote is text
    ("x \"a 'b\" c' d", ['"a \'b"']),
    ("    first line\ntext `one` and ``two`` and ```three```", [
        "    first line", "`one`", "``two``", "```three```"]),
    ("a\n\tcode 'q'\n    - item 'r'", ["\tcode 'q'", "'r'"]),  # a list item is not code
    ("“a” and ‘b’ but don't", ["“a”", "‘b’"]),  # noqa: RUF001 - curly quotes are the case
])
def test_protected_spans_are_found_leftmost_first(text: str, spans: list[str]) -> None:
    masked = mask(text, minify=False)
    assert masked.spans == tuple(spans)
    assert masked.restore(masked.text) == text


def test_filler_inside_a_token_is_never_removed() -> None:
    text = "Open please.txt and my-please and please/x then (please) now."
    assert compress(text, "aggressive") == text


# --- conservative rules ---------------------------------------------------------------------


def test_whitespace_collapses_runs_and_trailing_blanks_but_keeps_indentation_and_tabs() -> None:
    text = "a   b  c   \n  - nested   item\t\n\tcol1\tcol2\t\tcol4\n"
    out = apply_rules(text, ["whitespace"])
    assert out == "a b c\n  - nested item\n\tcol1\tcol2\t\tcol4\n"


def test_blank_lines_collapse_and_the_ends_are_trimmed() -> None:
    text = "\n\n\nfirst\n\n\n\n\nsecond\n\nthird\n\n\n"
    assert compress(text, "conservative") == "first\n\nsecond\n\nthird"


def test_list_markers_are_compacted_and_nesting_kept() -> None:
    text = "-   one\n    *    two\n1.   three\n2)\tfour\n**bold**   text"
    out = apply_rules(text, ["whitespace"])
    assert out == "- one\n    * two\n1. three\n2)\tfour\n**bold** text"


def test_tables_lose_padding_and_dash_runs_but_no_cell() -> None:
    table = (
        "| Name   | Age | Note            |\n"
        "|--------|----:|:---------------:|\n"
        "| Bob    |  42 | likes a \\| b    |\n"
        "| Alice  |   7 | `x  |  y`       |"
    )
    out = compress("Data:\n\n" + table, "conservative")
    lines = out.split("\n")[2:]
    assert lines[0] == "|Name|Age|Note|"
    assert lines[1] == "|-|-:|:-:|"
    assert lines[2] == "|Bob|42|likes a \\| b|"
    assert lines[3] == "|Alice|7|`x  |  y`|"


def test_pipes_outside_a_table_are_left_alone() -> None:
    text = "a | b\nc | d"
    assert compress(text, "conservative") == text


def test_json_blocks_are_minified_with_strings_and_numbers_as_written() -> None:
    pretty = (
        '{\n    "name": "a  b,  c",\n    "values": [\n        1.0,\n        1e5,\n'
        '        -0.50\n    ],\n    "nested": {\n        "x": null\n    }\n}'
    )
    out = compress("Here is the data:\n" + pretty + "\nThanks.", "conservative")
    minified = out.split("\n")[1]
    assert json.loads(minified) == json.loads(pretty)
    assert '"a  b,  c"' in minified and "1e5" in minified and "-0.50" in minified
    assert " " not in minified.replace('"a  b,  c"', "")
    assert out.split("\n")[0] == "Here is the data:" and out.endswith("\nThanks.")


def test_whole_input_json_and_json_lines() -> None:
    assert compress('{ "a": [1, 2],\n  "b": "x y" }\n', "conservative") == '{"a":[1,2],"b":"x y"}'
    lines = '{"id": 1, "ok": true}\n{"id": 2, "ok": false}'
    assert compress(lines, "conservative") == '{"id":1,"ok":true}\n{"id":2,"ok":false}'


def test_json_strings_keep_escapes_and_blanks() -> None:
    text = '[\n  {"say": "a \\"quoted\\"  word", "n": 2}\n]'
    assert compress(text, "conservative") == '[{"say":"a \\"quoted\\"  word","n":2}]'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "[" * 100_000 + "]" * 100_000),  # too deep to parse
        ('{"a": [1,\n' * 5_000, f'{{"a": [1, [{TIMES}5000]'),
        (("[" * 40 + " x\n") * 500, "[" * 40 + f" x [{TIMES}500]"),
    ],
)
def test_deep_or_unclosed_json_is_prose(text: str, expected: str) -> None:
    assert compress(text, "conservative") == expected


def test_broken_json_is_prose() -> None:
    text = '{"a": 1,\n  "b": }\n[Sun Dec 04]  notice'
    assert compress(text, "conservative") == '{"a": 1,\n  "b": }\n[Sun Dec 04] notice'


def test_json_in_a_fence_is_code() -> None:
    fenced = '```json\n{ "a": 1 }\n```'
    assert compress(fenced, "aggressive") == fenced


def test_consecutive_duplicate_lines_fold_with_a_count() -> None:
    text = "start\nsame line\nsame line\nsame line\nother\nsame line\n\n\n\nend"
    out = compress(text, "conservative")
    assert out == f"start\nsame line [{TIMES}3]\nother\nsame line\n\nend"


def test_consecutive_duplicate_paragraphs_fold_with_a_count() -> None:
    paragraph = "Line one of it.\nLine two of it."
    text = "\n\n".join(["Intro.", paragraph, paragraph, paragraph, "Outro."])
    out = compress(text, "conservative")
    assert out == f"Intro.\n\n{paragraph}\n[paragraph above {TIMES}3]\n\nOutro."


def test_conservative_keeps_every_word() -> None:
    text = PROTECTED_PROMPT + "\n-   a    list\n\n\nlast   words  \n"
    assert words(compress(text, "conservative")) == words(text)


# --- aggressive rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want you to act as a poet.", "Act as a poet."),
        ("Hello. I would like you to write a poem.", "Hello. Write a poem."),
        ("Then I want you to stop.", "Then stop."),
        ("Could you please check it?", "Check it?"),
        ("Can you check it?", "Can you check it?"),  # a real question stays
        ("Please, read this. Do it, please.", "Read this. Do it."),
        ("- please read\n- Please write", "- Read\n- Write"),
        ("We go there in order to learn.", "We go there to learn."),
        ("It is really good, simply great.", "It is good, great."),
        ("It is not really good.", "It is not really good."),  # negated: meaning would flip
        ("Please please help.", "Help."),
        ("Try to please everyone.", "Try to please everyone."),  # a verb, not politeness
        ("It will please you. Try to please.", "It will please you. Try to please."),
        ("Simply put, no.", "Simply put, no."),
    ],
)
def test_filler_removal(text: str, expected: str) -> None:
    assert compress(text, "aggressive") == expected


def log_lines() -> list[str]:
    lines = [f"2024-01-0{1 + i % 3} 10:00:{i:02d} INFO worker {i % 4} done job {100 + i}"
             for i in range(30)]
    lines.insert(5, "2024-01-01 10:00:59 ERROR disk /dev/sda1 failed")
    for i in range(6):
        lines.insert(12 + 2 * i, f"2024-01-02 11:00:0{i} WARN retrying {5 - i % 2 * 2} times")
    return lines


def test_log_lines_fold_into_a_template_with_count_and_value_summaries() -> None:
    out = compress("\n".join(log_lines()), "aggressive").split("\n")
    legend = [line for line in out if line.startswith("[folded log:")]
    assert len(legend) == 1
    body = [line for line in out if not line.startswith("[folded log:")]
    assert body[0] == (
        f"<2024-01-01 10:00:00..2024-01-03 10:00:29> INFO worker <0..3> done job <100..129> "
        f"[{TIMES}30]"
    )
    assert body[1] == "2024-01-01 10:00:59 ERROR disk /dev/sda1 failed"  # rare: verbatim
    assert body[2] == (
        f"<2024-01-02 11:00:00..05> WARN retrying <5|3> times [{TIMES}6]"  # same minute
    )
    assert len(body) == 3


def test_a_slot_with_many_values_shows_a_sample_and_the_count() -> None:
    lines = [f"session 0x{i:04x}ab{i % 7}z opened by user{i}@host{i % 3}" for i in range(40)]
    (template,) = [line for line in compress("\n".join(lines), "aggressive").split("\n")
                   if line.startswith("session")]
    assert template.startswith("session <0x0000ab0z|0x0027ab4z|… 40 distinct")  # first|last
    assert " opened by <user0@host0|user39@host0|… 40 distinct> " in template
    assert template.endswith(f" [{TIMES}40]")


def test_templates_do_not_fold_across_blank_lines_nor_table_rows_nor_wordless_rows() -> None:
    paragraphs = "Chapter 1 starts\n\nsome text\n\nChapter 2 starts"
    assert compress(paragraphs, "aggressive") == paragraphs
    numbers = "\n".join(f"{i},{i * i},{i * 3}" for i in range(50))
    assert compress(numbers, "aggressive") == numbers
    table = "| a | b |\n|---|---|\n" + "\n".join(f"| row {i} | {i * 2} |" for i in range(20))
    assert TIMES not in compress(table, "aggressive")


def test_aggressive_folds_non_consecutive_duplicates_within_a_block() -> None:
    lines = ["connection reset by peer", "retry", "connection reset by peer", "retry"] * 10
    out = compress("\n".join(lines), "aggressive").split("\n")
    assert out == [f"connection reset by peer [{TIMES}20]", f"retry [{TIMES}20]"]  # no legend


# --- whole-pipeline properties --------------------------------------------------------------


MIXED = (
    PROTECTED_PROMPT
    + "\n".join(log_lines())
    + "\n\n| k | v |\n|---|---|\n| 1 | 2 |\n\n"
    + '{"k": [1, 2]}\n'
    + "dup\ndup\ndup\n"
    + "Please please please stop.\n"
)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "text", [MIXED, PROTECTED_PROMPT, "\n".join(log_lines()), "a  b\r\nc  \r\n\r\n\r\n\r\nd"]
)
def test_idempotent(mode: str, text: str) -> None:
    once = compress(text, mode)  # type: ignore[arg-type]
    assert compress(once, mode) == once  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("text", ["", " ", "\n", "\n\n\n", " \t \n  \r\n "])
def test_empty_and_blank_input(mode: str, text: str) -> None:
    assert compress(text, mode) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_crlf_input_becomes_lf_outside_code_and_stays_inside(mode: str) -> None:
    code = "```\r\nx  =  1\r\n```\r\n"
    text = "first   line\r\nsecond\r\n\r\n\r\n\r\n" + code + "last\r\n"
    out = compress(text, mode)  # type: ignore[arg-type]
    assert out == "first line\nsecond\n\n" + code + "last"
    assert words(out) == words(text)


def test_private_use_characters_in_the_input_do_not_confuse_masking() -> None:
    text = "\ue000 and `code  \ue001` and \ue002 please  go"
    out = compress(text, "aggressive")
    assert "`code  \ue001`" in out and out.startswith("\ue000 and ") and "\ue002 go" in out


def test_nul_characters_disable_folding_only() -> None:
    text = "\n".join(f"job {i} done\x00" for i in range(10))
    assert compress(text, "aggressive") == text


def test_modes_and_rule_names() -> None:
    assert isinstance(COMPRESSOR_VERSION, str) and COMPRESSOR_VERSION
    assert set(rules_for("conservative")) < set(rules_for("aggressive")) == set(all_rules())
    assert "log_fold" in rules_for("aggressive") and "log_fold" not in rules_for("conservative")
    with pytest.raises(ValueError, match="mode"):
        compress("x", "extreme")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="abbreviations"):
        apply_rules("x", ["abbreviations"])


def test_every_rule_alone_keeps_protected_spans() -> None:
    for rule in all_rules():
        out = apply_rules(PROTECTED_PROMPT, [rule])
        assert FENCE in out and '"please   keep   this, really"' in out, rule
        assert "`grep  -n  please  src/`" in out, rule


@pytest.mark.parametrize("mode", MODES)
def test_a_repeated_last_paragraph_folds_the_same_with_or_without_a_final_newline(
    mode: str,
) -> None:
    once = compress("plain words\n\nplain words\n", mode)  # type: ignore[arg-type]
    assert once == compress("plain words\n\nplain words", mode)  # type: ignore[arg-type]
    assert compress(once, mode) == once  # type: ignore[arg-type]
