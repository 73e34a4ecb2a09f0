# bash completion for tcpproxy(1). Its option list is held to the option table
# (src/TcpProxy.Cli/OptionTable.cs) by ManPageTests.
_tcpproxy()
{
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        --log-format) COMPREPLY=($(compgen -W 'text json' -- "$cur")); return ;;
        --send-proxy) COMPREPLY=($(compgen -W 'v1 v2' -- "$cur")); return ;;
        --poller) COMPREPLY=($(compgen -W 'auto epoll kqueue poll' -- "$cur")); return ;;
        --reactors) COMPREPLY=($(compgen -W 'auto 1 2 4 8' -- "$cur")); return ;;
        --splice) COMPREPLY=($(compgen -W 'off on auto' -- "$cur")); return ;;
        --access-log) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --buffer-size|--buffer-memory|--stall-timeout|--connect-timeout|--resolve-interval|\
        --idle-timeout|--drain-timeout|--upgrade-timeout|--max-connections|--metrics|--bind) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W '--buffer-size --buffer-memory --stall-timeout --connect-timeout
            --resolve-interval --idle-timeout --drain-timeout --upgrade-timeout --max-connections --access-log --log-format
            --metrics --send-proxy --bind --poller --reactors --splice --verbose -v --quiet -q --help -h
            --version' -- "$cur"))
    elif [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -A hostname -- "$cur"))
    fi
}
complete -F _tcpproxy tcpproxy
