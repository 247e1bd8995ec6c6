//! Keeps the Vulkan stack from printing "error: XDG_RUNTIME_DIR is invalid
//! or not set in the environment." on every render, serve and demo.
//!
//! The line comes from libwayland-client, which Mesa's Vulkan drivers load
//! to offer Wayland surfaces: it looks for the compositor's socket under
//! `$XDG_RUNTIME_DIR` and complains when the variable is unset or not an
//! absolute path. hotpot draws into buffers and never opens a window, so
//! nothing is wrong; but a user sees "error:" and thinks something is. A
//! desktop session always sets the variable, so it is missing exactly where
//! no compositor runs (ssh, cron, containers, CI). There hotpot points it
//! at an empty private directory of its own (`hotpot-runtime-UID` in the
//! temp directory): libwayland finds no socket there and stays quiet.
//! (Checked on Mesa 22.3 lavapipe: unset, empty or relative, two lines;
//! set to an empty 0700 directory, none.)

use std::path::{Path, PathBuf};

/// The directory made for the variable, when it is this process's own and
/// so removed when dropped.
pub struct RuntimeDir(Option<PathBuf>);

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Sets `XDG_RUNTIME_DIR` to a private directory when it is unset or not
/// absolute. Call early in `main`, before any thread starts: changing the
/// environment is only sound while the process has one thread.
pub fn quiet_vulkan_loader() -> RuntimeDir {
    let usable = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|v| Path::new(&v).is_absolute());
    if usable {
        return RuntimeDir(None);
    }
    let (dir, own) = match per_user_dir() {
        Some(dir) => (dir, false),
        None => match per_process_dir() {
            Some(dir) => (dir, true),
            None => return RuntimeDir(None),
        },
    };
    // SAFETY: called early in `main`, while no other thread exists that
    // could read the environment at the same time.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    RuntimeDir(own.then_some(dir))
}

/// `hotpot-runtime-UID` in the temp directory, kept between runs (as tmux
/// keeps `tmux-UID`) so that processes killed mid-run (SIGTERM during a
/// render, a stopped server) leave nothing behind. Used only if it is a
/// real directory of this user that no one else may enter: someone else's
/// could hold a socket posing as a compositor.
#[cfg(target_os = "linux")]
fn per_user_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    // The owner of /proc/self is this process's user; no libc needed.
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let dir = std::env::temp_dir().join(format!("hotpot-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    let private = meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0;
    private.then_some(dir)
}

#[cfg(not(target_os = "linux"))]
fn per_user_dir() -> Option<PathBuf> {
    None
}

/// A fresh directory only this user can enter. `create_dir` fails rather
/// than reuse a path that exists, so no one else can have prepared it.
fn per_process_dir() -> Option<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("hotpot-{}-{nanos}", std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir).ok()?;
    Some(dir)
}
