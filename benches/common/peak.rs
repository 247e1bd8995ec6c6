//! Running a command as a child and measuring it: wall time and peak
//! resident memory, read from the kernel's accounting of that one child
//! (`wait4`), so that what other children or this process did never counts.
//! Shared by the poster benchmark and the memory test (`#[path]`).

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
/// so a chatty child can never block on a full pipe while we wait for it.
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
    // Reaped by wait4 below, which std's `wait` would not let us call.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn child");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own unreaped child; the pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t.elapsed();
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let read = |p: &std::path::Path| {
        let s = std::fs::read_to_string(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        s
    };
    Measured {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        wall,
        // Linux reports ru_maxrss in kilobytes.
        peak_rss: usage.ru_maxrss as u64 * 1024,
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}
