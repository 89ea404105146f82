#!/usr/bin/env python3
"""novita-proxy's own WebSocket framing against a tokio-tungstenite client (tungstenite-client).

Run through tungstenite-vs-own.sh, which builds the release binaries first. Everything runs
on loopback: a TCP sink that discards, a TCP source that writes SIZE MiB and closes, a
temporary sshd, and in front of each a websocat server and a `novita-proxy serve`.

Timed runs: every client on every path, interleaved (the order of the clients alternates from
one repetition to the next), `uptime` recorded before each repetition. Each client runs under
GNU time: its peak RSS is time's %M (a fork of this script would carry the script's own RSS
into the child's); its CPU time is wait4's on time for raw transfers (microseconds; time
itself adds about a millisecond) and time's %U + %S under ssh (10 ms steps).

Counted runs (raw transfers of COUNT_SIZE MiB): user-space instructions of the client under
Valgrind's cachegrind and its system calls under strace -f -c. They hardly depend on the
machine's other load, which on a shared machine swamps the timed numbers; they do depend a
little on how data happens to arrive (a slow client reads fuller buffers).

Linux only. Prints a Markdown report; --raw FILE also keeps every run as TSV.
"""

import argparse
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# A transfer that takes longer than this has hung: the bench stops and says so.
RUN_TIMEOUT = 600

CASES = ["raw-up", "raw-down", "ssh-up", "ssh-down"]
NAMES = {"raw-up": "raw upload", "raw-down": "raw download",
         "ssh-up": "ssh upload", "ssh-down": "ssh download"}
SERVERS = ["websocat", "serve"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited at start (status {proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


class Lab:
    """Data files and servers: started once, stopped (by pid) at the end."""

    def __init__(self, tmp, bins, size, count_size):
        self.tmp = tmp
        self.bins = bins
        self.procs = []
        self.src = os.path.join(tmp, "source.bin")
        self.small = os.path.join(tmp, "source-small.bin")
        chunk = os.urandom(1 << 20)
        for path, mib in ((self.src, size), (self.small, count_size)):
            with open(path, "wb") as f:
                for _ in range(mib):
                    f.write(chunk)
        self.log_path = os.path.join(tmp, "servers.log")
        self.log = open(self.log_path, "ab")
        self.user_key = None

    def spawn(self, what, argv, port):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        self.procs.append(p)
        wait_port(port, p, what)
        return port

    def sink(self):
        port = free_port()
        return self.spawn("sink", ["socat", "-u", "-b", "262144",
                                   f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                                   "OPEN:/dev/null"], port)

    def source(self, path):
        port = free_port()
        return self.spawn("source", ["socat", "-U", "-b", "262144",
                                     f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                                     f"OPEN:{path}"], port)

    def sshd(self):
        d = os.path.join(self.tmp, "sshd")
        os.makedirs(d, exist_ok=True)
        os.makedirs("/run/sshd", exist_ok=True)
        for name in ("host", "user"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            os.path.join(d, name)], check=True)
        with open(os.path.join(d, "user.pub")) as f, \
                open(os.path.join(d, "authorized_keys"), "w") as g:
            g.write(f.read())
        port = free_port()
        config = os.path.join(d, "sshd_config")
        with open(config, "w") as f:
            f.write("\n".join([
                f"Port {port}", "ListenAddress 127.0.0.1",
                f"HostKey {d}/host", f"AuthorizedKeysFile {d}/authorized_keys",
                "PidFile none", "UsePAM no", "StrictModes no",
                "PubkeyAuthentication yes", "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
                "PrintMotd no", "LogLevel ERROR", ""]))
        self.user_key = os.path.join(d, "user")
        return self.spawn("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", config], port)

    def websocat(self, target):
        port = free_port()
        self.spawn("websocat", ["websocat", "-b", "--exit-on-eof",
                                f"ws-l:127.0.0.1:{port}", f"tcp:127.0.0.1:{target}"], port)
        return f"ws://127.0.0.1:{port}/"

    def serve(self, target):
        port = free_port()
        self.spawn("novita-proxy serve", [self.bins["novita-proxy"], "serve",
                                          "--listen", f"127.0.0.1:{port}",
                                          "--to", f"127.0.0.1:{target}"], port)
        return f"ws://127.0.0.1:{port}/"

    def temp(self, prefix):
        fd, path = tempfile.mkstemp(dir=self.tmp, prefix=prefix)
        os.close(fd)
        return path

    def fail(self, message):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            tail = "".join(f.readlines()[-20:])
        sys.exit(f"{tail}{message}; the servers' log ends above")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.log.close()


def run_raw(argv, case, src):
    """One raw transfer. Upload: `cat SRC | argv`; download: argv with stdin an idle pipe
    that stays open until it ends. stdout is /dev/null. argv runs in its own process group,
    killed whole if it hangs. Returns (exit, wall s, user s, sys s) of argv and its children."""
    r, w = os.pipe()
    cat = None
    try:
        with open(os.devnull, "wb") as null:
            if case == "raw-up":
                os.close(w)
                w = None
                cat = subprocess.Popen(["cat", src], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE)
                stdin = cat.stdout
            else:
                stdin = r
            started = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=stdin, stdout=null, start_new_session=True)
            os.close(r)
            r = None
            if cat is not None:
                cat.stdout.close()

            def hung():
                print(f"{shlex.join(argv)}: no end after {RUN_TIMEOUT} s, killed",
                      file=sys.stderr)
                os.killpg(proc.pid, signal.SIGKILL)
            timer = threading.Timer(RUN_TIMEOUT, hung)
            timer.start()
            try:
                _, status, ru = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, wall, ru.ru_utime, ru.ru_stime
    finally:
        for fd in (r, w):
            if fd is not None:
                os.close(fd)
        if cat is not None:
            cat.wait()


TIME_FORMAT = "%x %U %S %M"


def timed(cmd, usage):
    """cmd under GNU time, which writes exit status, user, sys and peak RSS to `usage`."""
    return ["/usr/bin/time", "-f", TIME_FORMAT, "-o", usage, "--", *cmd]


def read_usage(usage, timeout=10.0):
    """(exit, user s, sys s, peak RSS KiB) from GNU time's file, once it is written."""
    deadline = time.monotonic() + timeout
    lines = []
    while True:
        with open(usage) as f:
            lines = f.read().strip().splitlines()
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    os.unlink(usage)
    if not lines:
        return 255, float("nan"), float("nan"), 0
    code, user, system, rss = lines[-1].split()
    return int(code), float(user), float(system), int(rss)


def timed_raw(cmd, lab, case):
    usage = lab.temp("usage-")
    rc, wall, user, system = run_raw(timed(cmd, usage), case, lab.src)
    code, _, _, rss = read_usage(usage)
    return rc or code, wall, user, system, rss


def ssh_argv(cmd, lab, ssh_port, usage):
    """ssh to the lab's sshd with the client `cmd` (under GNU time, writing to `usage`) as
    ProxyCommand, aes128-gcm; the remote command goes after it."""
    # ssh sends SIGHUP to its ProxyCommand (here: time) as it exits; time must outlive it
    # to write the usage, and the client ends on its own when ssh closes the pipes.
    inner = "trap '' HUP; exec " + shlex.join(timed(cmd, usage))
    # ssh expands % in a ProxyCommand.
    proxy = "sh -c " + shlex.quote(inner).replace("%", "%%")
    return ["ssh", "-F", "/dev/null", "-i", lab.user_key, "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
            "-c", "aes128-gcm@openssh.com", "-o", f"ProxyCommand={proxy}",
            "-p", str(ssh_port), "root@127.0.0.1"]


def timed_ssh(cmd, lab, ssh_port, case):
    """ssh through the client (under GNU time) as ProxyCommand, aes128-gcm."""
    usage = lab.temp("usage-")
    ssh = ssh_argv(cmd, lab, ssh_port, usage)
    with open(os.devnull, "wb") as null:
        started = time.perf_counter()
        if case == "ssh-up":
            with open(lab.src, "rb") as src:
                rc = subprocess.run(ssh + ["cat > /dev/null"], stdin=src, stdout=null,
                                    timeout=RUN_TIMEOUT).returncode
        else:
            rc = subprocess.run(ssh + [f"cat {shlex.quote(lab.src)}"],
                                stdin=subprocess.DEVNULL, stdout=null,
                                timeout=RUN_TIMEOUT).returncode
        wall = time.perf_counter() - started
    # ssh may return before its ProxyCommand has ended and time has written the usage.
    code, user, system, rss = read_usage(usage)
    return rc or code, wall, user, system, rss


def counted(cmd, lab, case):
    """(user-space instructions, system calls) of one raw transfer of the small file."""
    vg_log = lab.temp("valgrind-")
    rc, _, _, _ = run_raw(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                           "--cachegrind-out-file=/dev/null", f"--log-file={vg_log}", *cmd],
                          case, lab.small)
    with open(vg_log) as f:
        m = re.search(r"I\s+refs:\s+([\d,]+)", f.read())
    os.unlink(vg_log)
    if rc or not m:
        return rc or 255, 0, 0
    ir = int(m.group(1).replace(",", ""))
    st_log = lab.temp("strace-")
    rc, _, _, _ = run_raw(["strace", "-f", "-c", "-o", st_log, *cmd], case, lab.small)
    calls = 0
    with open(st_log) as f:
        for line in f:
            words = line.split()
            if words and words[-1] == "total":
                calls = int(words[3])
    os.unlink(st_log)
    return rc, ir, calls


def busy_fraction(seconds=1.0):
    """Share of all CPUs busy over the next `seconds` (/proc/stat)."""
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t0, i0 = read()
    time.sleep(seconds)
    t1, i1 = read()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def require(tools):
    for tool in tools:
        if subprocess.run(["sh", "-c", f"command -v {shlex.quote(tool)}"],
                          stdout=subprocess.DEVNULL).returncode:
            sys.exit(f"{tool} is not installed: install it (apt-get install socat openssh-client "
                     "openssh-server procps time valgrind strace; websocat 1.14.1 from its "
                     "releases)")


def main():
    # Stop the servers and remove the temporary files on kill too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", required=True,
                    help="release directory with novita-proxy and tungstenite-client")
    ap.add_argument("--runs", type=int, default=7, help="timed repetitions (default 7)")
    ap.add_argument("--size", type=int, default=1024, help="MiB per timed transfer")
    ap.add_argument("--only", default=",".join(CASES), help="comma-separated subset of "
                    + ",".join(CASES))
    ap.add_argument("--count-runs", type=int, default=3,
                    help="counted repetitions (cachegrind, strace) of raw transfers; 0: none")
    ap.add_argument("--count-size", type=int, default=256, help="MiB per counted transfer")
    ap.add_argument("--client", action="append", default=[],
                    help="LABEL=COMMAND with {bin} and {url} (repeatable); default: novita-proxy "
                         "and tungstenite-client; the first is the reference of the vs columns")
    ap.add_argument("--wait-idle", type=float, metavar="PCT",
                    help="before each repetition, wait (up to --wait-max s) until under PCT %% "
                         "of the CPUs are busy (a shared machine)")
    ap.add_argument("--wait-max", type=float, default=600)
    ap.add_argument("--raw", help="also write every run to this TSV file")
    a = ap.parse_args()

    bins = {n: os.path.join(a.bin_dir, n) for n in ("novita-proxy", "tungstenite-client")}
    for path in bins.values():
        if not os.access(path, os.X_OK):
            sys.exit(f"{path} is missing: build it first (bench/scripts/tungstenite-vs-own.sh does)")
    require(["socat", "websocat", "ssh", "ssh-keygen", "/usr/sbin/sshd", "uptime",
             "/usr/bin/time", "cat"] + (["valgrind", "strace"] if a.count_runs else []))
    clients = [c.split("=", 1) for c in a.client or [
        "novita-proxy={bin}/novita-proxy --url {url}",
        "tokio-tungstenite={bin}/tungstenite-client {url}",
    ]]
    cases = [c for c in CASES if c in a.only.split(",")]

    tmp = tempfile.mkdtemp(prefix="tungstenite-vs-own-")
    rows, counts, loads = [], [], []
    lab = Lab(tmp, bins, a.size, a.count_size if a.count_runs else 0)
    try:
        targets = {"raw-up": lab.sink(), "raw-down": lab.source(lab.src)}
        if a.count_runs:
            targets["count-down"] = lab.source(lab.small)
        if any(c.startswith("ssh") for c in cases):
            targets["ssh-up"] = targets["ssh-down"] = lab.sshd()
        urls = {}
        for port in sorted(set(targets.values())):
            urls[(port, "websocat")] = lab.websocat(port)
            urls[(port, "serve")] = lab.serve(port)

        def command(template, case, server):
            return shlex.split(template.format(bin=a.bin_dir, url=urls[(targets[case], server)]))

        for rep in range(a.runs):
            busy = busy_fraction()
            if a.wait_idle is not None:
                deadline = time.monotonic() + a.wait_max
                while busy * 100 > a.wait_idle and time.monotonic() < deadline:
                    busy = busy_fraction(5.0)
            up = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
            loads.append((rep + 1, up, busy))
            print(f"run {rep + 1}/{a.runs}: {up}; CPUs busy {busy:.0%}", file=sys.stderr)
            order = clients if rep % 2 == 0 else clients[::-1]
            for case in cases:
                for server in SERVERS:
                    for label, template in order:
                        cmd = command(template, case, server)
                        if case.startswith("raw"):
                            res = timed_raw(cmd, lab, case)
                        else:
                            res = timed_ssh(cmd, lab, targets[case], case)
                        rc, wall, user, system, rss = res
                        rows.append((rep + 1, case, server, label, rc, wall, user, system, rss))
                        print(f"  {case:8} {server:8} {label:28} rc={rc} "
                              f"{a.size / wall:6.0f} MiB/s cpu {user + system:.3f} s "
                              f"(user {user:.3f}) rss {rss / 1024:.1f} MiB", file=sys.stderr)
                        if rc != 0:
                            lab.fail(f"{label} failed on {case} via {server} (exit {rc})")

        for rep in range(a.count_runs):
            print(f"counted run {rep + 1}/{a.count_runs}", file=sys.stderr)
            order = clients if rep % 2 == 0 else clients[::-1]
            for case in ("raw-up", "raw-down"):
                for server in SERVERS:
                    for label, template in order:
                        target = "count-down" if case == "raw-down" else case
                        rc, ir, calls = counted(command(template, target, server), lab, case)
                        counts.append((rep + 1, case, server, label, rc, ir, calls))
                        print(f"  {case:8} {server:8} {label:28} rc={rc} "
                              f"{ir / a.count_size:12.0f} instructions/MiB "
                              f"{calls / a.count_size:8.1f} syscalls/MiB", file=sys.stderr)
                        if rc != 0:
                            lab.fail(f"{label} failed on counted {case} via {server} (exit {rc})")
    finally:
        lab.close()
        subprocess.run(["rm", "-rf", tmp])

    if a.raw:
        with open(a.raw, "w") as f:
            f.write("kind\trun\tcase\tserver\tclient\texit\twall_s\tuser_s\tsys_s\tpeak_rss_kib"
                    "\tinstructions\tsyscalls\n")
            for r in rows:
                f.write("\t".join(str(x) for x in ("timed", *r, "", "")) + "\n")
            for r in counts:
                f.write("\t".join(str(x) for x in ("counted", *r[:5], "", "", "", "", *r[5:]))
                        + "\n")
    report(a, clients, cases, rows, counts, loads, bins)


def spread(values, fmt):
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def report(a, clients, cases, rows, counts, loads, bins):
    size = a.size
    base = clients[0][0]
    print(f"Timed: {size} MiB per transfer, {a.runs} interleaved runs; median (min-max over "
          "runs). CPU is the client's user + sys time (GNU time, wait4), \"user\" the part in "
          f"user space. The \"vs\" columns: median over runs of the client's value divided by "
          f"{base}'s in the same run (throughput: above 1 is faster; CPU: above 1 costs more).\n")
    print("| transfer | server | client | MiB/s | MiB/s vs | CPU µs/MiB | user µs/MiB "
          "| CPU vs | peak RSS MiB |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        for server in SERVERS:
            def sel(label):
                return [r for r in rows if r[1] == case and r[2] == server and r[3] == label]
            ref = {r[0]: r for r in sel(base)}
            for label, _ in clients:
                rs = sel(label)
                tput = [size / r[5] for r in rs]
                cpu = [(r[6] + r[7]) * 1e6 / size for r in rs]
                user = [r[6] * 1e6 / size for r in rs]
                rss = [r[8] / 1024 for r in rs]
                if label == base:
                    tput_vs = cpu_vs = "-"
                else:
                    tput_vs = spread([ref[r[0]][5] / r[5] for r in rs], ".2f")
                    cpu_vs = spread([(r[6] + r[7]) / (ref[r[0]][6] + ref[r[0]][7])
                                     for r in rs], ".2f")
                print(f"| {NAMES[case]} | {server} | {label} | {spread(tput, '.0f')} | {tput_vs} "
                      f"| {spread(cpu, '.0f')} | {statistics.median(user):.0f} | {cpu_vs} "
                      f"| {statistics.median(rss):.1f} |")
    if counts:
        print(f"\nCounted: {a.count_size} MiB per raw transfer, {a.count_runs} runs; median "
              "(min-max). Instructions: user space only (Valgrind cachegrind, I refs); system "
              "calls: strace -f -c, all threads.\n")
        print("| transfer | server | client | user-space instructions / MiB | system calls / MiB |")
        print("|---|---|---|---:|---:|")
        for case in ("raw-up", "raw-down"):
            for server in SERVERS:
                for label, _ in clients:
                    rs = [r for r in counts if r[1] == case and r[2] == server and r[3] == label]
                    ir = [r[5] / a.count_size / 1000 for r in rs]
                    calls = [r[6] / a.count_size for r in rs]
                    print(f"| {NAMES[case]} | {server} | {label} | {spread(ir, ',.0f')} k "
                          f"| {spread(calls, '.1f')} |")
    print()
    print("Stripped release binaries: " + ", ".join(
        f"{n} {os.path.getsize(p) / 1024:.0f} KiB" for n, p in bins.items()) + ".\n")
    print("Load before each timed run (`uptime`; share of both CPUs busy in the second "
          "before):\n")
    for rep, up, busy in loads:
        print(f"- run {rep}: {up}; busy {busy:.0%}")


if __name__ == "__main__":
    main()
