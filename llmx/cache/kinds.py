"""The content kind of a prompt, which picks the cache TTL. Pure (standard library only).

``classify(prompt, system)`` returns one of:

``"json"``
    The answer is asked for as JSON: "respond/reply/answer/return/output ... in/as JSON",
    "JSON only", "valid JSON", "a JSON object/array/list" when something is to be produced
    ("give me", "list ... as"), or a system prompt that says so. Checked first, because a
    request for structured output is the strongest statement about the answer's shape.
``"code"``
    The prompt carries code or asks for it: a fenced block (``` or ~~~); a stack trace
    ("Traceback (most recent call last)", ``File "x.py", line 3``, ``at a.b(C.java:12)``,
    "panicked at", ``SomethingError: ``); code syntax (``def f(``, ``function f(``, ``) =>``,
    ``#include <``, ``console.log(``, ``SELECT ... FROM``, a line starting ``import x``); the
    words regex / regular expression / one-liner / stack trace / segfault / unit test; a
    capitalised language after "in", "using" or "with" ("in Rust", "using Python"); or a
    programming verb (write, fix, debug, refactor, implement, explain, ...) followed within
    80 characters by a code noun (code, function, script, class, query, snippet, bug, ...) or a
    language name ("function of" and "code of" do not count: "the function of the liver").
    A system prompt that makes the model a programmer also makes the kind code.
``"chat"``
    Everything else.

``"default"`` is never returned: it names the TTL used for kinds a profile does not list.
Only the first and last ``SAMPLE`` (2,000) characters of a long prompt are read, which keeps
a call under a few milliseconds whatever is piped in. The rules are deliberately small; a
caller who knows better passes the kind per call.
Patterns are plain strings compiled (and cached) by ``re`` on first use.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Final

from llmx.choices import TTL_KINDS, ContentKind

KINDS: Final = TTL_KINDS  # the content kinds classify returns, and "default"
SAMPLE: Final = 2_000  # characters read from each end of a long prompt
_NEAR: Final = 80  # how far after a verb its code noun may come

_I: Final = re.IGNORECASE
_JSON_OUTPUT: Final = (
    r"\b(respond|reply|answer|output|return|format|formatted|give|provide|emit|print|"
    r"list|produce|generate)\b[^.?!\n]{0,50}\b(in|as|with|using|into)\s+(a\s+|an\s+|the\s+)?"
    r"(valid\s+|strict\s+|pure\s+|plain\s+)?json\b"
)
_JSON_PHRASES: Final = (
    r"\bjson\s+only\b|\bonly\s+(valid\s+)?json\b|\bvalid\s+json\b|\bjson\s+format\b|"
    r"\bjson\s+(object|array|list)\s+(with|of|containing|that|where)\b|"
    r"\b(give|return|produce|output|generate)\s+(me\s+)?(a|an|the)\s+json\b|"
    r"\bjson\s+schema\b.*\b(follow|match|conform)"
)
_FENCE: Final = r"(^|\n)\s*(```|~~~)"
_TRACE: Final = (
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
    r"\n\s+at [\w$.<>]+\([^)\n]*:\d+(:\d+)?\)|panicked at|Exception in thread|"
    r"\b[A-Z]\w*(Error|Exception): |\bSegmentation fault\b|\bcore dumped\b"
)
_SYNTAX: Final = (
    r"\bdef \w+\(|\bfunction\s*\w*\s*\(|\bclass \w+\s*[:({]|\) =>|#include\s*<|"
    r"\bconsole\.log\(|\bSELECT\b[^;]{1,200}\bFROM\b|(^|\n)\s*(from [\w.]+ )?import \w+|"
    r"\bfn \w+\(|\bfunc \w+\(|\bpublic static void\b|<\?php|\$\(\w|\bsudo \w+"
)
_CODE_WORDS: Final = (
    r"\bregex(es|p)?\b|\bregular expressions?\b|\bone-liner\b|\bstack ?trace\b|\bsegfault\b|"
    r"\bcompiler? errors?\b|\bsyntax error\b|\bunit tests?\b|\bnull pointer\b"
)
_VERBS: Final = (
    r"\b(write|fix|debug|refactor|implement|optimi[sz]e|port|convert|translate|rewrite|"
    r"review|explain|generate|code|test|compile|lint|document)\b"
)
_CODE_NOUNS: Final = (
    r"\b(code(?! of\b)|function(?! of\b)|script|class|method|program|query|snippet|bug|"
    r"algorithm|module|endpoint|api|cli|makefile|dockerfile|unit tests?|sql|bash|shell|"
    r"python|javascript|typescript|java|kotlin|c\+\+|c#|golang|rust|ruby|php|haskell|scala|perl|lua|"
    r"powershell|html|css)(?![\w+#])"
)
_CASED_LANGUAGES: Final = r"\b(in|to|with|using|from) (Go|Rust|Swift|Ruby|Elixir|Zig|Julia)\b"
_IN_LANGUAGE: Final = (
    r"\b(in|using|with) (Python|JavaScript|TypeScript|Java|Kotlin|C\+\+|C#|Go|Golang|Rust|Ruby|"
    r"PHP|Haskell|Scala|Perl|Lua|Swift|Bash|SQL|PowerShell|Elixir|Zig|Julia)(?![\w+#'\u2019])"
)
_CODE_PERSONA: Final = (
    r"\b(programmer|software engineer|developer|coding assistant|code reviewer|"
    r"senior engineer|pair programmer)\b|\bwrites? code\b|\bexpert in (python|rust|go|java)"
)


def classify(prompt: str, system: str | None = None) -> ContentKind:
    """``"json"``, ``"code"`` or ``"chat"`` for a prompt and its system prompt (rules above)."""
    prompt, system = _ends(prompt), None if system is None else _ends(system)
    if _asks_for_json(prompt) or (system is not None and _asks_for_json(system)):
        return "json"
    if _is_code(prompt) or (system is not None and re.search(_CODE_PERSONA, system, _I)):
        return "code"
    return "chat"


def _ends(text: str) -> str:
    """The first and last ``SAMPLE`` characters: instructions sit at the ends of a prompt, and
    a long piped context in the middle would only make the regular expressions slow."""
    if len(text) <= 2 * SAMPLE:
        return text
    return text[:SAMPLE] + "\n...\n" + text[-SAMPLE:]


def _asks_for_json(text: str) -> bool:
    return bool(re.search(_JSON_OUTPUT, text, _I) or re.search(_JSON_PHRASES, text, _I))


def _is_code(text: str) -> bool:
    if re.search(_FENCE, text) or re.search(_TRACE, text) or re.search(_SYNTAX, text):
        return True
    if re.search(_CODE_WORDS, text, _I) or re.search(_IN_LANGUAGE, text):
        return True
    return _verb_near_code_noun(text)


def _verb_near_code_noun(text: str) -> bool:
    """A programming verb followed, within ``_NEAR`` characters, by a code noun or a language
    name. One pass per pattern, then a sorted lookup per verb."""
    nouns = sorted([m.start() for m in re.finditer(_CODE_NOUNS, text, _I)] +
                   [m.start() for m in re.finditer(_CASED_LANGUAGES, text)])
    if not nouns:
        return False
    for verb in re.finditer(_VERBS, text, _I):
        first = bisect_left(nouns, verb.start())
        if first < len(nouns) and nouns[first] <= verb.end() + _NEAR:
            return True
    return False
