#compdef llmx
# zsh completion for llmx
# Generated from the Typer app by `python -m llmx.cli.completions`; do not edit.
# Use: save as _llmx in a directory on $fpath (then compinit), or `source` it.

# Profile names: the built-in ones and the [profiles.NAME] tables of the config file
# llmx would read (--config on the command line, $LLMX_CONFIG, ./llmx.toml, XDG).
_llmx__profiles() {
    local file=${(Q)opt_args[--config]-}
    if [[ -z $file ]]; then
        if [[ -n ${LLMX_CONFIG-} ]]; then file=$LLMX_CONFIG
        elif [[ -f llmx.toml ]]; then file=llmx.toml
        elif [[ ${XDG_CONFIG_HOME-} == /* ]]; then file=$XDG_CONFIG_HOME/llmx/config.toml
        else file=$HOME/.config/llmx/config.toml
        fi
    fi
    [[ $file == '~/'* ]] && file=$HOME/${file#'~/'}
    local -a names
    names=(sim ${(f)"$([[ -r $file ]] && sed -n -E 's/^[[:space:]]*\[[[:space:]]*profiles[[:space:]]*\.[[:space:]]*"?([A-Za-z0-9_-]+)"?[[:space:]]*[].].*/\1/p' "$file")"})
    _wanted profiles expl profile compadd -- ${(u)names}
}

_llmx() {
    local curcontext=$curcontext state state_descr line ret=1
    typeset -A opt_args
    _arguments -C \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(-V --version)-V[Print the version and exit.]' \
        '(-V --version)--version[Print the version and exit.]' \
        ': :_llmx__commands' \
        '*:: :->command' && ret=0
    if [[ $state == command ]]; then
        curcontext=${curcontext%:*:*}:llmx-$words[1]:
        case $words[1] in
        (ask) _llmx_ask && ret=0 ;;
        (batch) _llmx_batch && ret=0 ;;
        (bench) _llmx_bench && ret=0 ;;
        (cache) _llmx_cache && ret=0 ;;
        (chat) _llmx_chat && ret=0 ;;
        (completions) _llmx_completions && ret=0 ;;
        (compress) _llmx_compress && ret=0 ;;
        (config) _llmx_config && ret=0 ;;
        (logs) _llmx_logs && ret=0 ;;
        (profiles) _llmx_profiles && ret=0 ;;
        (serve) _llmx_serve && ret=0 ;;
        (sim) _llmx_sim && ret=0 ;;
        (stats) _llmx_stats && ret=0 ;;
        (templates) _llmx_templates && ret=0 ;;
        esac
    fi
    return ret
}

_llmx__commands() {
    local -a commands
    commands=(
        'ask:Ask one question; the answer streams to stdout.'
        'batch:Answer a JSONL file of prompts concurrently\: one output line per input line.'
        'bench:Reproduce the performance table by measurement\: naive baseline vs llmx.'
        'cache:Inspect and manage the response cache.'
        'chat:A conversation\: a REPL on a terminal, one turn per line from a pipe.'
        'completions:Print a static completion script for SHELL (the files in completions/ are these).'
        'compress:Compress text the way `llmx ask --compress` would; counts go to stderr.'
        'config:Find, create and inspect the config file.'
        'logs:The logged answers, newest last (`llmx logs path`\: where).'
        'profiles:List profiles (the default one is marked with *).'
        'serve:Serve the profiles behind an OpenAI-compatible endpoint (cache, single flight, retries and records shared by every client).'
        'sim:Run the embedded simulated provider (OpenAI, Anthropic and Ollama APIs) on 127.0.0.1.'
        'stats:What the cache and compression saved, from the request records.'
        'templates:List the config'\''s prompt templates (`\[templates.NAME\]`, used by `ask -t NAME`).'
    )
    _describe -t commands 'llmx command' commands
}

_llmx_ask() {
    typeset -A opt_args
    _arguments \
        '*-a+[An image sent with the prompt\: PNG, JPEG, GIF or WebP, a path or an http(s) URL that llmx fetches (repeatable; size limits per provider).]:path|url: ' \
        '*--attach=[An image sent with the prompt\: PNG, JPEG, GIF or WebP, a path or an http(s) URL that llmx fetches (repeatable; size limits per provider).]:path|url: ' \
        '(--cid)--cid=[Continue the conversation with this id (or a unique prefix of it; `llmx logs` shows them).]:id: ' \
        '(--compress)--compress=[Compress the prompt\: conservative or aggressive (default\: the profile'\''s compression.mode).]:mode: ' \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(-c --continue)-c[Continue the newest conversation\: its earlier turns are sent as history (fitted to the context window).]' \
        '(-c --continue)--continue[Continue the newest conversation\: its earlier turns are sent as history (fitted to the context window).]' \
        '(--dry-run)--dry-run[Show the prompt that would be sent and its token counts; send nothing.]' \
        '(-x --extract)-x[Print only the first fenced code block of the answer (exit 11 when it has none).]' \
        '(-x --extract)--extract[Print only the first fenced code block of the answer (exit 11 when it has none).]' \
        '(--extract-last)--extract-last[Print only the last fenced code block of the answer (exit 11 when it has none).]' \
        '*-f+[A text file sent with the prompt, labelled with its name (repeatable; a binary file or one over 1 MiB is refused).]:path: ' \
        '*--file=[A text file sent with the prompt, labelled with its name (repeatable; a binary file or one over 1 MiB is refused).]:path: ' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--json)--json[Print one JSON object\: text, model, provider, usage, latency_ms, ttft_ms, cached.]' \
        '(--kind)--kind=[Content kind for the cache TTL\: code, json, chat (default\: detected).]:kind: ' \
        '(--max-tokens)--max-tokens=[Cap on answer tokens.]:n: ' \
        '(-m --model)-m+[Override the model.]:model: ' \
        '(-m --model)--model=[Override the model.]:model: ' \
        '(--no-cache)--no-cache[Neither read nor write the cache for this call.]' \
        '(--no-compress)--no-compress[Send the prompt as it is.]' \
        '(--no-log)--no-log[Keep no log of this call (default\: the profile'\''s `logs`).]' \
        '(--stdin --no-stdin)--stdin[Always wait for / never read piped stdin (default\: read it if data comes within 1s).]' \
        '(--stdin --no-stdin)--no-stdin[Always wait for / never read piped stdin (default\: read it if data comes within 1s).]' \
        '(--stream --no-stream)--stream[Stream the answer as it arrives.]' \
        '(--stream --no-stream)--no-stream[Stream the answer as it arrives.]' \
        '(-p --profile)-p+[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(-p --profile)--profile=[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(--reasoning-effort)--reasoning-effort=[How hard a reasoning model thinks\: low, medium, high (OpenAI reasoning_effort, Anthropic thinking budget, Ollama think).]:level: ' \
        '(--refresh)--refresh[Ask the provider even if cached; store the new answer.]' \
        '(--schema)--schema=[A JSON Schema (a file, or the JSON itself) the answer must follow; the answer is its JSON (exit 10 when it does not follow it).]:file|json: ' \
        '(--show-reasoning)--show-reasoning[Print the model'\''s reasoning (thinking) to stderr, dim on a terminal; stdout gets only the answer (--json\: `reasoning`).]' \
        '(-s --system)-s+[System prompt.]:text: ' \
        '(-s --system)--system=[System prompt.]:text: ' \
        '(--temperature)--temperature=[Sampling temperature.]:number: ' \
        '(-t --template)-t+[Apply the config'\''s \[templates.NAME\]\: its system, prompt ({input}\: stdin, {args}\: the prompt words) and settings; flags win.]:name: ' \
        '(-t --template)--template=[Apply the config'\''s \[templates.NAME\]\: its system, prompt ({input}\: stdin, {args}\: the prompt words) and settings; flags win.]:name: ' \
        '(--tool-choice)--tool-choice=[With --tools\: auto, required, none or a tool'\''s name.]:choice: ' \
        '(--tools)--tools=[JSON file\: a list of OpenAI-style function tools the model may call; each call is printed as one JSON line (--json\: `tool_calls`).]:file: ' \
        '*:prompt: '
}

_llmx_batch() {
    typeset -A opt_args
    _arguments \
        '(-j --concurrency)-j+[Requests in flight (default\: the profile'\''s batch.concurrency).]:n: ' \
        '(-j --concurrency)--concurrency=[Requests in flight (default\: the profile'\''s batch.concurrency).]:n: ' \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(--deadline)--deadline=[How long the run may take (e.g. 36h, 2d)\: lets --mode auto choose the Batch API.]:duration: ' \
        '(--grace)--grace=[Seconds lines in flight get to finish after Ctrl-C / SIGTERM.]:number: ' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--line-retries)--line-retries=[Extra attempts per line after transient errors (0-100).]:n: ' \
        '(--mode)--mode=[How lines are sent\: auto | direct | provider. auto\: the provider'\''s Batch API (OpenAI, Anthropic; 50 % cheaper) when --deadline allows its 24 h window and the estimated saving is at least batch.auto_min_saving, else one request per line.]:mode: ' \
        '(--no-cache)--no-cache[Neither read nor write the cache for any line.]' \
        '(-o --output)-o+[Output file (default\: stdout).]:text: ' \
        '(-o --output)--output=[Output file (default\: stdout).]:text: ' \
        '(-p --profile)-p+[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(-p --profile)--profile=[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(--provider-batch)--provider-batch[Same as --mode provider.]' \
        '(--refresh)--refresh[Ask the provider even if cached; store the new answers.]' \
        '(--resume)--resume[Skip ids already answered in the output file.]' \
        '(--rpm)--rpm=[Requests per minute at most.]:n: ' \
        '(--semantic)--semantic[Also answer lines from semantic (paraphrase) cache matches; off in batches by default.]' \
        '(--summary-json)--summary-json=[Write the summary as JSON to this file (- for stderr).]:text: ' \
        '(--tpm)--tpm=[Tokens per minute at most.]:n: ' \
        '(--unordered)--unordered[Write lines as they finish, not in input order.]' \
        ':source: '
}

_llmx_bench() {
    typeset -A opt_args
    _arguments \
        '(--connect-ms)--connect-ms=[What a new connection to the simulator costs (default 20\: TCP + TLS at a 10 ms round trip; 0\: loopback only).]:ms: ' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--json)--json[One JSON object.]' \
        '(-p --profile)-p+[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(-p --profile)--profile=[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(--quick)--quick[A shorter run (<= 30 s).]' \
        '(--targets)--targets=[Targets to compare with\: seed or pass3.]:name: ' \
        '(--yes)--yes[Don'\''t ask before spending money on a real provider.]'
}

_llmx_cache() {
    local curcontext=$curcontext state state_descr line ret=1
    typeset -A opt_args
    _arguments -C \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        ': :_llmx_cache__commands' \
        '*:: :->command' && ret=0
    if [[ $state == command ]]; then
        curcontext=${curcontext%:*:*}:llmx-cache-$words[1]:
        case $words[1] in
        (clear) _llmx_cache_clear && ret=0 ;;
        (ls) _llmx_cache_ls && ret=0 ;;
        (path) _llmx_cache_path && ret=0 ;;
        (prune) _llmx_cache_prune && ret=0 ;;
        (show) _llmx_cache_show && ret=0 ;;
        (warm) _llmx_cache_warm && ret=0 ;;
        esac
    fi
    return ret
}

_llmx_cache__commands() {
    local -a commands
    commands=(
        'clear:Delete every cached answer (and the semantic index).'
        'ls:List cached answers, newest first.'
        'path:Print the cache directory.'
        'prune:Drop expired and over-limit entries and compact the files.'
        'show:Show one cached answer.'
        'warm:Answer a JSONL file of prompts into the cache, printing no answers.'
    )
    _describe -t commands 'llmx cache command' commands
}

_llmx_cache_clear() {
    typeset -A opt_args
    _arguments \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(-y --yes)-y[Really delete everything.]' \
        '(-y --yes)--yes[Really delete everything.]'
}

_llmx_cache_ls() {
    typeset -A opt_args
    _arguments \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--json)--json[JSON lines.]' \
        '(-n --limit)-n+[How many entries.]:n: ' \
        '(-n --limit)--limit=[How many entries.]:n: '
}

_llmx_cache_path() {
    typeset -A opt_args
    _arguments \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]'
}

_llmx_cache_prune() {
    typeset -A opt_args
    _arguments \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]'
}

_llmx_cache_show() {
    typeset -A opt_args
    _arguments \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--json)--json[Print JSON.]' \
        ':key: '
}

_llmx_cache_warm() {
    typeset -A opt_args
    _arguments \
        '(-j --concurrency)-j+[Requests in flight (default\: the profile'\''s batch.concurrency).]:n: ' \
        '(-j --concurrency)--concurrency=[Requests in flight (default\: the profile'\''s batch.concurrency).]:n: ' \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(--grace)--grace=[Seconds lines in flight get to finish after Ctrl-C / SIGTERM.]:number: ' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--line-retries)--line-retries=[Extra attempts per line after transient errors (0-100).]:n: ' \
        '(-p --profile)-p+[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(-p --profile)--profile=[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(--refresh)--refresh[Ask the provider even if cached; store the new answers.]' \
        '(--rpm)--rpm=[Requests per minute at most.]:n: ' \
        '(--semantic)--semantic[Also answer lines from semantic (paraphrase) cache matches; off in batches by default.]' \
        '(--summary-json)--summary-json=[Write the summary as JSON to this file (- for stderr).]:text: ' \
        '(--tpm)--tpm=[Tokens per minute at most.]:n: ' \
        ':source: '
}

_llmx_chat() {
    typeset -A opt_args
    _arguments \
        '(--cid)--cid=[Continue the conversation with this id (or a unique prefix of it; `llmx logs` shows them).]:id: ' \
        '(--compress)--compress=[Compress the prompt\: conservative or aggressive (default\: the profile'\''s compression.mode).]:mode: ' \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(-c --continue)-c[Continue the newest conversation\: its earlier turns are sent as history (fitted to the context window).]' \
        '(-c --continue)--continue[Continue the newest conversation\: its earlier turns are sent as history (fitted to the context window).]' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--max-tokens)--max-tokens=[Cap on answer tokens.]:n: ' \
        '(-m --model)-m+[Override the model.]:model: ' \
        '(-m --model)--model=[Override the model.]:model: ' \
        '(--no-cache)--no-cache[Neither read nor write the cache for this call.]' \
        '(--no-log)--no-log[Keep no log of this call (default\: the profile'\''s `logs`).]' \
        '(-p --profile)-p+[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(-p --profile)--profile=[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(--reasoning-effort)--reasoning-effort=[How hard a reasoning model thinks\: low, medium, high (OpenAI reasoning_effort, Anthropic thinking budget, Ollama think).]:level: ' \
        '(--refresh)--refresh[Ask the provider even if cached; store the new answer.]' \
        '(--show-reasoning)--show-reasoning[Print the model'\''s reasoning (thinking) to stderr, dim on a terminal; stdout gets only the answer (--json\: `reasoning`).]' \
        '(-s --system)-s+[System prompt.]:text: ' \
        '(-s --system)--system=[System prompt.]:text: ' \
        '(--temperature)--temperature=[Sampling temperature.]:number: ' \
        '*:prompt: '
}

_llmx_completions() {
    typeset -A opt_args
    _arguments \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        ':shell:(bash fish zsh)'
}

_llmx_compress() {
    typeset -A opt_args
    _arguments \
        '(--explain)--explain[Which rules fired and the tokens each saved, on stderr.]' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--json)--json[One JSON object\: text and counts.]' \
        '(--max-tokens)--max-tokens=[Token budget\: over it, aggressive mode merges similar log templates (and says so).]:n: ' \
        '(--mode)--mode=[conservative or aggressive.]:mode: ' \
        '(-m --model)-m+[Count tokens as this model does.]:model: ' \
        '(-m --model)--model=[Count tokens as this model does.]:model: ' \
        ':source: '
}

_llmx_config() {
    local curcontext=$curcontext state state_descr line ret=1
    typeset -A opt_args
    _arguments -C \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        ': :_llmx_config__commands' \
        '*:: :->command' && ret=0
    if [[ $state == command ]]; then
        curcontext=${curcontext%:*:*}:llmx-config-$words[1]:
        case $words[1] in
        (init) _llmx_config_init && ret=0 ;;
        (path) _llmx_config_path && ret=0 ;;
        (show) _llmx_config_show && ret=0 ;;
        esac
    fi
    return ret
}

_llmx_config__commands() {
    local -a commands
    commands=(
        'init:Write a starter config file (never overwrites without --force).'
        'path:Show where llmx looks for its config and which file it uses.'
        'show:Show a resolved profile as TOML (secrets masked).'
    )
    _describe -t commands 'llmx config command' commands
}

_llmx_config_init() {
    typeset -A opt_args
    _arguments \
        '(--force)--force[Overwrite an existing file.]' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        ':path:_files'
}

_llmx_config_path() {
    typeset -A opt_args
    _arguments \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]'
}

_llmx_config_show() {
    typeset -A opt_args
    _arguments \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(-p --profile)-p+[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(-p --profile)--profile=[Profile to use (default\: default_profile).]:name:_llmx__profiles'
}

_llmx_logs() {
    local curcontext=$curcontext state state_descr line ret=1
    typeset -A opt_args
    _arguments -C \
        '(--cid)--cid=[Only this conversation (an id or a unique prefix).]:id: ' \
        '(-n --count)-n+[How many answers, the newest (0\: all).]:n: ' \
        '(-n --count)--count=[How many answers, the newest (0\: all).]:n: ' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--json)--json[One JSON object per line.]' \
        '(-q --query)-q+[Only answers whose prompt, answer or system prompt hold every word.]:text: ' \
        '(-q --query)--query=[Only answers whose prompt, answer or system prompt hold every word.]:text: ' \
        ': :_llmx_logs__commands' \
        '*:: :->command' && ret=0
    if [[ $state == command ]]; then
        curcontext=${curcontext%:*:*}:llmx-logs-$words[1]:
        case $words[1] in
        (path) _llmx_logs_path && ret=0 ;;
        esac
    fi
    return ret
}

_llmx_logs__commands() {
    local -a commands
    commands=(
        'path:Print where the logs database is.'
    )
    _describe -t commands 'llmx logs command' commands
}

_llmx_logs_path() {
    typeset -A opt_args
    _arguments \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]'
}

_llmx_profiles() {
    typeset -A opt_args
    _arguments \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]'
}

_llmx_serve() {
    typeset -A opt_args
    _arguments \
        '*--api-key-env=[Environment variable holding the client key(s), comma separated; repeatable. Required off loopback.]:var: ' \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--host)--host=[Address to listen on.]:host: ' \
        '(--port)--port=[Port (0 = a free one).]:port: ' \
        '(-p --profile)-p+[Profile to use (default\: default_profile).]:name:_llmx__profiles' \
        '(-p --profile)--profile=[Profile to use (default\: default_profile).]:name:_llmx__profiles'
}

_llmx_sim() {
    typeset -A opt_args
    _arguments \
        '(--batch-delay-s)--batch-delay-s=[How long a provider batch takes.]:seconds: ' \
        '(--connect-delay-ms)--connect-delay-ms=[Set-up time of each new connection.]:ms: ' \
        '(--cut-rate)--cut-rate=[Share of connections cut mid-answer.]:share: ' \
        '(--fail-rate)--fail-rate=[Share of 500/503 answers.]:share: ' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--idle-close-ms)--idle-close-ms=[Close connections idle this long (0 = never).]:ms: ' \
        '(--inband-error-rate)--inband-error-rate=[Share of answers ended by an in-band error.]:share: ' \
        '(--jitter)--jitter=[Relative jitter on delays, 0..1.]:share: ' \
        '(--latency-ms)--latency-ms=[Added latency before the answer.]:ms: ' \
        '(--midstream-stall-rate)--midstream-stall-rate=[Share of answers that go silent part-way.]:share: ' \
        '(--per-input-token-ms)--per-input-token-ms=[Cost per input token.]:ms: ' \
        '(--port)--port=[Port (0 = a free one).]:port: ' \
        '(--rate-limit-rate)--rate-limit-rate=[Share of 429 answers.]:share: ' \
        '(--refusal-rate)--refusal-rate=[Share of refusals.]:share: ' \
        '(--seed)--seed=[Seed for answers and faults.]:n: ' \
        '(--stall-rate)--stall-rate=[Share of requests never answered.]:share: ' \
        '(--tokens-per-s)--tokens-per-s=[Output pace (0 = instant).]:rate: ' \
        '(--ttft-ms)--ttft-ms=[Time to first token.]:ms: '
}

_llmx_stats() {
    typeset -A opt_args
    _arguments \
        '(--by)--by=[Group by `model` or `profile`.]:field: ' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--json)--json[Print one JSON object.]' \
        '(--since)--since=[Only records newer than this, e.g. 30m, 24h, 7d.]:age: '
}

_llmx_templates() {
    typeset -A opt_args
    _arguments \
        '(--config)--config=[Config file (default\: $LLMX_CONFIG, ./llmx.toml, $XDG_CONFIG_HOME/llmx/config.toml).]:path:_files' \
        '(-h --help)-h[Show this message and exit.]' \
        '(-h --help)--help[Show this message and exit.]' \
        '(--json)--json[Every key of each template, as one JSON object.]'
}

if [[ ${zsh_eval_context[-1]-} == loadautofunc ]]; then
    _llmx "$@"
else
    compdef _llmx llmx
fi
