//! `create -B TYPE`: a container whose rootfs is on a storage backend. The template builds a
//! `dir` rootfs at `<dir>/rootfs` first; the backend is then made and the tree moved into it,
//! leaving `<dir>/rootfs` as the (empty) mount point, as LXC leaves it. The config names the
//! backend in `lxc.rootfs.path` as LXC's `create` writes it.

use std::os::fd::AsFd;
use std::path::Path;

use lxc_storage::{Kind, Specs, Storage};

use super::{manage_err, storage_err};
use crate::container::Container;
use crate::error::{Error, Result};
use crate::template::CreateOptions;

/// The types `-B` may name: one, `best` (btrfs where the lxcpath is on btrfs, else dir), or a
/// comma list tried in order.
fn candidates(bdevtype: &str, lxcpath: &Path) -> Vec<String> {
    match bdevtype {
        "best" if lxc_storage::is_btrfs_fs(lxcpath) => vec!["btrfs".into(), "dir".into()],
        "best" => vec!["dir".into()],
        t => t.split(',').map(str::to_string).collect(),
    }
}

impl Container {
    /// `create` with LXC's `-B` (`bdevtype`, default `dir`) and its `--fstype`, `--fssize`,
    /// `--dir` (`specs`). A failed create leaves nothing.
    pub fn create_with_storage(
        &mut self,
        opts: &CreateOptions,
        bdevtype: Option<&str>,
        specs: &Specs,
    ) -> Result<()> {
        let types = candidates(bdevtype.unwrap_or("dir"), self.config_path());
        let kinds: Vec<Kind> = types
            .iter()
            .map(|t| Kind::from_name(t))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| storage_err(self.name(), "create", e))?;
        if kinds == [Kind::Dir] && specs.dir.is_none() {
            return self.create(opts);
        }
        self.create(opts)?;
        let mut last = None;
        for kind in kinds {
            match self.move_rootfs_to(kind, specs) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::info!(kind = kind.name(), error = %e, "storage type not usable");
                    last = Some(e);
                }
            }
        }
        let e = last.unwrap_or_else(|| {
            manage_err(self.name(), "create", "no storage type given", libc::EINVAL)
        });
        if let Err(u) = crate::template::destroy(self.config_path(), self.name()) {
            tracing::warn!(error = %u, "removing the failed container");
        }
        Err(e)
    }

    /// Move the template's `<dir>/rootfs` tree onto a new `kind` storage and point the config
    /// at it. Undoes the storage on failure.
    fn move_rootfs_to(&mut self, kind: Kind, specs: &Specs) -> Result<()> {
        let dir = self.dir();
        let rootfs = dir.join("rootfs");
        let current = self.config().last("lxc.rootfs.path").map(str::to_string);
        if current.as_deref() != Some(rootfs.to_string_lossy().as_ref()) {
            return Err(manage_err(
                self.name(),
                "create",
                "-B needs the template's own rootfs (no lxc.rootfs.path in the base config)",
                libc::EINVAL,
            ));
        }
        let err = |e| storage_err(self.name(), "create storage", e);
        let storage = match kind {
            Kind::Overlay => {
                // The template's tree is the lower layer where it is.
                Storage::create(kind, &rootfs, specs).map_err(err)?
            }
            Kind::Btrfs => {
                let staging = dir.join("rootfs.btrfs");
                let s = Storage::create(kind, &staging, specs).map_err(err)?;
                let moved = move_tree(&rootfs, &s).and_then(|()| {
                    std::fs::remove_dir(&rootfs).map_err(|e| Error::io("remove", &rootfs, e))?;
                    std::fs::rename(&staging, &rootfs).map_err(|e| Error::io("rename", &staging, e))
                });
                if let Err(e) = moved {
                    let _ = s.destroy();
                    return Err(e);
                }
                Storage::parse(&format!("btrfs:{}", rootfs.display())).map_err(err)?
            }
            Kind::Loop | Kind::Dir => {
                let s = Storage::create(kind, &rootfs, specs).map_err(err)?;
                if let Err(e) = move_tree(&rootfs, &s) {
                    if kind == Kind::Loop {
                        let _ = s.destroy();
                    }
                    return Err(e);
                }
                s
            }
        };
        let _lock = self.lock_config()?;
        self.set_config_item("lxc.rootfs.path", storage.src())?;
        self.save_config(None)?;
        tracing::info!(rootfs = storage.src(), "rootfs moved onto its storage");
        Ok(())
    }
}

/// Copy the directory `from` into `to`'s storage, then empty `from` (it stays as a mount point).
fn move_tree(from: &Path, to: &Storage) -> Result<()> {
    let name = from.display().to_string();
    let src = std::fs::File::open(from).map_err(|e| Error::io("open", from, e))?;
    let m = to
        .mount(None)
        .map_err(|e| storage_err(&name, "mount new storage", e))?;
    lxc_storage::copy::copy_tree(src.as_fd(), m.root(), from)
        .map_err(|e| storage_err(&name, "copy the rootfs", e))?;
    drop(m);
    let rd = std::fs::read_dir(from).map_err(|e| Error::io("read directory", from, e))?;
    for e in rd.filter_map(|e| e.ok()) {
        lxc_storage::remove_tree(&e.path())
            .map_err(|err| storage_err(&name, "empty the template's rootfs", err))?;
    }
    Ok(())
}
