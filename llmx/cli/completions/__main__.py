"""``python -m llmx.cli.completions [OUT_DIR]``: regenerate the completion scripts."""

from __future__ import annotations

import sys

from llmx.cli.completions import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
