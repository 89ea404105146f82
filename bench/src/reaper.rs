//! Cleans up after an interrupted bench. The fixtures run in their own process groups (so
//! that a hung one can be killed with its children) and are killed when the bench drops them;
//! Ctrl-C or a kill skips that, and would leave sshd, nginx, the bridges and a GiB of test data
//! on tmpfs behind. A small `sh` loop in its own process group watches the bench, remembers
//! its children, and when the bench dies without dismissing it, kills them and removes the
//! bench's directories.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The watcher; dismissed (killed) on drop, which is the bench's normal end.
#[derive(Debug)]
pub struct Reaper {
    child: Option<Child>,
}

const SCRIPT: &str = r#"
bench=$1; cgroup=$2; shift 2
# Out of the bench's accounting group: this loop's CPU is not the tunnel's.
[ "$cgroup" != - ] && echo $$ > "$cgroup/../cgroup.procs" 2>/dev/null
kids=""
# A dead bench may stay a zombie for a while, its children already handed to init.
while state=$(ps -o stat= -p "$bench" 2>/dev/null) && [ "${state#Z}" = "$state" ]; do
    now=$(ps -o pid= --ppid "$bench" 2>/dev/null | tr '\n' ' ')
    [ -n "$now" ] && kids=$now
    sleep 1
done
# Everything the bench started is in its accounting group, when there is one.
[ "$cgroup" != - ] && kids="$kids $(cat "$cgroup/cgroup.procs" 2>/dev/null | tr '\n' ' ')"
for k in $kids; do
    [ "$k" = "$$" ] && continue
    kill -KILL "-$k" 2>/dev/null
    kill -KILL "$k" 2>/dev/null
done
sleep 1
[ "$cgroup" != - ] && rmdir "$cgroup" 2>/dev/null
for d in "$@"; do
    case "$d" in
        */novita-bench*) rm -rf "$d" ;;
    esac
done
"#;

impl Reaper {
    /// Starts watching; `dirs` are removed if the bench dies (only paths containing
    /// `novita-bench`), and so is the accounting group `cgroup`.
    pub fn start(cgroup: Option<&Path>, dirs: &[PathBuf]) -> Reaper {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(SCRIPT)
            .arg("novita-bench-reaper")
            .arg(std::process::id().to_string())
            .arg(cgroup.map_or_else(|| "-".into(), |c| c.as_os_str().to_owned()))
            .args(dirs)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        Reaper {
            child: cmd.spawn().ok(),
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
