"""``python -m llmx``."""

if __name__ == "__main__":
    import gc

    gc.disable()  # before the CLI's imports; ``llmx.cli.main`` says when it comes back on

    from llmx.cli import main

    main()
