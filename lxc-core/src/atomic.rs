//! Replacing a file whole, so that a reader (or a crash, or a full disk) sees either the old
//! text or the new one, never a mix, a truncated file or a stray temporary file.
//!
//! The new text goes to an unnamed file in the target's directory (O_TMPFILE, or on a
//! filesystem without it a new file with a random name made with O_EXCL), gets the old file's
//! owner and mode, is synced, named, and renamed over the target; then the directory is synced.
//! A symlink is followed to its final target, which is what is replaced (liblxc writes through
//! the link too), so the link stays a link.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::sys;

/// How many links deep a path may go before we call it a loop (the kernel's own limit).
const MAX_SYMLINKS: usize = 40;
/// How many random names are tried before giving up on a directory full of collisions.
const NAME_TRIES: usize = 16;
/// The mode of a file that did not exist: LXC's (0660, less the umask).
const NEW_FILE_MODE: u32 = 0o660;

/// Replace the file at `path` (through any symlinks) by `bytes`, keeping its owner and mode.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = resolve_links(path)?;
    let name = target
        .file_name()
        .ok_or_else(|| {
            Error::io(
                "replace file",
                &target,
                io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
            )
        })?
        .to_owned();
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let old = match fs::metadata(&target) {
        Ok(m) if m.is_file() => Some(m),
        Ok(_) => {
            return Err(Error::io(
                "replace file",
                &target,
                io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("stat", &target, e)),
    };
    let keep = old.as_ref().map(|m| Keep {
        uid: m.uid(),
        gid: m.gid(),
        mode: m.mode() & 0o7777,
    });
    let stem = format!(".{}.lxcrs-", name.to_string_lossy());

    let temp = match write_unnamed(&dir, &stem, bytes, keep.as_ref())? {
        Some(t) => t,
        None => write_named(&dir, &stem, bytes, keep.as_ref())?,
    };
    fs::rename(temp.path(), &target).map_err(|e| Error::io("rename over", &target, e))?;
    temp.disarm();
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync directory", &dir, e))?;
    tracing::debug!(path = %target.display(), bytes = bytes.len(), "file replaced");
    Ok(())
}

/// The owner and mode the replaced file had.
struct Keep {
    uid: u32,
    gid: u32,
    mode: u32,
}

/// A named temporary file that is removed unless it was renamed into place.
struct Temp(Option<PathBuf>);

impl Temp {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            if let Err(e) = fs::remove_file(&p) {
                tracing::warn!(path = %p.display(), error = %e, "could not remove temporary file");
            }
        }
    }
}

/// Follow `path` through symlinks to the file they finally name (which may not exist yet).
fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&p).map_err(|e| Error::io("read symlink", &p, e))?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(Error::io(
        "resolve symlinks",
        path,
        io::Error::from_raw_os_error(libc::ELOOP),
    ))
}

fn random_name(dir: &Path, stem: &str) -> Result<PathBuf> {
    let r = sys::random_u64().map_err(|e| Error::io("getrandom for a temporary name", dir, e))?;
    Ok(dir.join(format!("{stem}{r:016x}")))
}

/// The new content, owner and mode, synced to disk.
fn fill(file: &mut File, bytes: &[u8], keep: Option<&Keep>) -> io::Result<()> {
    file.write_all(bytes)?;
    if let Some(k) = keep {
        let now = file.metadata()?;
        if (now.uid(), now.gid()) != (k.uid, k.gid) {
            std::os::unix::fs::fchown(file.as_fd(), Some(k.uid), Some(k.gid))?;
        }
        // After the chown, which may clear set-id bits.
        file.set_permissions(fs::Permissions::from_mode(k.mode))?;
    }
    file.sync_all()
}

fn create_mode(keep: Option<&Keep>) -> u32 {
    // An existing file's mode is set exactly by fill(); until then only we may read it.
    if keep.is_some() {
        0o600
    } else {
        NEW_FILE_MODE
    }
}

/// Write through O_TMPFILE, then give the file a random name. `None`: this filesystem (or a
/// missing /proc) does not allow it, so the caller writes a named file instead.
fn write_unnamed(
    dir: &Path,
    stem: &str,
    bytes: &[u8],
    keep: Option<&Keep>,
) -> Result<Option<Temp>> {
    let mut file = match OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(create_mode(keep))
        .open(dir)
    {
        Ok(f) => f,
        Err(e) if unnamed_unsupported(&e) => return Ok(None),
        Err(e) => return Err(Error::io("create temporary file in", dir, e)),
    };
    fill(&mut file, bytes, keep).map_err(|e| Error::io("write temporary file in", dir, e))?;
    for _ in 0..NAME_TRIES {
        let name = random_name(dir, stem)?;
        match sys::link_tmpfile(file.as_fd(), &name) {
            Ok(()) => return Ok(Some(Temp(Some(name)))),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                tracing::debug!(dir = %dir.display(), error = %e, "cannot name an O_TMPFILE file");
                return Ok(None);
            }
        }
    }
    Err(Error::io(
        "name temporary file in",
        dir,
        io::Error::from_raw_os_error(libc::EEXIST),
    ))
}

/// O_TMPFILE's "not here": an old kernel (EISDIR) or a filesystem without it (EOPNOTSUPP).
fn unnamed_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL)
    )
}

/// Write a new file with a random name, made with O_EXCL; removed again on any error.
fn write_named(dir: &Path, stem: &str, bytes: &[u8], keep: Option<&Keep>) -> Result<Temp> {
    for _ in 0..NAME_TRIES {
        let name = random_name(dir, stem)?;
        let mut file = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(create_mode(keep))
            .open(&name)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("create temporary file", &name, e)),
        };
        let temp = Temp(Some(name));
        fill(&mut file, bytes, keep)
            .map_err(|e| Error::io("write temporary file", temp.path(), e))?;
        return Ok(temp);
    }
    Err(Error::io(
        "create temporary file in",
        dir,
        io::Error::from_raw_os_error(libc::EEXIST),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
    fn dir(tag: &str) -> Dir {
        let d = PathBuf::from(format!("/tmp/lxcrs-t-atomic-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn both_ways_of_writing_replace_and_leave_nothing() {
        let d = dir("ways");
        let f = d.0.join("config");
        fs::write(&f, "old\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o604)).unwrap();
        replace_file(&f, b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "new\n");
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, 0o604);

        // The named fallback, as on a filesystem without O_TMPFILE.
        let keep = Keep {
            uid: 0,
            gid: 0,
            mode: 0o640,
        };
        let keep = fs::metadata(&f)
            .map(|m| Keep {
                uid: m.uid(),
                gid: m.gid(),
                ..keep
            })
            .unwrap();
        let t = write_named(&d.0, ".config.lxcrs-", b"named\n", Some(&keep)).unwrap();
        fs::rename(t.path(), &f).unwrap();
        t.disarm();
        assert_eq!(fs::read_to_string(&f).unwrap(), "named\n");
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(names(&d.0), ["config"]);
    }

    /// A full filesystem (a 16 KiB tmpfs): both ways of writing fail with ENOSPC and leave
    /// nothing, and the old file stays as it was.
    #[test]
    fn a_full_disk_leaves_nothing_either_way() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: mounting a tiny tmpfs needs root");
            return;
        }
        let d = dir("full");
        nix::mount::mount(
            Some("tmpfs"),
            &d.0,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("size=16k,mode=0755"),
        )
        .unwrap();
        struct Unmount<'a>(&'a Path);
        impl Drop for Unmount<'_> {
            fn drop(&mut self) {
                let _ = nix::mount::umount2(self.0, nix::mount::MntFlags::MNT_DETACH);
            }
        }
        let _u = Unmount(&d.0);
        let f = d.0.join("config");
        fs::write(&f, "old\n").unwrap();
        let big = vec![b'x'; 256 * 1024];
        let keep = fs::metadata(&f)
            .map(|m| Keep {
                uid: m.uid(),
                gid: m.gid(),
                mode: m.mode() & 0o7777,
            })
            .unwrap();
        let e = write_named(&d.0, ".config.lxcrs-", &big, Some(&keep))
            .err()
            .unwrap();
        assert!(e.to_string().contains("No space left"), "{e}");
        assert_eq!(names(&d.0), ["config"]);
        let e = write_unnamed(&d.0, ".config.lxcrs-", &big, Some(&keep))
            .err()
            .unwrap();
        assert!(e.to_string().contains("No space left"), "{e}");
        assert_eq!(names(&d.0), ["config"]);
        let e = replace_file(&f, &big).unwrap_err();
        assert!(e.to_string().contains("No space left"), "{e}");
        assert_eq!(names(&d.0), ["config"]);
        assert_eq!(fs::read_to_string(&f).unwrap(), "old\n");
    }

    #[test]
    fn symlinks_are_followed_to_the_file() {
        let d = dir("links");
        fs::create_dir(d.0.join("real")).unwrap();
        fs::write(d.0.join("real/config"), "old\n").unwrap();
        std::os::unix::fs::symlink("real/config", d.0.join("one")).unwrap();
        std::os::unix::fs::symlink(d.0.join("one"), d.0.join("two")).unwrap();
        replace_file(&d.0.join("two"), b"new\n").unwrap();
        assert!(fs::symlink_metadata(d.0.join("two"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(d.0.join("one"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            fs::read_to_string(d.0.join("real/config")).unwrap(),
            "new\n"
        );
        assert_eq!(names(&d.0.join("real")), ["config"]);

        std::os::unix::fs::symlink("loop", d.0.join("loop")).unwrap();
        let e = replace_file(&d.0.join("loop"), b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic links"), "{e}");
    }
}
