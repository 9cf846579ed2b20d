//! Switching the child's root to the container's rootfs, and the little that follows it.

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::mount::MsFlags;

use crate::error::{MountError, Result, Site};
use crate::rootfs::Rootfs;
use crate::sys::{self, oflag, Resolve};

/// pivot_root into the rootfs the way LXC does it: `pivot_root(".", ".")` from inside the new
/// root stacks the old root on top of it; the old root is then made a slave (so unmounting it
/// cannot propagate to the host) and lazily detached, and the cwd is `/`. Without a rootfs
/// (the host's `/`) there is nothing to do.
pub fn pivot(root: &Rootfs, site: &Site) -> Result<()> {
    if root.is_host() {
        return Ok(());
    }
    let mount = root.mount.clone();
    let fail = |op: &str, e: std::io::Error| {
        MountError::sys(site, format!("{op} ({})", mount.display()), &mount, e)
    };
    let old_root = sys::openat2(
        None,
        Path::new("/"),
        oflag::PATH | oflag::DIRECTORY,
        0,
        Resolve::Normal,
    )
    .map_err(|e| fail("open the old root", e))?;
    sys::fchdir(root.fd()).map_err(|e| fail("chdir into the rootfs", e))?;
    sys::pivot_root(Path::new("."), Path::new(".")).map_err(|e| fail("pivot_root", e))?;
    sys::fchdir(old_root.as_fd()).map_err(|e| fail("chdir into the old root", e))?;
    sys::mount(
        None,
        Path::new("."),
        None,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None,
    )
    .map_err(|e| fail("make the old root a slave", e))?;
    sys::umount2(Path::new("."), sys::MNT_DETACH).map_err(|e| fail("detach the old root", e))?;
    sys::fchdir(root.fd()).map_err(|e| fail("chdir into the new root", e))?;
    std::env::set_current_dir("/").map_err(|e| fail("chdir /", e))?;
    tracing::debug!(rootfs = %root.mount.display(), "pivoted into the rootfs");
    Ok(())
}

const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";
const MOCK_BOOT_ID: &str = "/dev/.lxc-boot-id";

/// After pivot_root with autodev: give the container its own random boot id (a file in its
/// /dev bound read-only over /proc/sys/kernel/random/boot_id), as LXC does. Best effort.
pub fn setup_boot_id() {
    if let Err(e) = try_boot_id() {
        tracing::warn!(error = %e, "could not give the container its own boot id");
    }
}

fn try_boot_id() -> std::io::Result<()> {
    if !Path::new(BOOT_ID).exists() {
        return Ok(());
    }
    let mut b = [0u8; 16];
    sys::getrandom(&mut b)?;
    // A version 4 (random) UUID.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    let uuid = format!(
        "{}-{}-{}-{}-{}\n",
        hex[0..4].concat(),
        hex[4..6].concat(),
        hex[6..8].concat(),
        hex[8..10].concat(),
        hex[10..16].concat()
    );
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o444)
            .open(MOCK_BOOT_ID)?;
        f.write_all(uuid.as_bytes())?;
        drop(f);
        sys::mount(
            Some(Path::new(MOCK_BOOT_ID)),
            Path::new(BOOT_ID),
            None,
            MsFlags::MS_BIND,
            None,
        )?;
        sys::mount(
            None,
            Path::new(BOOT_ID),
            None,
            MsFlags::MS_BIND
                | MsFlags::MS_REMOUNT
                | MsFlags::MS_RDONLY
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NOEXEC
                | MsFlags::MS_NODEV,
            None,
        )
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(MOCK_BOOT_ID);
    }
    result
}
