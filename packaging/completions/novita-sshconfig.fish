# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_novita_sshconfig_global_optspecs
    string join \n v/verbose y/yes generate= h/help V/version
end

function __fish_novita_sshconfig_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_novita_sshconfig_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_novita_sshconfig_using_subcommand
    set -l cmd (__fish_novita_sshconfig_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -l generate -d 'Print a man page or a shell completion script on stdout, for packaging' -r -f -a "man\t'The man page (roff)'
complete-bash\t'A bash completion script'
complete-zsh\t'A zsh completion script'
complete-fish\t'A fish completion script'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -s V -l version -d 'Print version'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "init" -d 'Set everything up: create the key if absent, install the ssh config, write the template files, and print the next steps. A second run changes nothing and says so'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "keygen" -d 'Create the kit\'s ed25519 key at ~/.ssh/novita/id_ed25519 (and .pub), or use an existing pair with --key. An existing key is never overwritten'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "config" -d 'Install, remove or show the ssh config'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "login" -d 'Store your Novita API key in ~/.ssh/novita/api_key (mode 0600), where novita-proxy finds it even when VS Code starts it without your environment. The key is read from a prompt that does not echo it, or from stdin when stdin is not a terminal (`novita-sshconfig login < keyfile`); never from the command line. The API is asked first whether it accepts the key. A different stored key is replaced only after you confirm, or with --yes'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "logout" -d 'Delete the stored API key (~/.ssh/novita/api_key). NOVITA_API_KEY, when set, still applies'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "create" -d 'Create a sandbox from the kit\'s template, named NAME: then `ssh NAME.novita` reaches it. Refused when a running or paused sandbox already has that name'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "add" -d 'Name a sandbox: `ssh ALIAS.novita` then reaches SANDBOX_ID. Adding an existing alias replaces it'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "remove" -d 'Remove a named host'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "list" -d 'List your running and paused sandboxes (ID, name, state, template, end time) and the named hosts. Without an API key, only the named hosts'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "ls" -d 'List your running and paused sandboxes (ID, name, state, template, end time) and the named hosts. Without an API key, only the named hosts'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "pause" -d 'Pause a sandbox: its memory and files are kept, open sessions end. `ssh NAME.novita` (or `resume`) resumes it'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "resume" -d 'Resume a paused sandbox (a running one gets its time to live extended)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "start" -d 'Resume a paused sandbox (a running one gets its time to live extended)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "delete" -d 'Kill a sandbox: it and its files are gone for good. Asks first on a terminal'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "kill" -d 'Kill a sandbox: it and its files are gone for good. Asks first on a terminal'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "template" -d 'Write the sandbox template (template.ts + build.ts, or template.py + build.py) that makes sshd key-only, authorizes your public key and runs the WebSocket bridge'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "doctor" -d 'Check the setup, one line per check with the fix: novita-proxy, the key, the Include, what `ssh -G HOST` really uses, the OpenSSH version; with --connect, the sandbox'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l ssh-config -d 'The ssh config to put the Include into (default: ~/.ssh/config, or the one used at install time)' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l domain -d 'The sandbox domain: sandboxes are reached at wss://8081-<id>.<DOMAIN>/ [default: us-phx-1.sandbox.novita.ai; the older docs use sandbox.novita.ai]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l url -d 'A whole ws:// or wss:// URL instead of the domain, with optional {id} and {port} placeholders (a self-hosted bridge, another port)' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l proxy -d 'An HTTP(S) proxy novita-proxy connects through, e.g. http://proxy.corp:3128 (user:password@ allowed; it is then stored in ~/.ssh/novita/config, mode 0600)' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l cacert -d 'Extra CA certificates (PEM) novita-proxy trusts; for private edges and tests' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l connect-to -d 'Connect to HOST:PORT instead of the URL\'s host, keeping the name for TLS and the Host header (like curl\'s --connect-to); for tests' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l api -d 'Whether novita-proxy calls the Novita API. On (the default) it finds sandboxes by name, resumes paused ones, fetches a private sandbox\'s traffic token and keeps the sandbox alive while connected (with the API key from `novita-sshconfig login`); off, it never calls the API (sandbox IDs only, no key needed)' -r -f -a "on\t'On'
off\t'Off'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l api-url -d 'The API\'s base URL [default: https://api.<DOMAIN>]; http:// is accepted, for a self-hosted or test API' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l name-key -d 'The metadata key whose value is a sandbox\'s name: `ssh NAME.novita` reaches the sandbox whose metadata has KEY=NAME [default: name]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l ttl -d 'The time to live novita-proxy asks the API for when it connects and at each keepalive: the sandbox ends (or pauses) that many seconds after the session ends [default: 600; at most 2592000, 30 days]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l keepalive -d 'Seconds between the keepalives that extend the sandbox\'s time to live while a session is open; 0 turns them off [default: a third of the time to live]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l quota-warning -d 'Whether novita-proxy warns (one line on stderr, which ssh shows) before the account\'s maximum sandbox length ends a session [default: on]' -r -f -a "on\t'On'
off\t'Off'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l user -d 'The default login user in sandboxes' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l proxy-command-path -d 'The novita-proxy the ProxyCommand runs [default: the first on PATH (not resolved through symlinks, so upgrades keep working), else the one next to this program]' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l passphrase-file -d 'Read the passphrase for the new key from the first line of FILE. Without it, a terminal prompts (empty for none) unless --yes is given' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l key -d 'Use this existing private key (its .pub beside it) instead of ~/.ssh/novita/id_ed25519' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l lang -d 'The language of the template files' -r -f -a "ts\t'`template.ts` and `build.ts`'
python\t'`template.py` and `build.py`'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l out -d 'The folder the template files go into' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l bridge -d 'What forwards the sandbox\'s port 8081 to sshd' -r -f -a "websocat\t'`websocat -b --exit-on-eof ws-l:0.0.0.0:8081 tcp:127.0.0.1:22`, as Novita documents'
novita-proxy\t'`novita-proxy serve --listen 0.0.0.0:8081 --to 127.0.0.1:22`'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l bridge-url -d 'Where the sandbox downloads the bridge binary (http or https). Required with --bridge novita-proxy; websocat defaults to its 1.14.1 release for x86_64 Linux' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l dry-run -d 'Show a unified diff of every file that would change, and change nothing'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -l no-template -d 'Do not write the template files'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand keygen" -l passphrase-file -d 'Read the passphrase for the new key from the first line of FILE. Without it, a terminal prompts (empty for none) unless --yes is given' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand keygen" -l key -d 'Use this existing private key (its .pub beside it) instead of ~/.ssh/novita/id_ed25519' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand keygen" -l force -d 'Move an existing ~/.ssh/novita/id_ed25519 pair aside (renamed with a UTC timestamp) and make a new one'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand keygen" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand keygen" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand keygen" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and not __fish_seen_subcommand_from install uninstall show help" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and not __fish_seen_subcommand_from install uninstall show help" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and not __fish_seen_subcommand_from install uninstall show help" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and not __fish_seen_subcommand_from install uninstall show help" -f -a "install" -d 'Write ~/.ssh/novita/config and the marked Include section at the top of ~/.ssh/config. Every other byte of ~/.ssh/config stays as it was; a previous version is kept as config.novita-ssh.bak beside it'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and not __fish_seen_subcommand_from install uninstall show help" -f -a "uninstall" -d 'Remove the marked section from ~/.ssh/config (which is then byte for byte what it was before), ~/.ssh/novita/config and settings.json. Keys (the API key too) stay unless --purge-keys'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and not __fish_seen_subcommand_from install uninstall show help" -f -a "show" -d 'Show the kit\'s config and whether ~/.ssh/config includes it. Never writes'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and not __fish_seen_subcommand_from install uninstall show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l ssh-config -d 'The ssh config to put the Include into (default: ~/.ssh/config, or the one used at install time)' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l domain -d 'The sandbox domain: sandboxes are reached at wss://8081-<id>.<DOMAIN>/ [default: us-phx-1.sandbox.novita.ai; the older docs use sandbox.novita.ai]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l url -d 'A whole ws:// or wss:// URL instead of the domain, with optional {id} and {port} placeholders (a self-hosted bridge, another port)' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l proxy -d 'An HTTP(S) proxy novita-proxy connects through, e.g. http://proxy.corp:3128 (user:password@ allowed; it is then stored in ~/.ssh/novita/config, mode 0600)' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l cacert -d 'Extra CA certificates (PEM) novita-proxy trusts; for private edges and tests' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l connect-to -d 'Connect to HOST:PORT instead of the URL\'s host, keeping the name for TLS and the Host header (like curl\'s --connect-to); for tests' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l api -d 'Whether novita-proxy calls the Novita API. On (the default) it finds sandboxes by name, resumes paused ones, fetches a private sandbox\'s traffic token and keeps the sandbox alive while connected (with the API key from `novita-sshconfig login`); off, it never calls the API (sandbox IDs only, no key needed)' -r -f -a "on\t'On'
off\t'Off'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l api-url -d 'The API\'s base URL [default: https://api.<DOMAIN>]; http:// is accepted, for a self-hosted or test API' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l name-key -d 'The metadata key whose value is a sandbox\'s name: `ssh NAME.novita` reaches the sandbox whose metadata has KEY=NAME [default: name]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l ttl -d 'The time to live novita-proxy asks the API for when it connects and at each keepalive: the sandbox ends (or pauses) that many seconds after the session ends [default: 600; at most 2592000, 30 days]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l keepalive -d 'Seconds between the keepalives that extend the sandbox\'s time to live while a session is open; 0 turns them off [default: a third of the time to live]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l quota-warning -d 'Whether novita-proxy warns (one line on stderr, which ssh shows) before the account\'s maximum sandbox length ends a session [default: on]' -r -f -a "on\t'On'
off\t'Off'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l user -d 'The default login user in sandboxes' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l proxy-command-path -d 'The novita-proxy the ProxyCommand runs [default: the first on PATH (not resolved through symlinks, so upgrades keep working), else the one next to this program]' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -l dry-run -d 'Show a unified diff of every file that would change, and change nothing'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from uninstall" -l ssh-config -d 'The ssh config to put the Include into (default: ~/.ssh/config, or the one used at install time)' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from uninstall" -l dry-run -d 'Show a unified diff of every file that would change, and change nothing'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from uninstall" -l purge-keys -d 'Also delete the kit\'s key pair, known_hosts and the API key (and ~/.ssh/novita when empty)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from uninstall" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from uninstall" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from show" -l ssh-config -d 'The ssh config to inspect (default: ~/.ssh/config, or the one used at install time)' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from show" -l dry-run -d 'Accepted for symmetry with install and uninstall; show never writes'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "install" -d 'Write ~/.ssh/novita/config and the marked Include section at the top of ~/.ssh/config. Every other byte of ~/.ssh/config stays as it was; a previous version is kept as config.novita-ssh.bak beside it'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Remove the marked section from ~/.ssh/config (which is then byte for byte what it was before), ~/.ssh/novita/config and settings.json. Keys (the API key too) stay unless --purge-keys'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the kit\'s config and whether ~/.ssh/config includes it. Never writes'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand login" -l no-verify -d 'Store the key without asking the API whether it accepts it (offline)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand login" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand login" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand login" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand logout" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand logout" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand logout" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand create" -l template -d 'The template to create it from: the one `novita-sshconfig template` writes is registered as novita-ssh' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand create" -l ttl -d 'Seconds the sandbox lives before it ends (or pauses, with --auto-pause); connecting with ssh extends it [default: the configured --ttl, else 600]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand create" -l metadata -d 'More metadata, KEY=VALUE (repeatable)' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand create" -l auto-pause -d 'Pause instead of ending when the time to live runs out; `ssh NAME.novita` resumes it'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand create" -l auto-resume -d 'Resume a paused sandbox when traffic reaches it (region domains only)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand create" -l private -d 'Accept traffic only with the sandbox\'s traffic access token (novita-proxy fetches it through the API when it connects)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand create" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand create" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand create" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l domain -d 'The sandbox domain: sandboxes are reached at wss://8081-<id>.<DOMAIN>/ [default: us-phx-1.sandbox.novita.ai; the older docs use sandbox.novita.ai]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l url -d 'A whole ws:// or wss:// URL instead of the domain, with optional {id} and {port} placeholders (a self-hosted bridge, another port)' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l proxy -d 'An HTTP(S) proxy novita-proxy connects through, e.g. http://proxy.corp:3128 (user:password@ allowed; it is then stored in ~/.ssh/novita/config, mode 0600)' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l cacert -d 'Extra CA certificates (PEM) novita-proxy trusts; for private edges and tests' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l connect-to -d 'Connect to HOST:PORT instead of the URL\'s host, keeping the name for TLS and the Host header (like curl\'s --connect-to); for tests' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l api -d 'Whether novita-proxy calls the Novita API. On (the default) it finds sandboxes by name, resumes paused ones, fetches a private sandbox\'s traffic token and keeps the sandbox alive while connected (with the API key from `novita-sshconfig login`); off, it never calls the API (sandbox IDs only, no key needed)' -r -f -a "on\t'On'
off\t'Off'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l api-url -d 'The API\'s base URL [default: https://api.<DOMAIN>]; http:// is accepted, for a self-hosted or test API' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l name-key -d 'The metadata key whose value is a sandbox\'s name: `ssh NAME.novita` reaches the sandbox whose metadata has KEY=NAME [default: name]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l ttl -d 'The time to live novita-proxy asks the API for when it connects and at each keepalive: the sandbox ends (or pauses) that many seconds after the session ends [default: 600; at most 2592000, 30 days]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l keepalive -d 'Seconds between the keepalives that extend the sandbox\'s time to live while a session is open; 0 turns them off [default: a third of the time to live]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l quota-warning -d 'Whether novita-proxy warns (one line on stderr, which ssh shows) before the account\'s maximum sandbox length ends a session [default: on]' -r -f -a "on\t'On'
off\t'Off'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l user -d 'The login user for this host, when it differs from the default' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l traffic-token -d 'The traffic access token of a private sandbox (stored in ~/.ssh/novita/config, mode 0600, and visible to local users in the process list while connected)' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -l dry-run -d 'Show a unified diff of every file that would change, and change nothing'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand remove" -l dry-run -d 'Show a unified diff of every file that would change, and change nothing'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand remove" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand remove" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand remove" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand list" -l json -d 'Print the sandboxes as a JSON array, for scripts'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand list" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand list" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand list" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand ls" -l json -d 'Print the sandboxes as a JSON array, for scripts'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand ls" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand ls" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand ls" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand pause" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand pause" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand pause" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand resume" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand resume" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand resume" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand start" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand start" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand start" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand delete" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand delete" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand delete" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand kill" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand kill" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand kill" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -l lang -d 'The language of the template files' -r -f -a "ts\t'`template.ts` and `build.ts`'
python\t'`template.py` and `build.py`'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -l out -d 'The folder the template files go into' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -l bridge -d 'What forwards the sandbox\'s port 8081 to sshd' -r -f -a "websocat\t'`websocat -b --exit-on-eof ws-l:0.0.0.0:8081 tcp:127.0.0.1:22`, as Novita documents'
novita-proxy\t'`novita-proxy serve --listen 0.0.0.0:8081 --to 127.0.0.1:22`'"
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -l bridge-url -d 'Where the sandbox downloads the bridge binary (http or https). Required with --bridge novita-proxy; websocat defaults to its 1.14.1 release for x86_64 Linux' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -l user -d 'The login user the key is authorized for [default: the configured user, `user`]' -r
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -l public-key -d 'Authorize this public key file instead of the kit\'s key\'s .pub' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -l force -d 'Replace template files that differ from what would be written'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -l dry-run -d 'Show a unified diff of the files that would change, and change nothing'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand template" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand doctor" -l ssh-config -d 'The ssh config to check (default: ~/.ssh/config, or the one used at install time)' -r -F
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand doctor" -l connect -d 'Also connect: ask the sandbox\'s sshd which logins it offers (password or keyboard-interactive is a failure) and run a command through it'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand doctor" -s v -l verbose -d 'Print what is read, written and run, on stderr'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand doctor" -s y -l yes -d 'Answer yes to every question and never prompt (for scripts): no confirmation before ~/.ssh/config changes, no passphrase prompt (the key is made without one unless --passphrase-file is given)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "init" -d 'Set everything up: create the key if absent, install the ssh config, write the template files, and print the next steps. A second run changes nothing and says so'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "keygen" -d 'Create the kit\'s ed25519 key at ~/.ssh/novita/id_ed25519 (and .pub), or use an existing pair with --key. An existing key is never overwritten'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "config" -d 'Install, remove or show the ssh config'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "login" -d 'Store your Novita API key in ~/.ssh/novita/api_key (mode 0600), where novita-proxy finds it even when VS Code starts it without your environment. The key is read from a prompt that does not echo it, or from stdin when stdin is not a terminal (`novita-sshconfig login < keyfile`); never from the command line. The API is asked first whether it accepts the key. A different stored key is replaced only after you confirm, or with --yes'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "logout" -d 'Delete the stored API key (~/.ssh/novita/api_key). NOVITA_API_KEY, when set, still applies'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "create" -d 'Create a sandbox from the kit\'s template, named NAME: then `ssh NAME.novita` reaches it. Refused when a running or paused sandbox already has that name'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "add" -d 'Name a sandbox: `ssh ALIAS.novita` then reaches SANDBOX_ID. Adding an existing alias replaces it'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "remove" -d 'Remove a named host'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "list" -d 'List your running and paused sandboxes (ID, name, state, template, end time) and the named hosts. Without an API key, only the named hosts'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "pause" -d 'Pause a sandbox: its memory and files are kept, open sessions end. `ssh NAME.novita` (or `resume`) resumes it'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "resume" -d 'Resume a paused sandbox (a running one gets its time to live extended)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "delete" -d 'Kill a sandbox: it and its files are gone for good. Asks first on a terminal'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "template" -d 'Write the sandbox template (template.ts + build.ts, or template.py + build.py) that makes sshd key-only, authorizes your public key and runs the WebSocket bridge'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "doctor" -d 'Check the setup, one line per check with the fix: novita-proxy, the key, the Include, what `ssh -G HOST` really uses, the OpenSSH version; with --connect, the sandbox'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and not __fish_seen_subcommand_from init keygen config login logout create add remove list pause resume delete template doctor help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "install" -d 'Write ~/.ssh/novita/config and the marked Include section at the top of ~/.ssh/config. Every other byte of ~/.ssh/config stays as it was; a previous version is kept as config.novita-ssh.bak beside it'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "uninstall" -d 'Remove the marked section from ~/.ssh/config (which is then byte for byte what it was before), ~/.ssh/novita/config and settings.json. Keys (the API key too) stay unless --purge-keys'
complete -c novita-sshconfig -n "__fish_novita_sshconfig_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Show the kit\'s config and whether ~/.ssh/config includes it. Never writes'
