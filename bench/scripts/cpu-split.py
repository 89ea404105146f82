#!/usr/bin/env python3
"""Where the CPU of an ssh transfer through a bridge goes, process by process.

    bench/scripts/cpu-split.py [--pairs LIST] [--download] [--runs N] [--size MIB] [--perf]
                               [--proxy PATH]

Starts a temporary sshd on loopback and, for the pairs asked for (default
`websocat,proxy-websocat`), the servers in front of it:
- websocat:       `websocat --binary -B 65536 -` to `websocat -b --exit-on-eof ws-l:... tcp:<sshd>`
- proxy-websocat: `novita-proxy --url ws://...` to that websocat server
- relay:          `socat -b 262144 -` to `socat -b 262144 TCP-LISTEN:...,fork TCP:<sshd>`
- proxy-serve:    `novita-proxy --url ws://...` to `novita-proxy serve --to <sshd>`
Then it runs `ssh 'cat > /dev/null' < file` (or with --download `ssh 'cat file'`, read
through a pipe) through each pair in turn, interleaved; the file is on /dev/shm. For each
run it prints MiB/s (set-up included) and the user/system CPU seconds per GiB of the
ProxyCommand (GNU time), of the server (/proc/<pid>/stat, with the children it reaped: socat
forks per connection), of sshd (likewise) and of ssh (wait4). With --perf it also records
the websocat server with `perf record` during one proxy-websocat transfer and prints its top
symbols. Needs Linux, python3, sshd/ssh, GNU time, and websocat, socat or perf for the
pairs and options that use them. Results are in bench/data/runs.md.
"""

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# The loopback fixtures (sshd, websocat server, data file) of the tokio-tungstenite comparison.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tungstenite_vs_own import Lab, free_port, read_usage, require, ssh_argv  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


PAIRS = ("websocat", "proxy-websocat", "relay", "proxy-serve")


def proc_cpu(pid):
    """(user, system) CPU seconds of a running process and of the children it has reaped."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return ((int(fields[11]) + int(fields[13])) / TICK,
            (int(fields[12]) + int(fields[14])) / TICK)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", default="websocat,proxy-websocat",
                    help="comma-separated subset of " + ",".join(PAIRS))
    ap.add_argument("--download", action="store_true", help="ssh 'cat file' instead of an upload")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, default=1024, help="MiB per transfer")
    ap.add_argument("--perf", action="store_true")
    ap.add_argument("--proxy", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "novita-proxy"))
    args = ap.parse_args()
    pairs = [p for p in args.pairs.split(",") if p]
    unknown = [p for p in pairs if p not in PAIRS]
    if unknown or not pairs:
        sys.exit(f"unknown pair {','.join(unknown)!r}: use a comma-separated subset of {','.join(PAIRS)}")
    if args.perf and "proxy-websocat" not in pairs:
        sys.exit("--perf records the websocat server during a proxy-websocat transfer: add that pair")
    tools = ["ssh", "/usr/sbin/sshd", "/usr/bin/time"]
    if any("websocat" in p for p in pairs):
        tools.append("websocat")
    if "relay" in pairs:
        tools.append("socat")
    if args.perf:
        tools.append("perf")
    require(tools)
    proxy = os.path.abspath(args.proxy)
    if not os.access(proxy, os.X_OK):
        sys.exit(f"no novita-proxy at {proxy}: cargo build --release -p novita-proxy")

    tmp = tempfile.mkdtemp(dir="/dev/shm", prefix="novita-cpu-split-")
    lab = None
    try:
        # The transfer source goes to tmpfs with the rest; no second, small file is needed.
        lab = Lab(tmp, {"novita-proxy": proxy}, args.size, 0)
        sshd_port = lab.sshd()
        sshd = lab.procs[-1]
        # Each pair: (ProxyCommand, the server process in front of sshd).
        clients = {}
        if "websocat" in pairs or "proxy-websocat" in pairs:
            url = lab.websocat(sshd_port)
            server = lab.procs[-1]
            if "websocat" in pairs:
                clients["websocat"] = (f"websocat --binary -B 65536 - {url}", server)
            if "proxy-websocat" in pairs:
                clients["proxy-websocat"] = (f"{proxy} --url {url} iz3m5v8axsybc877b539s", server)
        if "relay" in pairs:
            port = free_port()
            lab.spawn("socat relay", [
                "socat", "-b", "262144", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                f"TCP:127.0.0.1:{sshd_port}"], port)
            clients["relay"] = (f"socat -b 262144 - TCP:127.0.0.1:{port}", lab.procs[-1])
        if "proxy-serve" in pairs:
            url = lab.serve(sshd_port)
            clients["proxy-serve"] = (f"{proxy} --url {url} iz3m5v8axsybc877b539s", lab.procs[-1])
        remote = f"cat {shlex.quote(lab.src)}" if args.download else "cat > /dev/null"

        def transfer(name):
            command, server = clients[name]
            usage = lab.temp("usage-")
            before = {"server": proc_cpu(server.pid), "sshd": proc_cpu(sshd.pid)}
            start = time.time()
            with open(os.devnull if args.download else lab.src, "rb") as stdin:
                ssh = subprocess.Popen(
                    ssh_argv(shlex.split(command), lab, sshd_port, usage) + [remote],
                    stdin=stdin, stdout=subprocess.PIPE if args.download else None)
                received = 0
                if args.download:
                    while chunk := ssh.stdout.read1(262144):
                        received += len(chunk)
                _, status, ssh_usage = os.wait4(ssh.pid, 0)
            secs = time.time() - start
            code, cu, cs, _ = read_usage(usage)
            if status != 0 or code != 0:
                lab.fail(f"ssh through {name} failed (ssh {status}, client {code})")
            if args.download and received != args.size << 20:
                lab.fail(f"ssh through {name} delivered {received} of {args.size << 20} bytes")
            # sshd's session process ends after ssh; the listener reaps it a moment later.
            time.sleep(0.3)
            gib = args.size / 1024
            r = {
                "MiB/s": args.size / secs,
                "client": (cu / gib, cs / gib),
                "ssh": (ssh_usage.ru_utime / gib, ssh_usage.ru_stime / gib),
            }
            for key, proc in (("server", server), ("sshd", sshd)):
                after = proc_cpu(proc.pid)
                r[key] = tuple((a - b) / gib for a, b in zip(after, before[key]))
            return r

        columns = ("client", "server", "sshd", "ssh")
        results = {name: [] for name in clients}
        names = list(clients)
        for run in range(args.runs):
            order = names[run % len(names):] + names[:run % len(names)]
            for name in order:
                r = transfer(name)
                results[name].append(r)
                print(f"run {run + 1} {name:14} {r['MiB/s']:6.1f} MiB/s  CPU s/GiB (user+system): "
                      + "  ".join(f"{k} {r[k][0]:.2f}+{r[k][1]:.2f}" for k in columns),
                      flush=True)
        print(f"\nmedians ({'download' if args.download else 'upload'}), CPU seconds per GiB (user + system):")
        for name, rs in results.items():
            med = lambda key, i: statistics.median(r[key][i] for r in rs)
            print(f"{name:14} {statistics.median(r['MiB/s'] for r in rs):6.1f} MiB/s  "
                  + "  ".join(f"{k} {med(k, 0):.2f}+{med(k, 1):.2f}" for k in columns))

        if args.perf:
            server = clients["proxy-websocat"][1]
            out = f"{tmp}/perf.data"
            rec = subprocess.Popen(["perf", "record", "-q", "-F", "2000", "-o", out, "-p", str(server.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            transfer("proxy-websocat")
            rec.send_signal(2)
            rec.wait()
            report = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", "symbol",
                                     "--stdio", "-q"], capture_output=True, text=True).stdout
            print("\nwebsocat server during a proxy-websocat transfer, top symbols:")
            print("\n".join(line for line in report.splitlines() if line.strip())[:2000])
    finally:
        if lab is not None:
            lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
