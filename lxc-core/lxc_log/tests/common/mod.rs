//! Shared by the test binaries: the log configuration is global to a process, so the tests of
//! one binary take turns, and each works in its own directory under /tmp named `lxcrs-t-*`.

#![allow(dead_code)]

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::new(());

/// Hold this for the whole test: the log configuration is process-wide.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh directory `/tmp/lxcrs-t-log-*`, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("lxcrs-t-log-")
        .tempdir_in("/tmp")
        .expect("create a temp dir under /tmp")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
