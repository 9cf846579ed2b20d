//! What the single-threaded (no libtest harness) container tests share: a started busybox
//! container in its own `lxcrs-t-` lxcpath, and a pipe.

#![allow(dead_code)] // Each test binary uses a different part.

use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use lxc_core::{Container, StartMode, StartOptions};

/// `lxcrs-t-<test>-<pid>` made by the busybox template in `/tmp/<name>`, with `items` set
/// and saved, then started in the background.
pub fn started_busybox(test: &str, items: &[(&str, &str)]) -> (Container, PathBuf) {
    let name = format!("lxcrs-t-{test}-{}", std::process::id());
    let lxcpath = PathBuf::from(format!("/tmp/{name}"));
    let _ = fs::remove_dir_all(&lxcpath);
    fs::create_dir_all(&lxcpath).unwrap();
    let mut c = Container::new(&name, Some(&lxcpath)).unwrap();
    c.create(&lxc_core::template::CreateOptions {
        template: "busybox".into(),
        ..Default::default()
    })
    .unwrap();
    for (k, v) in items {
        c.set_config_item(k, v).unwrap();
    }
    if !items.is_empty() {
        c.save_config(None).unwrap();
    }
    c.start(&StartOptions {
        mode: StartMode::Start,
        argv: Vec::new(),
        inherit_stdio: false,
        close_all_fds: false,
    })
    .unwrap();
    (c, lxcpath)
}

/// Kill, destroy and remove the container, its lxcpath and its lock directory (create and
/// destroy take LXC's container lock under /run/lxc/lock; it carries our unique name).
pub fn remove(c: Container, lxcpath: PathBuf) {
    c.stop_with(true, Some(Duration::from_secs(10))).unwrap();
    c.destroy().unwrap();
    fs::remove_dir_all(&lxcpath).unwrap();
    if let Ok(rel) = lxcpath.strip_prefix("/") {
        let _ = fs::remove_dir_all(std::path::Path::new("/run/lxc/lock").join(rel));
    }
}

pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: a valid 2-element out array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds are fresh and ours.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}
