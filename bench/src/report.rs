//! The Markdown report: machine, command, the table with ratios, memory and sizes, the
//! concurrency run, the performance targets with pass/fail, and every run.

use std::fmt::Write as _;

use crate::lab::{Path, CIPHER, SOCAT_BUFFER};
use crate::results::{Results, Series};
use crate::stats::ratio;

const MIB: f64 = 1_048_576.0;

/// What the report says besides the measurements.
#[derive(Debug, Default)]
pub struct Context {
    /// Machine facts (name, value).
    pub machine: Vec<(String, String)>,
    /// The exact command that produced the report.
    pub command: String,
    /// The settings of this invocation (name, value).
    pub settings: Vec<(String, String)>,
    /// Binaries: name, size on disk, size after `strip`.
    pub sizes: Vec<(String, u64, Option<u64>)>,
    /// The paths measured.
    pub paths: Vec<Path>,
    /// The quick mode's warning.
    pub quick: bool,
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

fn fmt_x(v: Option<f64>) -> String {
    // Three decimals: a verdict at a threshold such as 0.95 must be readable from the number.
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}x"))
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// A median with the number of failed runs beside it, when there were any.
fn cell(series: &Series, path: Path, decimals: usize) -> String {
    let v = fmt(series.median(path), decimals);
    match series.failures(path) {
        0 => v,
        n => format!("{v} ({n} failed)"),
    }
}

fn ratios(series: &Series, path: Path) -> String {
    let m = series.median(path);
    [Path::Direct, Path::Relay, Path::Websocat]
        .iter()
        .map(|base| fmt(ratio(m, series.median(*base)), 2))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The main table, one row per path.
pub fn table(r: &Results, ctx: &Context) -> String {
    let mut t = String::new();
    t.push_str(
        "| Path | ssh upload MiB/s | upload x direct / relay / websocat | ssh download MiB/s \
         | download x direct / relay / websocat | raw up MiB/s | raw down MiB/s \
         | round trip p50 / p99 us | `ssh true` ms | client peak RSS MiB |\n",
    );
    t.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for &path in &ctx.paths {
        let rss = if path == Path::Direct {
            "-".to_owned()
        } else {
            mib(r.client_kib.get(&path).copied())
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} |",
            path.label(),
            cell(&r.upload, path, 0),
            ratios(&r.upload, path),
            cell(&r.download, path, 0),
            ratios(&r.download, path),
            cell(&r.raw_up, path, 0),
            cell(&r.raw_down, path, 0),
            cell(&r.rtt_p50, path, 0),
            cell(&r.rtt_p99, path, 0),
            cell(&r.setup, path, 1),
            rss,
        );
    }
    t
}

/// CPU time per MiB of every process on the path: robust to other load on the machine.
fn cpu_table(r: &Results, ctx: &Context) -> String {
    let mut t = String::from(
        "\n### CPU per MiB\n\nCPU milliseconds per MiB moved, summed over every process the \
         bench started for the run (ssh, client, server, nginx, sshd and its `cat`; for raw \
         streams also the bench's own writer and sink, the same on every path). Unlike MiB/s \
         this hardly depends on what else runs on the machine. On two cores, a path that is \
         CPU-bound cannot go faster than about 2000 / (ms per MiB) MiB/s.\n\n\
         | Path | ssh upload | ssh download | raw up | raw down | ssh upload x relay | \
         ssh download x relay |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for &path in &ctx.paths {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} |",
            path.label(),
            fmt(r.upload_cpu.median(path), 2),
            fmt(r.download_cpu.median(path), 2),
            fmt(r.raw_up_cpu.median(path), 2),
            fmt(r.raw_down_cpu.median(path), 2),
            fmt(
                ratio(r.upload_cpu.median(path), r.upload_cpu.median(Path::Relay)),
                2
            ),
            fmt(
                ratio(
                    r.download_cpu.median(path),
                    r.download_cpu.median(Path::Relay)
                ),
                2
            ),
        );
    }
    t
}

/// Pass/fail of each performance target: (target, measured, verdict).
pub fn targets(r: &Results, ctx: &Context) -> Vec<(String, String, Option<bool>)> {
    let mut out = Vec::new();
    // "path a reaches at least `min` times path b": judged on the ratio of the medians,
    // with `extra` after that ratio and the paired ratio last.
    let mut at_least = |target: String, s: &Series, a: Path, b: Path, min: f64, extra: &str| {
        let v = ratio(s.median(a), s.median(b));
        let measured = format!("{}{extra}{}", fmt_x(v), paired(s, a, b));
        out.push((target, measured, v.map(|v| v >= min)));
    };
    for (name, s) in [("upload", &r.upload), ("download", &r.download)] {
        let d = ratio(s.median(Path::ProxyServe), s.median(Path::Direct));
        at_least(
            format!("ssh {name}, novita-proxy -> serve >= 0.95x the relay pair"),
            s,
            Path::ProxyServe,
            Path::Relay,
            0.95,
            &format!(" relay ({} direct)", fmt_x(d)),
        );
    }
    at_least(
        "ssh upload, novita-proxy -> websocat server >= 1.3x the websocat pair".to_owned(),
        &r.upload,
        Path::ProxyWebsocat,
        Path::Websocat,
        1.3,
        "",
    );
    // The raw-stream target runs to a TCP sink: the up direction. The down direction is
    // in the tables too, but it is not a target (there the websocat pair already reaches
    // the relay pair, so 2x the websocat pair would exceed the practical limit).
    at_least(
        "raw stream to a TCP sink, novita-proxy -> serve >= 2x the websocat pair".to_owned(),
        &r.raw_up,
        Path::ProxyServe,
        Path::Websocat,
        2.0,
        "",
    );
    at_least(
        "raw stream to a TCP sink, novita-proxy -> serve >= 0.8x the relay pair".to_owned(),
        &r.raw_up,
        Path::ProxyServe,
        Path::Relay,
        0.8,
        "",
    );
    for path in [Path::ProxyServe, Path::ProxyEdge] {
        let v = ratio(r.setup.median(path), r.setup.median(Path::Direct));
        out.push((
            format!("`ssh host true`, {} <= 1.05x direct", path.label()),
            format!(
                "{} ({} ms vs {} ms)",
                fmt_x(v),
                fmt(r.setup.median(path), 1),
                fmt(r.setup.median(Path::Direct), 1)
            ),
            v.map(|v| v <= 1.05),
        ));
    }
    let base = r.rtt_p50.median(Path::Direct);
    let added = |p: Path| r.rtt_p50.median(p).zip(base).map(|(a, b)| a - b);
    let (ours, theirs) = (added(Path::ProxyServe), added(Path::Websocat));
    out.push((
        "round trip p50 added by novita-proxy -> serve <= added by the websocat pair".to_owned(),
        format!("+{} us vs +{} us", fmt(ours, 0), fmt(theirs, 0)),
        ours.zip(theirs).map(|(a, b)| a <= b),
    ));
    let client = ctx
        .paths
        .iter()
        .filter(|p| p.uses_proxy())
        .filter_map(|p| r.client_kib.get(p).copied())
        .chain(
            ctx.paths
                .iter()
                .filter(|p| p.uses_proxy())
                .filter_map(|p| r.client_raw_kib.get(p).copied()),
        )
        .max();
    out.push((
        "novita-proxy client peak RSS <= 6 MiB (max over every 1 GiB transfer)".to_owned(),
        format!("{} MiB", mib(client)),
        client.map(|k| k <= 6 * 1024),
    ));
    let size = ctx
        .sizes
        .iter()
        .find(|(n, _, _)| n == "novita-proxy")
        .and_then(|(_, s, stripped)| stripped.or(Some(*s)));
    let sessions = r
        .concurrency
        .iter()
        .find(|(p, _)| *p == Path::ProxyServe)
        .map(|(_, c)| c.as_ref().map(|c| (c.ok, c.sessions)));
    out.push((
        "simultaneous ssh sessions through one `serve`: all complete".to_owned(),
        match sessions {
            Some(Ok((ok, n))) => format!("{ok} of {n}"),
            Some(Err(e)) => format!("failed: {}", e.replace('\n', " ")),
            None => "-".to_owned(),
        },
        sessions.map(|s| s.is_ok_and(|(ok, n)| ok == n)),
    ));
    out.push((
        "stripped novita-proxy <= 3 MiB".to_owned(),
        format!("{} MiB", fmt(size.map(|s| s as f64 / MIB), 2)),
        size.map(|s| s <= 3 * 1024 * 1024),
    ));
    out
}

/// `; paired 1.23x`: the median of the per-repetition ratios, shown beside the ratio of the
/// medians that the verdict uses.
fn paired(series: &Series, a: Path, b: Path) -> String {
    series
        .paired_ratio(a, b)
        .map(|v| format!("; paired {}", fmt_x(Some(v))))
        .unwrap_or_default()
}

fn verdict(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "not measured",
    }
}

fn runs_table(out: &mut String, title: &str, unit: &str, series: &Series, ctx: &Context) {
    if series.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title} ({unit}), in the order measured:\n");
    let mut failures = Vec::new();
    for &path in &ctx.paths {
        let runs = series.runs(path);
        if runs.is_empty() {
            continue;
        }
        let values: Vec<String> = runs
            .iter()
            .map(|r| match r {
                Ok(v) => format!("{v:.1}"),
                Err(e) => {
                    failures.push(format!("{}: {e}", path.key()));
                    "FAIL".to_owned()
                }
            })
            .collect();
        let _ = writeln!(out, "- {}: {}", path.key(), values.join(", "));
    }
    for f in failures.iter().take(10) {
        let _ = writeln!(out, "  - failed: {}", f.replace('\n', " "));
    }
}

/// The whole generated section; `targets` is what [`targets`] returned for the same results.
pub fn render(r: &Results, ctx: &Context, targets: &[(String, String, Option<bool>)]) -> String {
    let mut out = String::new();
    if ctx.quick {
        out.push_str(
            "> **Quick mode**: smaller transfers and fewer runs, for iteration only. \
             Do not compare these numbers with a full run.\n\n",
        );
    }
    out.push_str("### Machine\n\n");
    for (k, v) in &ctx.machine {
        let _ = writeln!(out, "- {k}: {v}");
    }
    let _ = writeln!(out, "\n### Command\n\n```sh\n{}\n```\n", ctx.command);
    out.push_str("### Settings\n\n");
    for (k, v) in &ctx.settings {
        let _ = writeln!(out, "- {k}: {v}");
    }
    let _ = writeln!(
        out,
        "- every ssh run: `-c {CIPHER} -o Compression=no`, same on every path\n\
         - relay pair: `socat -b {SOCAT_BUFFER} - TCP:127.0.0.1:<relay>` as the client, \
         `socat -b {SOCAT_BUFFER} TCP-LISTEN:<relay>,fork,reuseaddr TCP:127.0.0.1:<target>` \
         as the server\n\
         - websocat pair: `websocat --binary -B 65536 - ws://...` as the client, \
         `websocat -b --exit-on-eof ws-l:... tcp:...` as the server"
    );
    out.push_str("\n### Results (medians)\n\n");
    out.push_str(&table(r, ctx));
    out.push_str(
        "\nssh upload: `ssh host 'cat >/dev/null' < file` (the remote command notes the time of \
         the first and the last byte); download: `ssh host 'cat file'`, read and counted by the \
         bench; the file is on tmpfs; MiB/s from the first to the last byte (connection set-up \
         is the `ssh true` column). Raw: the client's stdin to a TCP sink behind the server (up) and a TCP \
         source behind the server to the client's stdout (down), MiB/s from first to last \
         byte; \"direct\" is one `socat -b 262144` hop straight to the sink or source. Round \
         trip: one byte written to the client's stdin and read back from its stdout through an \
         echo server behind the server; \"direct\" is a TCP socket straight to the echo \
         server. Client peak RSS: VmHWM of the ProxyCommand during the ssh transfers.\n",
    );

    if !r.upload_cpu.is_empty() || !r.raw_up_cpu.is_empty() {
        out.push_str(&cpu_table(r, ctx));
    }
    out.push_str("\n### Memory and size\n\n| Process | peak RSS MiB |\n|---|---:|\n");
    for &path in &ctx.paths {
        if let Some(k) = r.client_raw_kib.get(&path) {
            let _ = writeln!(
                out,
                "| client of {} (raw streams) | {} |",
                path.label(),
                mib(Some(*k))
            );
        }
    }
    for (path, name) in [
        (Path::Websocat, "websocat server"),
        (Path::ProxyServe, "`novita-proxy serve`"),
    ] {
        if let Some(k) = r.server_kib.get(&path) {
            let _ = writeln!(
                out,
                "| {name} (after every ssh run, one connection at a time) | {} |",
                mib(Some(*k))
            );
        }
    }
    out.push_str("\n| Binary | size MiB | stripped MiB |\n|---|---:|---:|\n");
    for (name, size, stripped) in &ctx.sizes {
        let _ = writeln!(
            out,
            "| {name} | {:.2} | {} |",
            *size as f64 / MIB,
            fmt(stripped.map(|s| s as f64 / MIB), 2)
        );
    }

    if !r.concurrency.is_empty() {
        out.push_str(
            "\n### Simultaneous sessions through one bridge\n\n\
             | Path | sessions ok | total s | bridge peak RSS MiB |\n|---|---:|---:|---:|\n",
        );
        for (path, c) in &r.concurrency {
            match c {
                Ok(c) => {
                    let _ = writeln!(
                        out,
                        "| {} | {} / {} | {:.1} | {} |",
                        path.label(),
                        c.ok,
                        c.sessions,
                        c.secs,
                        mib(c.server_kib)
                    );
                    for f in &c.failures {
                        let _ = writeln!(out, "\n- failed: {}", f.replace('\n', " "));
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "| {} | FAIL: {e} | - | - |", path.label());
                }
            }
        }
    }

    out.push_str("\n### Targets\n\n| Target | measured | verdict |\n|---|---|---|\n");
    for (t, m, v) in targets {
        let _ = writeln!(out, "| {t} | {m} | {} |", verdict(*v));
    }
    out.push_str(
        "\nA ratio is of the two paths' medians, and the verdict uses it; \"paired\" is the \
         median of the ratios within each repetition, shown to tell a real difference from \
         a machine that changed speed during the run.\n",
    );

    out.push_str("\n### Every run\n");
    if !r.busy.is_empty() {
        let list: Vec<String> = r
            .busy
            .iter()
            .map(|(l, b)| format!("{l}: {:.0}%", b * 100.0))
            .collect();
        let _ = writeln!(
            out,
            "\nOther load on the machine during the second before each repetition (share of \
             all CPUs busy while the bench was idle): {}",
            list.join(", ")
        );
    }
    runs_table(&mut out, "ssh upload", "MiB/s", &r.upload, ctx);
    runs_table(&mut out, "ssh download", "MiB/s", &r.download, ctx);
    runs_table(&mut out, "raw stream up", "MiB/s", &r.raw_up, ctx);
    runs_table(&mut out, "raw stream down", "MiB/s", &r.raw_down, ctx);
    runs_table(&mut out, "round trip p50", "us", &r.rtt_p50, ctx);
    runs_table(&mut out, "round trip p99", "us", &r.rtt_p99, ctx);
    runs_table(&mut out, "`ssh host true`", "ms", &r.setup, ctx);
    runs_table(
        &mut out,
        "CPU, ssh upload",
        "ms per MiB",
        &r.upload_cpu,
        ctx,
    );
    runs_table(
        &mut out,
        "CPU, ssh download",
        "ms per MiB",
        &r.download_cpu,
        ctx,
    );
    runs_table(&mut out, "CPU, raw up", "ms per MiB", &r.raw_up_cpu, ctx);
    runs_table(
        &mut out,
        "CPU, raw down",
        "ms per MiB",
        &r.raw_down_cpu,
        ctx,
    );
    out
}

/// Markers around the generated part of the `--out` file (`bench/data/latest-run.md`); text
/// outside them is kept.
pub const BEGIN: &str = "<!-- bench:begin (generated by the bench; edits inside are lost) -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- bench:end -->";

/// `existing` with the generated part replaced by `section` (or a new document).
pub fn splice(existing: Option<&str>, section: &str) -> String {
    let generated = format!("{BEGIN}\n{section}\n{END}");
    if let Some(text) = existing {
        if let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) {
            if b < e {
                return format!("{}{generated}{}", &text[..b], &text[e + END.len()..]);
            }
        }
        return format!("{}\n\n{generated}\n", text.trim_end());
    }
    format!("# Benchmarks\n\n{generated}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Concurrency;

    /// A context with nothing in it: the targets only read the results.
    fn empty_context() -> Context {
        Context {
            machine: Vec::new(),
            command: String::new(),
            settings: Vec::new(),
            sizes: Vec::new(),
            paths: Vec::new(),
            quick: false,
        }
    }

    #[test]
    fn throughput_targets_are_judged_on_the_ratio_of_medians() {
        let mut r = Results::default();
        for (serve, relay, direct) in [(100.0, 100.0, 200.0), (90.0, 100.0, 200.0)] {
            r.upload.push(Path::ProxyServe, Ok(serve));
            r.upload.push(Path::Relay, Ok(relay));
            r.upload.push(Path::Direct, Ok(direct));
        }
        for (ours, theirs) in [(120.0, 100.0), (130.0, 100.0), (110.0, 100.0)] {
            r.upload.push(Path::ProxyWebsocat, Ok(ours));
            r.upload.push(Path::Websocat, Ok(theirs));
        }
        let ctx = empty_context();
        let all = targets(&r, &ctx);
        let find = |start: &str| {
            all.iter()
                .find(|(t, _, _)| t.starts_with(start))
                .map(|(_, m, v)| (m.as_str(), *v))
                .expect("the target is listed")
        };
        assert_eq!(
            find("ssh upload, novita-proxy -> serve"),
            ("0.950x relay (0.475x direct); paired 0.950x", Some(true))
        );
        assert_eq!(
            find("ssh upload, novita-proxy -> websocat"),
            ("1.200x; paired 1.200x", Some(false))
        );
        assert_eq!(
            find("ssh download, novita-proxy -> serve"),
            ("- relay (- direct)", None)
        );
    }

    #[test]
    fn sessions_through_serve_pass_only_when_every_one_completed() {
        let ctx = empty_context();
        let verdict = |concurrency: Vec<(Path, Result<Concurrency, String>)>| {
            let r = Results {
                concurrency,
                ..Results::default()
            };
            targets(&r, &ctx)
                .into_iter()
                .find(|(t, _, _)| t.starts_with("simultaneous ssh sessions"))
                .map(|(_, m, v)| (m, v))
                .expect("the target is listed")
        };
        let run = |ok| Concurrency {
            ok,
            sessions: 200,
            secs: 1.0,
            server_kib: None,
            failures: Vec::new(),
        };
        assert_eq!(
            verdict(vec![(Path::ProxyServe, Ok(run(200)))]),
            ("200 of 200".to_owned(), Some(true))
        );
        assert_eq!(
            verdict(vec![
                (Path::Websocat, Ok(run(200))),
                (Path::ProxyServe, Ok(run(199)))
            ]),
            ("199 of 200".to_owned(), Some(false))
        );
        assert_eq!(
            verdict(vec![(Path::ProxyServe, Err("no sshd".to_owned()))]),
            ("failed: no sshd".to_owned(), Some(false))
        );
        assert_eq!(
            verdict(vec![(Path::Websocat, Ok(run(200)))]),
            ("-".to_owned(), None)
        );
    }

    #[test]
    fn splice_keeps_the_text_around_the_markers() {
        let first = splice(None, "one");
        assert!(first.contains("one"));
        let doc = format!("intro\n{first}\noutro\n");
        let again = splice(Some(&doc), "two");
        assert!(again.starts_with("intro\n"));
        assert!(again.ends_with("outro\n"));
        assert!(again.contains("two") && !again.contains("one"));
    }
}
