//! Mounts into a running container, without a restart: liblxc's `mount` and `umount`
//! (lxccontainer.c, `do_lxcapi_mount` / `do_lxcapi_umount`), the API extension
//! `mount_injection`.
//!
//! The core only holds the calls and their arguments; the work is the extension's (crate
//! lxc-ext-mount-injection), reached through [`MOUNT_INJECTORS`]. A build without it answers
//! both calls with EOPNOTSUPP and a message naming the extension, and changes nothing.

use std::path::Path;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::registry::{MountInjector, MOUNT_INJECTORS};

/// The extension that does the work.
pub const EXTENSION: &str = "mount_injection";

/// One `mount(source, target, fstype, flags, data)` on a running container, with mount(2)'s
/// meaning: `flags` are its `MS_*` bits (`libc::MS_BIND | libc::MS_RDONLY`), `data` its
/// comma-separated filesystem options (`size=10m,mode=0755`). `MS_BIND` mounts the host's
/// `source` (a directory, or a single file with `mount_injection_file`); without it a new
/// instance of `fstype` is mounted (`source` is then only its name, as in mount(2)).
/// `target` is a path in the container, taken from its root whether written absolute or not.
#[derive(Debug, Clone, Copy)]
pub struct MountRequest<'a> {
    pub source: Option<&'a Path>,
    pub target: &'a Path,
    pub fstype: Option<&'a str>,
    pub flags: u64,
    pub data: Option<&'a str>,
}

fn injector(c: &Container, op: &'static str, target: &Path) -> Result<&'static MountInjector> {
    MOUNT_INJECTORS.iter().next().ok_or_else(|| Error::Mount {
        name: c.name().to_string(),
        op,
        path: target.to_path_buf(),
        message: format!("needs the API extension {EXTENSION}, which this build does not have"),
        errno: libc::EOPNOTSUPP,
    })
}

impl Container {
    /// `mount`: make a mount appear at `target` in the running container, as mount(2) would
    /// inside it (see [`MountRequest`]). A missing target (and the directories above it) is
    /// made, as LXC does; when anything fails, what was made is removed again and the
    /// container's mounts are as they were.
    pub fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: u64,
        data: Option<&str>,
    ) -> Result<()> {
        let req = MountRequest {
            source,
            target,
            fstype,
            flags,
            data,
        };
        (injector(self, "mount", target)?.mount)(self, &req)
    }

    /// `umount`: unmount `target` in the running container, as umount2(2) with `flags`
    /// (`MNT_DETACH`, `MNT_FORCE`, `MNT_EXPIRE`) would inside it.
    pub fn umount(&self, target: &Path, flags: i32) -> Result<()> {
        (injector(self, "umount", target)?.umount)(self, target, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The core's own tests link no extension: both calls say what is missing, before they
    /// look at the container.
    #[test]
    fn without_the_extension_both_calls_name_it() {
        if !MOUNT_INJECTORS.is_empty() {
            eprintln!("SKIP: a mount injector is linked into this test");
            return;
        }
        let c = Container::new_unloaded("c1", Some(Path::new("/nonexistent"))).expect("handle");
        let e = c
            .mount(
                Some(Path::new("/srv")),
                Path::new("/mnt"),
                None,
                libc::MS_BIND,
                None,
            )
            .expect_err("no injector");
        assert_eq!(e.errno(), libc::EOPNOTSUPP);
        assert_eq!(
            e.to_string(),
            "c1: mount /mnt: needs the API extension mount_injection, which this build does not \
             have"
        );
        let e = c.umount(Path::new("/mnt"), 0).expect_err("no injector");
        assert_eq!(e.errno(), libc::EOPNOTSUPP);
        assert!(e.to_string().starts_with("c1: umount /mnt: needs"), "{e}");
    }
}
