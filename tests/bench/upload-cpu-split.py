#!/usr/bin/env python3
"""Where the CPU of an ssh upload through the websocat server goes, process by process.

    tests/bench/upload-cpu-split.py [--runs N] [--size MIB] [--perf] [--proxy PATH]

Starts a temporary sshd and `websocat -b --exit-on-eof ws-l:... tcp:<sshd>` on loopback,
then runs `ssh 'cat > /dev/null' < file` (file on /dev/shm) through two ProxyCommands in
turn, interleaved: `websocat --binary -B 65536 - ws://...` and `novita-proxy --url ws://...`.
For each run it prints MiB/s (set-up included) and the user/system CPU seconds of the
ProxyCommand (GNU time), of the websocat server (/proc/<pid>/stat) and of ssh (wait4).
With --perf it also records the websocat server with `perf record` during one novita-proxy
upload and prints its top symbols. Needs Linux, python3, sshd/ssh, websocat, GNU time and
(for --perf) perf. The result is in BENCHMARKS.md ("ssh upload to the websocat server").
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# The loopback fixtures (sshd, websocat server, data file) of the tokio-tungstenite comparison.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tungstenite_vs_own import Lab  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """(user, system) CPU seconds of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, default=1024, help="MiB per upload")
    ap.add_argument("--perf", action="store_true")
    ap.add_argument("--proxy", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "novita-proxy"))
    args = ap.parse_args()
    for tool in ["websocat", "ssh", "/usr/sbin/sshd", "/usr/bin/time"] + (["perf"] if args.perf else []):
        if not shutil.which(tool):
            sys.exit(f"missing tool: {tool}")
    proxy = os.path.abspath(args.proxy)
    if not os.access(proxy, os.X_OK):
        sys.exit(f"no novita-proxy at {proxy}: cargo build --release -p novita-proxy")

    tmp = tempfile.mkdtemp(dir="/dev/shm", prefix="novita-cpu-split-")
    lab = None
    try:
        # The upload source goes to tmpfs with the rest; no second, small file is needed.
        lab = Lab(tmp, {}, args.size, 0)
        sshd_port = lab.sshd()
        url = lab.websocat(sshd_port)
        server = lab.procs[-1]
        clients = {
            "websocat": f"websocat --binary -B 65536 - {url}",
            "novita-proxy": f"{proxy} --url {url} iz3m5v8axsybc877b539s",
        }
        user = os.environ.get("USER") or "root"

        def upload(command):
            timing = f"{tmp}/client.time"
            if os.path.exists(timing):
                os.unlink(timing)
            # ssh ends its ProxyCommand with SIGHUP; GNU time must survive it to report.
            wrapped = (f"sh -c 'trap \"\" HUP; exec /usr/bin/time -o {timing} "
                       f"-f \"%%U %%S\" {command}'")
            before = proc_cpu(server.pid)
            start = time.time()
            with open(lab.src, "rb") as stdin:
                ssh = subprocess.Popen(
                    ["ssh", "-F", "/dev/null", "-i", lab.user_key, "-o", "IdentitiesOnly=yes",
                     "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={tmp}/known_hosts",
                     "-o", "LogLevel=error", "-o", "BatchMode=yes", "-c", "aes128-gcm@openssh.com",
                     "-o", "Compression=no", "-o", f"ProxyCommand={wrapped}",
                     "-p", str(sshd_port), f"{user}@127.0.0.1", "cat > /dev/null"], stdin=stdin)
                _, status, usage = os.wait4(ssh.pid, 0)
            secs = time.time() - start
            if status != 0:
                lab.fail(f"ssh failed ({status})")
            for _ in range(50):
                if os.path.exists(timing) and os.path.getsize(timing) > 0:
                    break
                time.sleep(0.1)
            with open(timing) as f:
                cu, cs = (float(x) for x in f.read().split()[-2:])
            after = proc_cpu(server.pid)
            gib = args.size / 1024
            return {
                "MiB/s": args.size / secs,
                "client": ((cu) / gib, (cs) / gib),
                "server": ((after[0] - before[0]) / gib, (after[1] - before[1]) / gib),
                "ssh": (usage.ru_utime / gib, usage.ru_stime / gib),
            }

        results = {name: [] for name in clients}
        names = list(clients)
        for run in range(args.runs):
            order = names[run % len(names):] + names[:run % len(names)]
            for name in order:
                r = upload(clients[name])
                results[name].append(r)
                print(f"run {run + 1} {name:13} {r['MiB/s']:6.1f} MiB/s  CPU s/GiB (user+system): "
                      + "  ".join(f"{k} {r[k][0]:.2f}+{r[k][1]:.2f}" for k in ("client", "server", "ssh")),
                      flush=True)
        print("\nmedians, CPU seconds per GiB (user + system):")
        for name, rs in results.items():
            med = lambda key, i: statistics.median(r[key][i] for r in rs)
            print(f"{name:13} {statistics.median(r['MiB/s'] for r in rs):6.1f} MiB/s  "
                  + "  ".join(f"{k} {med(k, 0):.2f}+{med(k, 1):.2f}" for k in ("client", "server", "ssh")))

        if args.perf:
            out = f"{tmp}/perf.data"
            rec = subprocess.Popen(["perf", "record", "-q", "-F", "2000", "-o", out, "-p", str(server.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            upload(clients["novita-proxy"])
            rec.send_signal(2)
            rec.wait()
            report = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", "symbol",
                                     "--stdio", "-q"], capture_output=True, text=True).stdout
            print("\nwebsocat server during a novita-proxy upload, top symbols:")
            print("\n".join(line for line in report.splitlines() if line.strip())[:2000])
    finally:
        if lab is not None:
            lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
