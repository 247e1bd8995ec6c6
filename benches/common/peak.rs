//! Running a command as a child and measuring it: wall time and peak
//! resident memory. Shared by the poster benchmark and the memory test
//! (`#[path]`).
//!
//! The peak is the child's own `VmHWM`, sampled from `/proc` while it runs.
//! Not `ru_maxrss` from `wait4`: Linux folds the parent's peak into the
//! child's at `exec`, so a child of a big test process would seem big.
//! Sampling can miss a spike in the child's last few milliseconds; a
//! poster's memory is flat (strip after strip), so that costs nothing here.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Measured {
    pub success: bool,
    pub wall: Duration,
    /// Peak resident set size (VmHWM) in bytes.
    pub peak_rss: u64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion. Output is collected through files, not pipes,
/// so a chatty child can never block on a full pipe while we poll it.
pub fn run_measured(cmd: &mut Command) -> Measured {
    let dir = std::env::temp_dir();
    let tag = format!(
        "hotpot-measured-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    );
    let (out_path, err_path) = (
        dir.join(format!("{tag}.out")),
        dir.join(format!("{tag}.err")),
    );
    let out = std::fs::File::create(&out_path).expect("temp file");
    let err = std::fs::File::create(&err_path).expect("temp file");
    let t = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn child");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let status = loop {
        if let Some(kb) = std::fs::read_to_string(&status_file)
            .ok()
            .as_deref()
            .and_then(vm_hwm_kb)
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = t.elapsed();
    let read = |p: &std::path::Path| {
        let s = std::fs::read_to_string(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        s
    };
    Measured {
        success: status.success(),
        wall,
        peak_rss: peak_kb * 1024,
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}

/// The `VmHWM:` line of a `/proc/<pid>/status`, in kB.
fn vm_hwm_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
