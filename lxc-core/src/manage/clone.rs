//! `clone` and `rename`, as LXC 5.0's `do_lxcapi_clone` / `do_lxcapi_rename`.

use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;

use super::text;
use super::{
    add_dep, manage_err, mod_all_rdeps, storage_err, storage_of, CLONE_ALLOW_RUNNING,
    CLONE_KEEPBDEVTYPE, CLONE_KEEPMACADDR, CLONE_KEEPNAME, CLONE_MAYBE_SNAPSHOT, CLONE_SNAPSHOT,
    OVERLAY_RESTORE, RDEPENDS_FILE,
};
use crate::config::Config;
use crate::container::{validate_name, Container};
use crate::error::{Error, Result};

/// Removes a half-made clone unless disarmed: its storage once made, then its directory.
struct Undo {
    dir: PathBuf,
    made_dir: bool,
    storage: Option<lxc_storage::Storage>,
    armed: bool,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(s) = self.storage.take() {
            if let Err(e) = s.destroy() {
                tracing::warn!(error = %e, "removing the storage of a failed clone");
            }
        }
        let r = if self.made_dir {
            lxc_storage::remove_tree(&self.dir)
        } else {
            lxc_storage::remove_tree(&self.dir.join("config"))
                .and_then(|()| lxc_storage::remove_tree(&self.dir.join("rootfs")))
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "removing a failed clone");
        }
    }
}

/// LXC's `copy_file`: a new file (never over an existing one) with the old one's mode.
pub(super) fn copy_file(old: &Path, new: &Path) -> io::Result<()> {
    let mode = fs::metadata(old)?.permissions().mode();
    let mut src = fs::File::open(old)?;
    let mut dst = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(new)?;
    io::copy(&mut src, &mut dst)?;
    fs::set_permissions(new, fs::Permissions::from_mode(mode))
}

/// Write `name` into the rootfs's /etc/hostname if there is one (LXC's clone does, unless
/// KEEPNAME). Symlinks in the rootfs are not followed.
fn set_rootfs_hostname(storage: &lxc_storage::Storage, name: &str) -> Result<()> {
    let err = |op: &'static str, e: nix::errno::Errno| {
        Error::io(
            op,
            format!("{}/etc/hostname", storage.src()),
            io::Error::from_raw_os_error(e as i32),
        )
    };
    let m = storage
        .mount(None)
        .map_err(|e| storage_err(name, "mount the clone's rootfs", e))?;
    let etc = match openat(
        m.root(),
        "etc",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT)
        | Err(nix::errno::Errno::ENOTDIR)
        | Err(nix::errno::Errno::ELOOP) => return Ok(()),
        Err(e) => return Err(err("open", e)),
    };
    let f = match openat(
        etc.as_fd(),
        "hostname",
        OFlag::O_WRONLY | OFlag::O_TRUNC | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::ELOOP) => return Ok(()),
        Err(e) => return Err(err("open", e)),
    };
    io::Write::write_all(&mut fs::File::from(f), name.as_bytes())
        .map_err(|e| Error::io("write", format!("{}/etc/hostname", storage.src()), e))
}

/// LXC's compiled-in `lxc.rootfs.mount` (`LXCROOTFSMOUNT`) in Debian's layout.
const ROOTFS_MOUNT_DEFAULT: &str = "/usr/lib/x86_64-linux-gnu/lxc/rootfs";

/// Where a clone hook finds the new rootfs (LXC's `bdev->dest`): a `dir` rootfs where it is;
/// any other mounted on `lxc.rootfs.mount`, by default LXC's directory when this host has it,
/// else the clone's own (empty) `rootfs` directory.
fn clone_hook_mount(c2: &Container, storage: &lxc_storage::Storage) -> PathBuf {
    if storage.kind() == lxc_storage::Kind::Dir {
        return PathBuf::from(storage.path());
    }
    match c2.config().last("lxc.rootfs.mount") {
        Some(m) if !m.is_empty() => PathBuf::from(m),
        _ if Path::new(ROOTFS_MOUNT_DEFAULT).is_dir() => PathBuf::from(ROOTFS_MOUNT_DEFAULT),
        _ => c2.dir().join("rootfs"),
    }
}

/// LXC's clone hooks (`clone_update_rootfs`): every `lxc.hook.clone` of the new container
/// `c2`, with the arguments `<name> lxc clone` (hook version 0) then `args`, and the
/// variables LXC's clone sets: LXC_SRC_NAME, LXC_NAME, LXC_CONFIG_FILE, LXC_ROOTFS_MOUNT,
/// LXC_ROOTFS_PATH. A rootfs that is not a plain directory is mounted on LXC_ROOTFS_MOUNT in
/// a private mount namespace, so the hooks can change it and nothing stays mounted.
fn run_clone_hooks(
    c2: &Container,
    src_name: &str,
    storage: Option<&lxc_storage::Storage>,
    args: &[String],
) -> Result<()> {
    if !c2.config().entries().any(|e| e.key == "lxc.hook.clone") {
        return Ok(());
    }
    // A thread of its own: a mount namespace unshared there belongs to that thread and the
    // hooks it runs, and goes when the thread ends; the caller's threads and mounts are not
    // touched, and no threaded process forks to get it.
    std::thread::scope(|s| {
        s.spawn(|| clone_hooks_in_private_ns(c2, src_name, storage, args))
            .join()
            .unwrap_or_else(|_| {
                Err(manage_err(
                    c2.name(),
                    "clone hook",
                    "the thread running the hooks panicked",
                    libc::EIO,
                ))
            })
    })
}

fn clone_hooks_in_private_ns(
    c2: &Container,
    src_name: &str,
    storage: Option<&lxc_storage::Storage>,
    args: &[String],
) -> Result<()> {
    use crate::config::bytes;
    use crate::phase::{HookCtx, Phase, StartMode, StateMap, UndoStack};
    use std::ffi::OsString;

    let name = c2.name();
    crate::sys::unshare(libc::CLONE_NEWNS)
        .map_err(|e| Error::io("unshare", "a mount namespace for the clone hooks", e))?;
    // Mounts made here must not propagate back into the host's namespace.
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_SLAVE | nix::mount::MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Error::io("make mounts private", "/", io::Error::from(e)))?;
    let mut vars: Vec<(&'static str, OsString)> = vec![
        ("LXC_SRC_NAME", src_name.into()),
        ("LXC_NAME", name.into()),
        (
            "LXC_CONFIG_FILE",
            c2.config_file_name().as_os_str().to_owned(),
        ),
    ];
    // Held (mounted) until the hooks are done; the namespace takes it away in any case.
    let mut _mounted = None;
    if let Some(s) = storage {
        let at = clone_hook_mount(c2, s);
        if s.kind() != lxc_storage::Kind::Dir {
            let m = s
                .mount(None)
                .map_err(|e| storage_err(name, "mount the clone's rootfs", e))?;
            m.attach_at(&at)
                .map_err(|e| storage_err(name, "mount the clone's rootfs", e))?;
            _mounted = Some(m);
        }
        vars.push(("LXC_ROOTFS_MOUNT", at.into_os_string()));
    }
    // As written, with its storage type (LXC's `rootfs.path`).
    if let Some(p) = super::rootfs_value(c2) {
        vars.push(("LXC_ROOTFS_PATH", bytes::to_os(&p)));
    }
    let (mut undo, mut state) = (UndoStack::default(), StateMap::default());
    let ctx = HookCtx {
        name,
        lxcpath: c2.config_path().to_path_buf(),
        config_file: c2.config_file_name().to_path_buf(),
        config: c2.config(),
        phase: Phase::Load,
        mode: StartMode::Start,
        init_pid: None,
        undo: &mut undo,
        state: &mut state,
    };
    crate::hooks::run_scripts(&ctx, "clone", Default::default(), &vars, args).map_err(|e| match e {
        Error::Hook {
            key: Some(key),
            message,
            ..
        } => manage_err(
            name,
            "clone hook",
            format!("{key}: {message}"),
            libc::ECANCELED,
        ),
        e => manage_err(name, "clone hook", e.to_string(), libc::ECANCELED),
    })
}

/// LXC's `should_default_to_snapshot`: both container directories on one btrfs, the rootfs a
/// subvolume: snapshots cost nothing there.
fn default_to_snapshot(old_dir: &Path, new_dir: &Path, rootfs: Option<&str>) -> bool {
    let Some(r) = rootfs else { return false };
    let r = r.strip_prefix("btrfs:").unwrap_or(r);
    lxc_storage::is_btrfs_fs(old_dir)
        && lxc_storage::is_btrfs_fs(new_dir)
        && lxc_storage::is_btrfs_subvol(Path::new(r))
        && lxc_storage::clone::same_btrfs(old_dir, new_dir)
}

impl Container {
    /// liblxc's `clone`: a new container `newname` (default: this name) under `lxcpath`
    /// (default: this lxcpath) with a copy or snapshot of this one's rootfs on `bdevtype`
    /// (default: LXC's choice; see [`lxc_storage::clone_storage`]) of `newsize` bytes (block
    /// backends; 0 = default), and this config rewritten as LXC rewrites it: `lxc.rootfs.path`,
    /// `lxc.uts.name` and /etc/hostname (unless [`CLONE_KEEPNAME`]), hooks and the fstab that
    /// live in the container directory copied over, new hardware addresses (unless
    /// [`CLONE_KEEPMACADDR`]), overlay mount entries' paths. `flags` are liblxc's
    /// `LXC_CLONE_*` ([`CLONE_SNAPSHOT`], ...). The clone's `lxc.hook.clone` scripts run
    /// before its /etc/hostname is written, as LXC runs them: with `hookargs` after their
    /// standard arguments, LXC's clone variables (LXC_SRC_NAME, LXC_ROOTFS_MOUNT, ...) and the
    /// new rootfs mounted for them in a private mount namespace; one that fails fails the
    /// clone. A failed clone leaves nothing.
    ///
    /// Named `clone_container` because Rust's `Clone::clone` has the name.
    pub fn clone_container(
        &self,
        newname: Option<&str>,
        lxcpath: Option<&Path>,
        flags: u32,
        bdevtype: Option<&str>,
        newsize: u64,
        hookargs: &[String],
    ) -> Result<Container> {
        let _lock = self.lock_config()?;
        self.require_defined()?;
        if flags & CLONE_ALLOW_RUNNING == 0 && self.is_running() {
            return Err(manage_err(
                self.name(),
                "clone",
                "the original container is running (allow it with ALLOW_RUNNING / --allowrunning to snapshot it running)",
                libc::EBUSY,
            ));
        }
        let newname = newname.unwrap_or(self.name());
        validate_name(newname)?;
        let newpath = lxcpath.unwrap_or(self.config_path());
        let newpath = std::path::absolute(newpath).map_err(|e| Error::io("resolve", newpath, e))?;
        let kind = bdevtype
            .map(lxc_storage::Kind::from_name)
            .transpose()
            .map_err(|e| storage_err(self.name(), "clone", e))?;
        let ndir = newpath.join(newname);
        let nconfig = ndir.join("config");
        let _span = tracing::info_span!("clone", from = self.name(), to = newname).entered();
        if fs::symlink_metadata(&nconfig).is_ok() {
            return Err(manage_err(
                self.name(),
                "clone",
                format!("{} exists", nconfig.display()),
                libc::EEXIST,
            ));
        }
        let made_dir = !ndir.exists();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o770)
            .create(&ndir)
            .map_err(|e| Error::io("create container directory", &ndir, e))?;
        let mut undo = Undo {
            dir: ndir.clone(),
            made_dir,
            storage: None,
            armed: true,
        };
        let rootfs_dir = ndir.join("rootfs");
        match fs::DirBuilder::new().mode(0o755).create(&rootfs_dir) {
            Ok(()) => {}
            // A restored overlay container keeps its rootfs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && flags & OVERLAY_RESTORE != 0 => {}
            Err(e) => return Err(Error::io("create rootfs directory", &rootfs_dir, e)),
        }

        let mut cfg = text::clear_key(&self.config().to_lxc_string(), "lxc.rootfs.path");
        let mut flags = flags;

        // The storage (LXC's copy_storage).
        if let Some(orig) = storage_of(self)? {
            if default_to_snapshot(&self.dir(), &ndir, Some(orig.src())) {
                flags |= CLONE_SNAPSHOT;
            }
            let req = lxc_storage::CloneRequest {
                orig: &orig,
                old_name: self.name(),
                old_lxcpath: self.config_path(),
                new_name: newname,
                new_lxcpath: &newpath,
                bdevtype: kind,
                snapshot: flags & CLONE_SNAPSHOT != 0,
                maybe_snapshot: flags & CLONE_MAYBE_SNAPSHOT != 0,
                keep_bdevtype: flags & CLONE_KEEPBDEVTYPE != 0,
                newsize,
            };
            let cloned = lxc_storage::clone_storage(&req)
                .map_err(|e| storage_err(self.name(), "copy the rootfs storage", e))?;
            text::append(&mut cfg, "lxc.rootfs.path", cloned.storage.src());
            undo.storage =
                Some(cloned.storage.clone()).filter(|s| s.kind() != lxc_storage::Kind::Dir);
            if flags & CLONE_SNAPSHOT != 0 {
                let from = self.dir().join(RDEPENDS_FILE);
                if let Err(e) = copy_file(&from, &ndir.join(RDEPENDS_FILE)) {
                    tracing::debug!(error = %e, "no reverse dependencies copied");
                }
            }
            if cloned.needs_rdep {
                add_dep(&ndir.join(RDEPENDS_FILE), self.config_path(), self.name())
                    .map_err(|e| Error::io("write", ndir.join(RDEPENDS_FILE), e))?;
            }
        }

        if flags & CLONE_KEEPNAME == 0 {
            cfg = text::clear_key(&cfg, "lxc.utsname");
            cfg = text::clear_key(&cfg, "lxc.uts.name");
            text::append(&mut cfg, "lxc.uts.name", newname);
        }
        cfg = self.copy_hooks(&cfg, &newpath, newname)?;
        cfg = self.copy_fstab(cfg, &newpath, newname)?;
        if flags & CLONE_KEEPMACADDR == 0 {
            cfg = text::new_hwaddrs(&cfg).map_err(|e| Error::io("read", "/dev/urandom", e))?;
        }
        cfg = text::update_ovl_paths(
            &cfg,
            &self.config_path().to_string_lossy(),
            self.name(),
            &newpath.to_string_lossy(),
            newname,
        );

        let config = Config::parse_str(&cfg, Some(&nconfig))?;
        config.save(&nconfig)?;
        fs::set_permissions(&nconfig, fs::Permissions::from_mode(0o640))
            .map_err(|e| Error::io("chmod", &nconfig, e))?;
        let mut c2 = Container::new(newname, Some(&newpath))?;
        let storage = storage_of(&c2)?;
        run_clone_hooks(&c2, self.name(), storage.as_ref(), hookargs)?;
        if flags & CLONE_KEEPNAME == 0 {
            if let Some(s) = &storage {
                set_rootfs_hostname(s, newname)?;
            }
        }
        // Now a container: what it depends on learns of it.
        mod_all_rdeps(&newpath, newname, true);
        undo.armed = false;
        c2.load_config(None)?;
        tracing::info!(dir = %ndir.display(), "container cloned");
        Ok(c2)
    }

    /// Hooks that live in this container's directory are copied into the clone's, and every
    /// hook path under it is rewritten (LXC's `copyhooks`).
    fn copy_hooks(&self, cfg: &str, newpath: &Path, newname: &str) -> Result<String> {
        let olddir = format!("{}/{}", self.config_path().display(), self.name());
        let prefix = format!("{olddir}/");
        for e in self
            .config()
            .entries()
            .filter(|e| e.key.starts_with("lxc.hook."))
        {
            if !e.value.starts_with(&prefix) {
                continue;
            }
            let Some(fname) = Path::new(&e.value).file_name() else {
                continue;
            };
            let dst = newpath.join(newname).join(fname);
            copy_file(Path::new(&e.value), &dst)
                .map_err(|err| Error::io("copy hook", &dst, err))?;
        }
        let newdir = format!("{}/{}", newpath.display(), newname);
        Ok(text::replace_hook_dirs(cfg, &olddir, &newdir))
    }

    /// The `lxc.mount.fstab` file is copied into the clone's directory, and the key names the
    /// copy (LXC's `copy_fstab`).
    fn copy_fstab(&self, cfg: String, newpath: &Path, newname: &str) -> Result<String> {
        let Some(old) = self
            .config()
            .last("lxc.mount.fstab")
            .filter(|v| !v.is_empty())
        else {
            return Ok(cfg);
        };
        let Some(slash) = old.rfind('/') else {
            return Err(manage_err(
                self.name(),
                "copy fstab",
                format!("{old}: no directory in the path"),
                libc::EINVAL,
            ));
        };
        let new = PathBuf::from(format!(
            "{}/{}{}",
            newpath.display(),
            newname,
            &old[slash..]
        ));
        if new.exists() {
            return Err(manage_err(
                self.name(),
                "copy fstab",
                format!("{} exists", new.display()),
                libc::EEXIST,
            ));
        }
        copy_file(Path::new(old), &new).map_err(|e| Error::io("copy fstab", &new, e))?;
        let mut cfg = text::clear_key(&cfg, "lxc.mount.fstab");
        text::append(&mut cfg, "lxc.mount.fstab", &new.to_string_lossy());
        Ok(cfg)
    }

    /// liblxc's `rename`: a clone under the new name in the same lxcpath (same storage type,
    /// hardware addresses kept), then the old container destroyed. Refused while the container
    /// has snapshots or dependants. This handle then names the new container.
    pub fn rename(&mut self, newname: &str) -> Result<()> {
        if self.has_dependants() || self.has_snapshots() {
            return Err(manage_err(
                self.name(),
                "rename",
                "renaming a container with snapshots is not supported",
                libc::EBUSY,
            ));
        }
        self.refuse_if_run_by_lxc()?;
        let new = self.clone_container(Some(newname), None, CLONE_KEEPMACADDR, None, 0, &[])?;
        // The clone is complete: the old one goes as a destroy would take it.
        {
            let _lock = self.lock_config()?;
            super::destroy_container(self)?;
        }
        *self = new;
        Ok(())
    }
}
