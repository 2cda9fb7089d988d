"""``python -m llmx``."""

from llmx.cli import main

if __name__ == "__main__":
    main()
