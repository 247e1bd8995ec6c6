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
//! at an empty private directory of its own: libwayland finds no socket
//! there and stays quiet. (Checked on Mesa 22.3 lavapipe: unset, two lines;
//! set to an empty 0700 directory, none.)

use std::path::{Path, PathBuf};

/// The directory made for the variable; removed when dropped, so only a
/// killed process leaves it behind (empty) in the temp directory.
pub struct RuntimeDir(Option<PathBuf>);

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Sets `XDG_RUNTIME_DIR` to a new private directory when it is unset or
/// not absolute. Call early in `main`, before any thread starts: changing
/// the environment is only sound while the process has one thread.
pub fn quiet_vulkan_loader() -> RuntimeDir {
    let usable = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|v| Path::new(&v).is_absolute());
    if usable {
        return RuntimeDir(None);
    }
    let Some(dir) = make_private_dir() else {
        return RuntimeDir(None);
    };
    // SAFETY: called early in `main`, while no other thread exists that
    // could read the environment at the same time.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    RuntimeDir(Some(dir))
}

/// A fresh directory only this user can enter. `create_dir` fails rather
/// than reuse a path that exists, so no one else can have prepared it.
fn make_private_dir() -> Option<PathBuf> {
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
