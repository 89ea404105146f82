# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_novita_proxy_global_optspecs
    string join \n domain= port= url= connect-to= H/header= traffic-token= cacert= connect-timeout= ping-interval= ping-timeout= wait= proxy= no-proxy api-url= api-key-file= no-api name-key= ttl= keepalive= no-quota-warning v/verbose log-file= generate= h/help V/version
end

function __fish_novita_proxy_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_novita_proxy_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_novita_proxy_using_subcommand
    set -l cmd (__fish_novita_proxy_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l domain -d 'The sandbox domain: the URL is wss://<port>-<id>.<domain>/. The legacy domain of the older documentation is sandbox.novita.ai' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l port -d 'The sandbox port the WebSocket bridge listens on' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l url -d 'The whole WebSocket URL instead of the one built from HOST, --port and --domain (ws:// or wss://). "{id}" is replaced by the sandbox ID from HOST and "{port}" by --port, e.g. wss://{port}-{id}.example.com/ or ws://127.0.0.1:8081/. With --url, HOST is always read as a sandbox ID, never as a name' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l connect-to -d 'Open the TCP connection to HOST:PORT instead of the URL\'s host, while keeping the URL\'s host for TLS (SNI and certificate check) and the Host header, like curl\'s --connect-to. Through a proxy, this is the CONNECT destination' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -s H -l header -d 'An extra HTTP header for the WebSocket upgrade request, as \'Name: value\'. Repeatable. Headers of the upgrade itself (Host, Upgrade, Sec-WebSocket-*) cannot be set' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l traffic-token -d 'The traffic access token of a private sandbox, sent as the e2b-traffic-access-token header. Without it, a private sandbox answers 403' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l cacert -d 'A PEM file with extra CA certificates to trust (a corporate TLS proxy, a test CA), for the sandbox edge and an https:// proxy alike; repeat it for several files. The bundled Mozilla roots and the OS trust store are always trusted (SSL_CERT_FILE and SSL_CERT_DIR replace the OS store, as in OpenSSL); verification can not be turned off' -r -F
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l connect-timeout -d 'Give up opening the connection (DNS, TCP, proxy, TLS and the WebSocket upgrade) after this many seconds' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l ping-interval -d 'Send a WebSocket ping after this many seconds; 0 turns pings off. Pings keep idle connections open through edges and proxies and detect a dead connection' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l ping-timeout -d 'Exit with code 9 ("connection to the sandbox was lost") when nothing, not even a pong, arrived for this many seconds. Default: three ping intervals' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l wait -d 'Keep retrying for up to this many seconds, with backoff, while the connection fails before the WebSocket opens in a way that can pass: DNS failure, refused connection, 502/503/504 while a sandbox starts. Never retries once bytes flowed' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l proxy -d 'Connect through this HTTP proxy with CONNECT: http://[user:password@]host:port or https://... . Replaces HTTPS_PROXY/https_proxy/ALL_PROXY/all_proxy (used when this flag is absent); NO_PROXY/no_proxy still apply, with curl\'s rules' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l api-url -d 'The Novita API\'s base URL. Default: https://api.<domain>. With an API key (NOVITA_API_KEY, or the key file `novita-sshconfig login` writes), HOST may be a sandbox name, and the sandbox is resumed, its traffic token fetched and its timeout extended while connected' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l api-key-file -d 'The API key file (one line, mode 0600; a file others can read is refused). Default: ~/.ssh/novita/api_key. NOVITA_API_KEY, when set, is used instead. The key itself is never accepted on the command line' -r -F
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l name-key -d 'The metadata key that holds sandbox names: `ssh NAME.novita` reaches the one running or paused sandbox whose metadata has KEY=NAME' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l ttl -d 'The time to live to ask for: on connecting, and at every keep-alive, the sandbox is made to live at least this many seconds from then (never shortened)' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l keepalive -d 'Extend the sandbox\'s time to live every SECS seconds while connected (default: a third of --ttl); 0 turns the keep-alive off, so the sandbox ends or pauses on its own schedule even during a session' -r
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l log-file -d 'Append the log to this file instead of stderr (at least -v level). The final error line still goes to stderr too' -r -F
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l generate -d 'Print a man page or a shell completion script to stdout (for packaging)' -r -f -a "man\t'The man page (roff)'
complete-bash\t'A bash completion script'
complete-zsh\t'A zsh completion script'
complete-fish\t'A fish completion script'"
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l no-proxy -d 'Connect directly, ignoring --proxy and the proxy environment variables'
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l no-api -d 'Never call the Novita API, even with a key: HOST must be a sandbox ID, and the sandbox is neither resumed nor kept alive'
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -l no-quota-warning -d 'Do not warn when the account\'s maximum sandbox length is about to end the session'
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -s v -l verbose -d 'Log what happens to stderr (-v: connection steps; -vv: details, with the TLS library\'s own)'
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -s V -l version -d 'Print version'
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -a "serve" -d 'Accept WebSocket connections and bridge each one to a TCP address (run this in the sandbox)'
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -a "known-hosts" -d 'Print a sandbox\'s host keys as the Novita platform reports them, as known_hosts lines (for ssh\'s KnownHostsCommand)'
complete -c novita-proxy -n "__fish_novita_proxy_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -l listen -d 'The address to accept WebSocket connections on, e.g. 0.0.0.0:8081' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -l to -d 'The TCP address each WebSocket is bridged to, e.g. 127.0.0.1:22' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -l handshake-timeout -d 'Close connections that have not completed the WebSocket handshake after this many seconds' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -l connect-timeout -d 'Give up connecting to --to after this many seconds (the client then gets 502)' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -l max-connections -d 'At most this many connections at once (handshaking or bridging), which bounds memory under a flood. When full, the oldest unfinished handshake is dropped to make room for a new connection; when all are bridged, new ones are closed at once' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -l max-message-size -d 'Close a WebSocket (code 1009) that sends a message longer than this many bytes' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -l ping-interval -d 'Send a ping to each client after this many seconds of the interval; 0 (the default) sends none: clients such as novita-proxy ping on their own' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -l ping-timeout -d 'With --ping-interval, close a connection from which nothing arrived for this many seconds. Default: three ping intervals' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -l log-file -d 'Append the log to this file instead of stderr' -r -F
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -s v -l verbose -d 'Log one line per connection (-v) and details (-vv) to stderr'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l domain -d 'The sandbox domain: the URL is wss://<port>-<id>.<domain>/. The legacy domain of the older documentation is sandbox.novita.ai' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l port -d 'The sandbox port the WebSocket bridge listens on' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l url -d 'The whole WebSocket URL instead of the one built from HOST, --port and --domain (ws:// or wss://). "{id}" is replaced by the sandbox ID from HOST and "{port}" by --port, e.g. wss://{port}-{id}.example.com/ or ws://127.0.0.1:8081/. With --url, HOST is always read as a sandbox ID, never as a name' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l connect-to -d 'Open the TCP connection to HOST:PORT instead of the URL\'s host, while keeping the URL\'s host for TLS (SNI and certificate check) and the Host header, like curl\'s --connect-to. Through a proxy, this is the CONNECT destination' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -s H -l header -d 'An extra HTTP header for the WebSocket upgrade request, as \'Name: value\'. Repeatable. Headers of the upgrade itself (Host, Upgrade, Sec-WebSocket-*) cannot be set' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l traffic-token -d 'The traffic access token of a private sandbox, sent as the e2b-traffic-access-token header. Without it, a private sandbox answers 403' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l cacert -d 'A PEM file with extra CA certificates to trust (a corporate TLS proxy, a test CA), for the sandbox edge and an https:// proxy alike; repeat it for several files. The bundled Mozilla roots and the OS trust store are always trusted (SSL_CERT_FILE and SSL_CERT_DIR replace the OS store, as in OpenSSL); verification can not be turned off' -r -F
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l connect-timeout -d 'Give up opening the connection (DNS, TCP, proxy, TLS and the WebSocket upgrade) after this many seconds' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l ping-interval -d 'Send a WebSocket ping after this many seconds; 0 turns pings off. Pings keep idle connections open through edges and proxies and detect a dead connection' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l ping-timeout -d 'Exit with code 9 ("connection to the sandbox was lost") when nothing, not even a pong, arrived for this many seconds. Default: three ping intervals' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l wait -d 'Keep retrying for up to this many seconds, with backoff, while the connection fails before the WebSocket opens in a way that can pass: DNS failure, refused connection, 502/503/504 while a sandbox starts. Never retries once bytes flowed' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l proxy -d 'Connect through this HTTP proxy with CONNECT: http://[user:password@]host:port or https://... . Replaces HTTPS_PROXY/https_proxy/ALL_PROXY/all_proxy (used when this flag is absent); NO_PROXY/no_proxy still apply, with curl\'s rules' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l api-url -d 'The Novita API\'s base URL. Default: https://api.<domain>. With an API key (NOVITA_API_KEY, or the key file `novita-sshconfig login` writes), HOST may be a sandbox name, and the sandbox is resumed, its traffic token fetched and its timeout extended while connected' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l api-key-file -d 'The API key file (one line, mode 0600; a file others can read is refused). Default: ~/.ssh/novita/api_key. NOVITA_API_KEY, when set, is used instead. The key itself is never accepted on the command line' -r -F
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l name-key -d 'The metadata key that holds sandbox names: `ssh NAME.novita` reaches the one running or paused sandbox whose metadata has KEY=NAME' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l ttl -d 'The time to live to ask for: on connecting, and at every keep-alive, the sandbox is made to live at least this many seconds from then (never shortened)' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l keepalive -d 'Extend the sandbox\'s time to live every SECS seconds while connected (default: a third of --ttl); 0 turns the keep-alive off, so the sandbox ends or pauses on its own schedule even during a session' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l log-file -d 'Append the log to this file instead of stderr (at least -v level). The final error line still goes to stderr too' -r -F
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l invocation -d 'Which lookup ssh makes (%I): ORDER (before the key exchange: recorded keys only, no network), HOSTNAME (the keys, fetched when not recorded; the default) or ADDRESS (nothing: sandboxes have no address of their own)' -r -f -a "ORDER\t''
HOSTNAME\t''
ADDRESS\t''"
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l offered -d 'The host key the sandbox offered, in base64 (%K; NONE when there is none yet). A key the platform does not report for the sandbox is refused with one line saying so (exit 20), instead of ssh\'s REMOTE HOST IDENTIFICATION HAS CHANGED' -r
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l no-proxy -d 'Connect directly, ignoring --proxy and the proxy environment variables'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l no-api -d 'Never call the Novita API, even with a key: HOST must be a sandbox ID, and the sandbox is neither resumed nor kept alive'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -l no-quota-warning -d 'Do not warn when the account\'s maximum sandbox length is about to end the session'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -s v -l verbose -d 'Log what happens to stderr (-v: connection steps; -vv: details, with the TLS library\'s own)'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand known-hosts" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand help; and not __fish_seen_subcommand_from serve known-hosts help" -f -a "serve" -d 'Accept WebSocket connections and bridge each one to a TCP address (run this in the sandbox)'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand help; and not __fish_seen_subcommand_from serve known-hosts help" -f -a "known-hosts" -d 'Print a sandbox\'s host keys as the Novita platform reports them, as known_hosts lines (for ssh\'s KnownHostsCommand)'
complete -c novita-proxy -n "__fish_novita_proxy_using_subcommand help; and not __fish_seen_subcommand_from serve known-hosts help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
