# fish completion for llmx
# Generated from the Typer app by `python -m llmx.cli.completions`; do not edit.
# Use: copy to ~/.config/fish/completions/llmx.fish

# The (sub)command being completed, as words joined by spaces ('' for llmx itself).
function __llmx_command
    set -l known 'ask' 'batch' 'bench' 'cache' 'cache clear' 'cache ls' 'cache path' 'cache prune' 'cache show' 'cache warm' 'chat' 'completions' 'compress' 'config' 'config init' 'config path' 'config show' 'logs' 'logs path' 'profiles' 'serve' 'sim' 'stats' 'templates'
    set -l path ''
    for word in (commandline -opc)[2..-1]
        set -l candidate (string trim -- "$path $word")
        contains -- $candidate $known; and set path $candidate
    end
    echo $path
end

# Is the command being completed `llmx $argv`?
function __llmx_at
    set -l command (__llmx_command)
    test "$command" = "$argv"
end

# Profile names: the built-in ones and the [profiles.NAME] tables of the config file
# llmx would read (--config on the command line, $LLMX_CONFIG, ./llmx.toml, XDG).
function __llmx_profiles
    set -l tokens (commandline -opc)
    set -l file
    set -l i (contains -i -- --config $tokens); and set file $tokens[(math $i + 1)]
    for token in $tokens
        string match -q -- '--config=*' $token
        and set file (string replace -- '--config=' '' $token)
    end
    if test -z "$file"
        if test -n "$LLMX_CONFIG"
            set file $LLMX_CONFIG
        else if test -f llmx.toml
            set file llmx.toml
        else if string match -q -- '/*' "$XDG_CONFIG_HOME"
            set file $XDG_CONFIG_HOME/llmx/config.toml
        else
            set file $HOME/.config/llmx/config.toml
        end
    end
    set file (string replace -r -- '^~/' "$HOME/" $file)
    begin
        printf '%s\n' sim
        test -r "$file"; and sed -n -E 's/^[[:space:]]*\\[[[:space:]]*profiles[[:space:]]*\\.[[:space:]]*"?([A-Za-z0-9_-]+)"?[[:space:]]*[].].*/\\1/p' $file
    end | sort -u
end

complete -c llmx -f
complete -c llmx -n '__llmx_at' -a 'ask' -d 'Ask one question; the answer streams to stdout.'
complete -c llmx -n '__llmx_at' -a 'batch' -d 'Answer a JSONL file of prompts concurrently: one output line per input line.'
complete -c llmx -n '__llmx_at' -a 'bench' -d 'Reproduce the performance table by measurement: naive baseline vs llmx.'
complete -c llmx -n '__llmx_at' -a 'cache' -d 'Inspect and manage the response cache.'
complete -c llmx -n '__llmx_at' -a 'chat' -d 'A conversation: a REPL on a terminal, one turn per line from a pipe.'
complete -c llmx -n '__llmx_at' -a 'completions' -d 'Print a static completion script for SHELL (the files in completions/ are these).'
complete -c llmx -n '__llmx_at' -a 'compress' -d 'Compress text the way `llmx ask --compress` would; counts go to stderr.'
complete -c llmx -n '__llmx_at' -a 'config' -d 'Find, create and inspect the config file.'
complete -c llmx -n '__llmx_at' -a 'logs' -d 'The logged answers, newest last (`llmx logs path`: where).'
complete -c llmx -n '__llmx_at' -a 'profiles' -d 'List profiles (the default one is marked with *).'
complete -c llmx -n '__llmx_at' -a 'serve' -d 'Serve the profiles behind an OpenAI-compatible endpoint (cache, single flight, retries and records shared by every client).'
complete -c llmx -n '__llmx_at' -a 'sim' -d 'Run the embedded simulated provider (OpenAI, Anthropic and Ollama APIs) on 127.0.0.1.'
complete -c llmx -n '__llmx_at' -a 'stats' -d 'What the cache and compression saved, from the request records.'
complete -c llmx -n '__llmx_at' -a 'templates' -d 'List the config\'s prompt templates (`[templates.NAME]`, used by `ask -t NAME`).'
complete -c llmx -n '__llmx_at' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at' -s 'V' -l 'version' -d 'Print the version and exit.'
complete -c llmx -n '__llmx_at ask' -s 'a' -l 'attach' -x -d 'An image sent with the prompt: PNG, JPEG, GIF or WebP, a path or an http(s) URL that llmx fetches (repeatable; size limits per provider).'
complete -c llmx -n '__llmx_at ask' -l 'cid' -x -d 'Continue the conversation with this id (or a unique prefix of it; `llmx logs` shows them).'
complete -c llmx -n '__llmx_at ask' -l 'compress' -x -d 'Compress the prompt: conservative or aggressive (default: the profile\'s compression.mode).'
complete -c llmx -n '__llmx_at ask' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at ask' -s 'c' -l 'continue' -d 'Continue the newest conversation: its earlier turns are sent as history (fitted to the context window).'
complete -c llmx -n '__llmx_at ask' -l 'dry-run' -d 'Show the prompt that would be sent and its token counts; send nothing.'
complete -c llmx -n '__llmx_at ask' -s 'x' -l 'extract' -d 'Print only the first fenced code block of the answer (exit 11 when it has none).'
complete -c llmx -n '__llmx_at ask' -l 'extract-last' -d 'Print only the last fenced code block of the answer (exit 11 when it has none).'
complete -c llmx -n '__llmx_at ask' -s 'f' -l 'file' -x -d 'A text file sent with the prompt, labelled with its name (repeatable; a binary file or one over 1 MiB is refused).'
complete -c llmx -n '__llmx_at ask' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at ask' -l 'json' -d 'Print one JSON object: text, model, provider, usage, latency_ms, ttft_ms, cached.'
complete -c llmx -n '__llmx_at ask' -l 'kind' -x -d 'Content kind for the cache TTL: code, json, chat (default: detected).'
complete -c llmx -n '__llmx_at ask' -l 'max-tokens' -x -d 'Cap on answer tokens.'
complete -c llmx -n '__llmx_at ask' -s 'm' -l 'model' -x -d 'Override the model.'
complete -c llmx -n '__llmx_at ask' -l 'no-cache' -d 'Neither read nor write the cache for this call.'
complete -c llmx -n '__llmx_at ask' -l 'no-compress' -d 'Send the prompt as it is.'
complete -c llmx -n '__llmx_at ask' -l 'no-log' -d 'Keep no log of this call (default: the profile\'s `logs`).'
complete -c llmx -n '__llmx_at ask' -l 'stdin' -l 'no-stdin' -d 'Always wait for / never read piped stdin (default: read it if data comes within 1s).'
complete -c llmx -n '__llmx_at ask' -l 'stream' -l 'no-stream' -d 'Stream the answer as it arrives.'
complete -c llmx -n '__llmx_at ask' -s 'p' -l 'profile' -x -a '(__llmx_profiles)' -d 'Profile to use (default: default_profile).'
complete -c llmx -n '__llmx_at ask' -l 'reasoning-effort' -x -d 'How hard a reasoning model thinks: low, medium, high (OpenAI reasoning_effort, Anthropic thinking budget, Ollama think).'
complete -c llmx -n '__llmx_at ask' -l 'refresh' -d 'Ask the provider even if cached; store the new answer.'
complete -c llmx -n '__llmx_at ask' -l 'schema' -x -d 'A JSON Schema (a file, or the JSON itself) the answer must follow; the answer is its JSON (exit 10 when it does not follow it).'
complete -c llmx -n '__llmx_at ask' -l 'show-reasoning' -d 'Print the model\'s reasoning (thinking) to stderr, dim on a terminal; stdout gets only the answer (--json: `reasoning`).'
complete -c llmx -n '__llmx_at ask' -s 's' -l 'system' -x -d 'System prompt.'
complete -c llmx -n '__llmx_at ask' -l 'temperature' -x -d 'Sampling temperature.'
complete -c llmx -n '__llmx_at ask' -s 't' -l 'template' -x -d 'Apply the config\'s [templates.NAME]: its system, prompt ({input}: stdin, {args}: the prompt words) and settings; flags win.'
complete -c llmx -n '__llmx_at ask' -l 'tool-choice' -x -d 'With --tools: auto, required, none or a tool\'s name.'
complete -c llmx -n '__llmx_at ask' -l 'tools' -x -d 'JSON file: a list of OpenAI-style function tools the model may call; each call is printed as one JSON line (--json: `tool_calls`).'
complete -c llmx -n '__llmx_at batch' -s 'j' -l 'concurrency' -x -d 'Requests in flight (default: the profile\'s batch.concurrency).'
complete -c llmx -n '__llmx_at batch' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at batch' -l 'deadline' -x -d 'How long the run may take (e.g. 36h, 2d): lets --mode auto choose the Batch API.'
complete -c llmx -n '__llmx_at batch' -l 'grace' -x -d 'Seconds lines in flight get to finish after Ctrl-C / SIGTERM.'
complete -c llmx -n '__llmx_at batch' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at batch' -l 'line-retries' -x -d 'Extra attempts per line after transient errors (0-100).'
complete -c llmx -n '__llmx_at batch' -l 'mode' -x -d 'How lines are sent: auto | direct | provider. auto: the provider\'s Batch API (OpenAI, Anthropic; 50 % cheaper) when --deadline allows its 24 h window and the estimated saving is at least batch.auto_min_saving, else one request per line.'
complete -c llmx -n '__llmx_at batch' -l 'no-cache' -d 'Neither read nor write the cache for any line.'
complete -c llmx -n '__llmx_at batch' -s 'o' -l 'output' -x -d 'Output file (default: stdout).'
complete -c llmx -n '__llmx_at batch' -s 'p' -l 'profile' -x -a '(__llmx_profiles)' -d 'Profile to use (default: default_profile).'
complete -c llmx -n '__llmx_at batch' -l 'provider-batch' -d 'Same as --mode provider.'
complete -c llmx -n '__llmx_at batch' -l 'refresh' -d 'Ask the provider even if cached; store the new answers.'
complete -c llmx -n '__llmx_at batch' -l 'resume' -d 'Skip ids already answered in the output file.'
complete -c llmx -n '__llmx_at batch' -l 'rpm' -x -d 'Requests per minute at most.'
complete -c llmx -n '__llmx_at batch' -l 'semantic' -d 'Also answer lines from semantic (paraphrase) cache matches; off in batches by default.'
complete -c llmx -n '__llmx_at batch' -l 'summary-json' -x -d 'Write the summary as JSON to this file (- for stderr).'
complete -c llmx -n '__llmx_at batch' -l 'tpm' -x -d 'Tokens per minute at most.'
complete -c llmx -n '__llmx_at batch' -l 'unordered' -d 'Write lines as they finish, not in input order.'
complete -c llmx -n '__llmx_at bench' -l 'connect-ms' -x -d 'What a new connection to the simulator costs (default 20: TCP + TLS at a 10 ms round trip; 0: loopback only).'
complete -c llmx -n '__llmx_at bench' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at bench' -l 'json' -d 'One JSON object.'
complete -c llmx -n '__llmx_at bench' -s 'p' -l 'profile' -x -a '(__llmx_profiles)' -d 'Profile to use (default: default_profile).'
complete -c llmx -n '__llmx_at bench' -l 'quick' -d 'A shorter run (<= 30 s).'
complete -c llmx -n '__llmx_at bench' -l 'targets' -x -d 'Targets to compare with: seed or pass3.'
complete -c llmx -n '__llmx_at bench' -l 'yes' -d 'Don\'t ask before spending money on a real provider.'
complete -c llmx -n '__llmx_at cache' -a 'clear' -d 'Delete every cached answer (and the semantic index).'
complete -c llmx -n '__llmx_at cache' -a 'ls' -d 'List cached answers, newest first.'
complete -c llmx -n '__llmx_at cache' -a 'path' -d 'Print the cache directory.'
complete -c llmx -n '__llmx_at cache' -a 'prune' -d 'Drop expired and over-limit entries and compact the files.'
complete -c llmx -n '__llmx_at cache' -a 'show' -d 'Show one cached answer.'
complete -c llmx -n '__llmx_at cache' -a 'warm' -d 'Answer a JSONL file of prompts into the cache, printing no answers.'
complete -c llmx -n '__llmx_at cache' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at cache clear' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at cache clear' -s 'y' -l 'yes' -d 'Really delete everything.'
complete -c llmx -n '__llmx_at cache ls' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at cache ls' -l 'json' -d 'JSON lines.'
complete -c llmx -n '__llmx_at cache ls' -s 'n' -l 'limit' -x -d 'How many entries.'
complete -c llmx -n '__llmx_at cache path' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at cache prune' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at cache show' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at cache show' -l 'json' -d 'Print JSON.'
complete -c llmx -n '__llmx_at cache warm' -s 'j' -l 'concurrency' -x -d 'Requests in flight (default: the profile\'s batch.concurrency).'
complete -c llmx -n '__llmx_at cache warm' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at cache warm' -l 'grace' -x -d 'Seconds lines in flight get to finish after Ctrl-C / SIGTERM.'
complete -c llmx -n '__llmx_at cache warm' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at cache warm' -l 'line-retries' -x -d 'Extra attempts per line after transient errors (0-100).'
complete -c llmx -n '__llmx_at cache warm' -s 'p' -l 'profile' -x -a '(__llmx_profiles)' -d 'Profile to use (default: default_profile).'
complete -c llmx -n '__llmx_at cache warm' -l 'refresh' -d 'Ask the provider even if cached; store the new answers.'
complete -c llmx -n '__llmx_at cache warm' -l 'rpm' -x -d 'Requests per minute at most.'
complete -c llmx -n '__llmx_at cache warm' -l 'semantic' -d 'Also answer lines from semantic (paraphrase) cache matches; off in batches by default.'
complete -c llmx -n '__llmx_at cache warm' -l 'summary-json' -x -d 'Write the summary as JSON to this file (- for stderr).'
complete -c llmx -n '__llmx_at cache warm' -l 'tpm' -x -d 'Tokens per minute at most.'
complete -c llmx -n '__llmx_at chat' -l 'cid' -x -d 'Continue the conversation with this id (or a unique prefix of it; `llmx logs` shows them).'
complete -c llmx -n '__llmx_at chat' -l 'compress' -x -d 'Compress the prompt: conservative or aggressive (default: the profile\'s compression.mode).'
complete -c llmx -n '__llmx_at chat' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at chat' -s 'c' -l 'continue' -d 'Continue the newest conversation: its earlier turns are sent as history (fitted to the context window).'
complete -c llmx -n '__llmx_at chat' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at chat' -l 'max-tokens' -x -d 'Cap on answer tokens.'
complete -c llmx -n '__llmx_at chat' -s 'm' -l 'model' -x -d 'Override the model.'
complete -c llmx -n '__llmx_at chat' -l 'no-cache' -d 'Neither read nor write the cache for this call.'
complete -c llmx -n '__llmx_at chat' -l 'no-log' -d 'Keep no log of this call (default: the profile\'s `logs`).'
complete -c llmx -n '__llmx_at chat' -s 'p' -l 'profile' -x -a '(__llmx_profiles)' -d 'Profile to use (default: default_profile).'
complete -c llmx -n '__llmx_at chat' -l 'reasoning-effort' -x -d 'How hard a reasoning model thinks: low, medium, high (OpenAI reasoning_effort, Anthropic thinking budget, Ollama think).'
complete -c llmx -n '__llmx_at chat' -l 'refresh' -d 'Ask the provider even if cached; store the new answer.'
complete -c llmx -n '__llmx_at chat' -l 'show-reasoning' -d 'Print the model\'s reasoning (thinking) to stderr, dim on a terminal; stdout gets only the answer (--json: `reasoning`).'
complete -c llmx -n '__llmx_at chat' -s 's' -l 'system' -x -d 'System prompt.'
complete -c llmx -n '__llmx_at chat' -l 'temperature' -x -d 'Sampling temperature.'
complete -c llmx -n '__llmx_at completions' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at completions' -a 'bash fish zsh'
complete -c llmx -n '__llmx_at compress' -l 'explain' -d 'Which rules fired and the tokens each saved, on stderr.'
complete -c llmx -n '__llmx_at compress' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at compress' -l 'json' -d 'One JSON object: text and counts.'
complete -c llmx -n '__llmx_at compress' -l 'max-tokens' -x -d 'Token budget: over it, aggressive mode merges similar log templates (and says so).'
complete -c llmx -n '__llmx_at compress' -l 'mode' -x -d 'conservative or aggressive.'
complete -c llmx -n '__llmx_at compress' -s 'm' -l 'model' -x -d 'Count tokens as this model does.'
complete -c llmx -n '__llmx_at config' -a 'init' -d 'Write a starter config file (never overwrites without --force).'
complete -c llmx -n '__llmx_at config' -a 'path' -d 'Show where llmx looks for its config and which file it uses.'
complete -c llmx -n '__llmx_at config' -a 'show' -d 'Show a resolved profile as TOML (secrets masked).'
complete -c llmx -n '__llmx_at config' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at config init' -l 'force' -d 'Overwrite an existing file.'
complete -c llmx -n '__llmx_at config init' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at config init' -F
complete -c llmx -n '__llmx_at config path' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at config path' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at config show' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at config show' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at config show' -s 'p' -l 'profile' -x -a '(__llmx_profiles)' -d 'Profile to use (default: default_profile).'
complete -c llmx -n '__llmx_at logs' -a 'path' -d 'Print where the logs database is.'
complete -c llmx -n '__llmx_at logs' -l 'cid' -x -d 'Only this conversation (an id or a unique prefix).'
complete -c llmx -n '__llmx_at logs' -s 'n' -l 'count' -x -d 'How many answers, the newest (0: all).'
complete -c llmx -n '__llmx_at logs' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at logs' -l 'json' -d 'One JSON object per line.'
complete -c llmx -n '__llmx_at logs' -s 'q' -l 'query' -x -d 'Only answers whose prompt, answer or system prompt hold every word.'
complete -c llmx -n '__llmx_at logs path' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at profiles' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at profiles' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at serve' -l 'api-key-env' -x -d 'Environment variable holding the client key(s), comma separated; repeatable. Required off loopback.'
complete -c llmx -n '__llmx_at serve' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at serve' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at serve' -l 'host' -x -d 'Address to listen on.'
complete -c llmx -n '__llmx_at serve' -l 'port' -x -d 'Port (0 = a free one).'
complete -c llmx -n '__llmx_at serve' -s 'p' -l 'profile' -x -a '(__llmx_profiles)' -d 'Profile to use (default: default_profile).'
complete -c llmx -n '__llmx_at sim' -l 'batch-delay-s' -x -d 'How long a provider batch takes.'
complete -c llmx -n '__llmx_at sim' -l 'connect-delay-ms' -x -d 'Set-up time of each new connection.'
complete -c llmx -n '__llmx_at sim' -l 'cut-rate' -x -d 'Share of connections cut mid-answer.'
complete -c llmx -n '__llmx_at sim' -l 'fail-rate' -x -d 'Share of 500/503 answers.'
complete -c llmx -n '__llmx_at sim' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at sim' -l 'idle-close-ms' -x -d 'Close connections idle this long (0 = never).'
complete -c llmx -n '__llmx_at sim' -l 'inband-error-rate' -x -d 'Share of answers ended by an in-band error.'
complete -c llmx -n '__llmx_at sim' -l 'jitter' -x -d 'Relative jitter on delays, 0..1.'
complete -c llmx -n '__llmx_at sim' -l 'latency-ms' -x -d 'Added latency before the answer.'
complete -c llmx -n '__llmx_at sim' -l 'midstream-stall-rate' -x -d 'Share of answers that go silent part-way.'
complete -c llmx -n '__llmx_at sim' -l 'per-input-token-ms' -x -d 'Cost per input token.'
complete -c llmx -n '__llmx_at sim' -l 'port' -x -d 'Port (0 = a free one).'
complete -c llmx -n '__llmx_at sim' -l 'rate-limit-rate' -x -d 'Share of 429 answers.'
complete -c llmx -n '__llmx_at sim' -l 'refusal-rate' -x -d 'Share of refusals.'
complete -c llmx -n '__llmx_at sim' -l 'seed' -x -d 'Seed for answers and faults.'
complete -c llmx -n '__llmx_at sim' -l 'stall-rate' -x -d 'Share of requests never answered.'
complete -c llmx -n '__llmx_at sim' -l 'tokens-per-s' -x -d 'Output pace (0 = instant).'
complete -c llmx -n '__llmx_at sim' -l 'ttft-ms' -x -d 'Time to first token.'
complete -c llmx -n '__llmx_at stats' -l 'by' -x -d 'Group by `model` or `profile`.'
complete -c llmx -n '__llmx_at stats' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at stats' -l 'json' -d 'Print one JSON object.'
complete -c llmx -n '__llmx_at stats' -l 'since' -x -d 'Only records newer than this, e.g. 30m, 24h, 7d.'
complete -c llmx -n '__llmx_at templates' -l 'config' -r -F -d 'Config file (default: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).'
complete -c llmx -n '__llmx_at templates' -s 'h' -l 'help' -d 'Show this message and exit.'
complete -c llmx -n '__llmx_at templates' -l 'json' -d 'Every key of each template, as one JSON object.'
