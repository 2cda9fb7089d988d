# bash completion for llmx
# Generated from the Typer app by `python -m llmx.cli.completions`; do not edit.
# Use: `source` this file, or copy it to ~/.local/share/bash-completion/completions/llmx

# Profile names: the built-in ones and the [profiles.NAME] tables of the config file
# llmx would read ($1: the --config value on the command line, if any).
_llmx__profiles() {
    local file=${1-}
    if [[ -z $file ]]; then
        if [[ -n ${LLMX_CONFIG-} ]]; then file=$LLMX_CONFIG
        elif [[ -f llmx.toml ]]; then file=llmx.toml
        elif [[ ${XDG_CONFIG_HOME-} == /* ]]; then file=$XDG_CONFIG_HOME/llmx/config.toml
        else file=$HOME/.config/llmx/config.toml
        fi
    fi
    [[ $file == '~/'* ]] && file=$HOME/${file#'~/'}
    { printf '%s\n' sim
      [[ -r $file ]] && sed -n -E 's/^[[:space:]]*\[[[:space:]]*profiles[[:space:]]*\.[[:space:]]*"?([A-Za-z0-9_-]+)"?[[:space:]]*[].].*/\1/p' "$file"; } | sort -u
}

# Sets subs (subcommands), opts (options) and valued (options taking a value)
# for the command path $1 ('' for llmx itself, 'config show' for `llmx config show`).
_llmx__spec() {
    case $1 in
        '') subs='ask batch bench cache chat completions compress config logs profiles serve sim stats templates' opts='--config --help --version -V -h' valued='--config' ;;
        'ask') subs='' opts='--attach --cid --compress --config --continue --dry-run --extract --extract-last --file --help --json --kind --max-tokens --model --no-cache --no-compress --no-log --no-stdin --no-stream --profile --reasoning-effort --refresh --schema --show-reasoning --stdin --stream --system --temperature --template --tool-choice --tools -a -c -f -h -m -p -s -t -x' valued='--attach --cid --compress --config --file --kind --max-tokens --model --profile --reasoning-effort --schema --system --temperature --template --tool-choice --tools -a -f -m -p -s -t' ;;
        'batch') subs='' opts='--concurrency --config --deadline --grace --help --line-retries --mode --no-cache --output --profile --provider-batch --refresh --resume --rpm --semantic --summary-json --tpm --unordered -h -j -o -p' valued='--concurrency --config --deadline --grace --line-retries --mode --output --profile --rpm --summary-json --tpm -j -o -p' ;;
        'bench') subs='' opts='--connect-ms --help --json --profile --quick --targets --yes -h -p' valued='--connect-ms --profile --targets -p' ;;
        'cache') subs='clear ls path prune show warm' opts='--help -h' valued='' ;;
        'cache clear') subs='' opts='--help --yes -h -y' valued='' ;;
        'cache ls') subs='' opts='--help --json --limit -h -n' valued='--limit -n' ;;
        'cache path') subs='' opts='--help -h' valued='' ;;
        'cache prune') subs='' opts='--help -h' valued='' ;;
        'cache show') subs='' opts='--help --json -h' valued='' ;;
        'cache warm') subs='' opts='--concurrency --config --grace --help --line-retries --profile --refresh --rpm --semantic --summary-json --tpm -h -j -p' valued='--concurrency --config --grace --line-retries --profile --rpm --summary-json --tpm -j -p' ;;
        'chat') subs='' opts='--cid --compress --config --continue --help --max-tokens --model --no-cache --no-log --profile --reasoning-effort --refresh --show-reasoning --system --temperature -c -h -m -p -s' valued='--cid --compress --config --max-tokens --model --profile --reasoning-effort --system --temperature -m -p -s' ;;
        'completions') subs='' opts='--help -h' valued='' ;;
        'compress') subs='' opts='--explain --help --json --max-tokens --mode --model -h -m' valued='--max-tokens --mode --model -m' ;;
        'config') subs='init path show' opts='--help -h' valued='' ;;
        'config init') subs='' opts='--force --help -h' valued='' ;;
        'config path') subs='' opts='--config --help -h' valued='--config' ;;
        'config show') subs='' opts='--config --help --profile -h -p' valued='--config --profile -p' ;;
        'logs') subs='path' opts='--cid --count --help --json --query -h -n -q' valued='--cid --count --query -n -q' ;;
        'logs path') subs='' opts='--help -h' valued='' ;;
        'profiles') subs='' opts='--config --help -h' valued='--config' ;;
        'serve') subs='' opts='--api-key-env --config --help --host --port --profile -h -p' valued='--api-key-env --config --host --port --profile -p' ;;
        'sim') subs='' opts='--batch-delay-s --connect-delay-ms --cut-rate --fail-rate --help --idle-close-ms --inband-error-rate --jitter --latency-ms --midstream-stall-rate --per-input-token-ms --port --rate-limit-rate --refusal-rate --seed --stall-rate --tokens-per-s --ttft-ms -h' valued='--batch-delay-s --connect-delay-ms --cut-rate --fail-rate --idle-close-ms --inband-error-rate --jitter --latency-ms --midstream-stall-rate --per-input-token-ms --port --rate-limit-rate --refusal-rate --seed --stall-rate --tokens-per-s --ttft-ms' ;;
        'stats') subs='' opts='--by --help --json --since -h' valued='--by --since' ;;
        'templates') subs='' opts='--config --help --json -h' valued='--config' ;;
        *) subs='' opts='' valued='' ;;
    esac
}

# Sets kind (files, profiles, words or none) and words for the value of option $2
# of command path $1; $2 = '' means the command's arguments.
_llmx__values() {
    kind=none words=''
    case "$1:$2" in
        ':--config') kind=files ;;
        'ask:--config') kind=files ;;
        'ask:--profile') kind=profiles ;;
        'ask:-p') kind=profiles ;;
        'batch:--config') kind=files ;;
        'batch:--profile') kind=profiles ;;
        'batch:-p') kind=profiles ;;
        'bench:--profile') kind=profiles ;;
        'bench:-p') kind=profiles ;;
        'cache warm:--config') kind=files ;;
        'cache warm:--profile') kind=profiles ;;
        'cache warm:-p') kind=profiles ;;
        'chat:--config') kind=files ;;
        'chat:--profile') kind=profiles ;;
        'chat:-p') kind=profiles ;;
        'completions:') kind=words words='bash fish zsh' ;;
        'config init:') kind=files ;;
        'config path:--config') kind=files ;;
        'config show:--config') kind=files ;;
        'config show:--profile') kind=profiles ;;
        'config show:-p') kind=profiles ;;
        'profiles:--config') kind=files ;;
        'serve:--config') kind=files ;;
        'serve:--profile') kind=profiles ;;
        'serve:-p') kind=profiles ;;
        'templates:--config') kind=files ;;
    esac
}

_llmx() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd='' config='' pending='' word i=1
    local subs opts valued kind words
    COMPREPLY=()
    while ((i < COMP_CWORD)); do
        word=${COMP_WORDS[i]}
        _llmx__spec "$cmd"
        if [[ $word == -* ]]; then
            if [[ " $valued " == *" $word "* ]]; then
                ((i++))
                if ((i < COMP_CWORD)) && [[ ${COMP_WORDS[i]} == = ]]; then ((i++)); fi
                if ((i >= COMP_CWORD)); then pending=$word; break; fi
                [[ $word == --config ]] && config=${COMP_WORDS[i]}
            fi
        elif [[ " $subs " == *" $word "* ]]; then
            cmd=${cmd:+$cmd }$word
        fi
        ((i++))
    done
    _llmx__spec "$cmd"
    if [[ -n $pending ]]; then
        [[ $cur == = ]] && cur=''
        _llmx__values "$cmd" "$pending"
    elif [[ $cur == -* ]]; then
        kind=words words=$opts
    elif [[ -n $subs ]]; then
        kind=words words=$subs
    else
        _llmx__values "$cmd" ''
    fi
    case $kind in
        files) compopt -o filenames 2>/dev/null
               mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        profiles) mapfile -t COMPREPLY < <(compgen -W "$(_llmx__profiles "$config")" -- "$cur") ;;
        words) mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur") ;;
    esac
    return 0
}

complete -F _llmx llmx
