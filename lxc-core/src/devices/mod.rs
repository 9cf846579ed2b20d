//! Device nodes on a running container, without a restart: liblxc's `add_device_node` and
//! `remove_device_node` (lxccontainer.c, `add_remove_device_node`), as `lxc-device` uses them.
//!
//! LXC's semantics, kept: the container must be running; the caller must be root on the host;
//! the host's node must be a character or block device; the path in the container defaults to
//! the host's path; adding makes the missing directories above it (0755), replaces what is
//! there (but a directory) with a node of the host node's type and number, then allows
//! `c|b MAJ:MIN rwm` through the running container's `devices.allow`; removing deletes the node
//! and writes the same rule to `devices.deny`. The rule goes through the generic cgroup item path
//! ([`Container::set_cgroup_item`]), so whichever way the cgroup driver enforces device rules
//! (the v1 controller, or cgroup2's device program) it applies.
//!
//! Where lxc-rs differs, and why:
//! - LXC stats the *destination* path on the host (a destination that exists only in the
//!   container fails, and a different host node there would be the one added); lxc-rs stats the
//!   source, which is what the API's arguments say.
//! - LXC chroots into `/proc/<init>/root`, where `..` and symlinks quietly stay inside; lxc-rs
//!   opens that root from the host and resolves the destination's directory with
//!   `RESOLVE_BENEATH`, so a path that would climb out of it (`..` above the root, a symlink
//!   to an absolute path or one that climbs out, a /proc magic link) is refused with an error
//!   instead of being reinterpreted (a directory reached through an absolute symlink, like
//!   Debian's /var/run -> /run, is refused too: name its real path). The node itself is made
//!   and removed by name in that directory's fd: no path is resolved twice.
//! - The node gets the host node's permission bits exactly (LXC's are cut by its umask).
//! - A failure of either half undoes the other (LXC leaves a node without its rule): the node
//!   is made under a hidden temporary name and swapped in (`RENAME_EXCHANGE` keeps what it
//!   replaces until the rule is set); on removal it is hidden first and deleted once the rule
//!   is written.
//! - Removing refuses anything at the destination that is not a device node (LXC unlinks any
//!   file there): a wrong path never deletes a file.

mod sys;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::FileStat;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::phase::UndoStack;

/// Add or remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Add => "add device node",
            Op::Remove => "remove device node",
        }
    }

    /// The cgroup item that carries the rule.
    fn cgroup_key(self) -> &'static str {
        match self {
            Op::Add => "devices.allow",
            Op::Remove => "devices.deny",
        }
    }
}

/// The host's device: type and permission bits, number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HostDevice {
    mode: u32,
    rdev: u64,
}

impl HostDevice {
    /// LXC's rule for it: `c 1:8 rwm`.
    fn rule(self) -> String {
        let kind = if sys::file_type(self.mode) == libc::S_IFBLK {
            'b'
        } else {
            'c'
        };
        format!(
            "{kind} {}:{} rwm",
            libc::major(self.rdev),
            libc::minor(self.rdev)
        )
    }
}

impl Container {
    /// `add_device_node`: make the host's character or block device `src_path` appear in the
    /// running container at `dest_path` (default: the same path), and allow it in the
    /// container's device rules. Nothing is changed when either half fails.
    pub fn add_device_node(&self, src_path: &Path, dest_path: Option<&Path>) -> Result<()> {
        change(self, Op::Add, src_path, dest_path)
    }

    /// `remove_device_node`: remove the node at `dest_path` (default: `src_path`) from the
    /// running container and deny the host device `src_path` in its device rules. A missing
    /// node is not an error (the rule is still written); nothing is changed when either half
    /// fails.
    pub fn remove_device_node(&self, src_path: &Path, dest_path: Option<&Path>) -> Result<()> {
        change(self, Op::Remove, src_path, dest_path)
    }
}

/// What one call needs to report an error.
struct Ctx<'a> {
    c: &'a Container,
    op: Op,
}

impl Ctx<'_> {
    fn err(&self, path: &Path, message: impl Into<String>, errno: i32) -> Error {
        Error::DeviceNode {
            name: self.c.name().to_string(),
            op: self.op.label(),
            path: path.to_path_buf(),
            message: message.into(),
            errno,
        }
    }

    /// An error about `path` in the container.
    fn inside(&self, path: &Path, what: &str, e: &io::Error) -> Error {
        self.err(
            path,
            format!("{what} in the container: {}", errno_text(e)),
            e.raw_os_error().unwrap_or(libc::EIO),
        )
    }
}

/// An io::Error's text without the " (os error N)" tail: the errno travels in the error.
fn errno_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn kind_name(mode: u32) -> &'static str {
    match sys::file_type(mode) {
        libc::S_IFREG => "a regular file",
        libc::S_IFDIR => "a directory",
        libc::S_IFLNK => "a symlink",
        libc::S_IFIFO => "a FIFO",
        libc::S_IFSOCK => "a socket",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        _ => "of an unknown type",
    }
}

fn change(c: &Container, op: Op, src: &Path, dest: Option<&Path>) -> Result<()> {
    let cx = Ctx { c, op };
    // Making a node takes CAP_MKNOD in the host's user namespace (LXC refuses unprivileged
    // callers before anything else too).
    if !nix::unistd::geteuid().is_root() {
        return Err(cx.err(src, "needs root on the host", libc::EPERM));
    }
    let init = c.init_pidfd().map_err(|e| e.with_lxc_tool("lxc-device"))?;
    let dev = host_device(&cx, src)?;
    let dest = dest.unwrap_or(src);
    let (parent, leaf) = split_dest(&cx, dest)?;
    let root = container_root(&cx, init.as_fd())?;
    let rule = dev.rule();
    tracing::debug!(
        container = c.name(),
        src = %src.display(),
        dest = %dest.display(),
        rule,
        "{}",
        op.label()
    );
    let mut undo = UndoStack::default();
    let result = match op {
        Op::Add => add(&cx, &root, dev, dest, &parent, &leaf, &rule, &mut undo),
        Op::Remove => remove(&cx, &root, dest, &parent, &leaf, &rule, &mut undo),
    };
    match result {
        Ok(commit) => {
            commit.run(&cx, dest);
            tracing::info!(
                container = c.name(),
                src = %src.display(),
                dest = %dest.display(),
                rule,
                "{}",
                op.label()
            );
            Ok(())
        }
        Err(e) => {
            undo.unwind();
            Err(e)
        }
    }
}

/// The host's node: a character or block device (symlinks followed, as LXC's `stat`).
fn host_device(cx: &Ctx<'_>, src: &Path) -> Result<HostDevice> {
    let st = sys::stat(src)
        .map_err(|e| cx.err(src, errno_text(&e), e.raw_os_error().unwrap_or(libc::EIO)))?;
    if !sys::is_device(&st) {
        return Err(cx.err(
            src,
            format!(
                "is {}, not a character or block device",
                kind_name(st.st_mode)
            ),
            libc::EINVAL,
        ));
    }
    Ok(HostDevice {
        mode: st.st_mode,
        rdev: st.st_rdev,
    })
}

/// The destination's directory (relative to the container's root) and its last name. LXC
/// resolves it from the container's `/`, relative or not.
fn split_dest(cx: &Ctx<'_>, dest: &Path) -> Result<(PathBuf, PathBuf)> {
    let mut parts: Vec<Component<'_>> = dest
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
        .collect();
    match parts.pop() {
        Some(Component::Normal(leaf)) => Ok((parts.iter().collect(), PathBuf::from(leaf))),
        _ => Err(cx.err(
            dest,
            "names no file in the container (expected a path such as /dev/foo)",
            libc::EINVAL,
        )),
    }
}

/// The container's root directory, as its init sees it. The pidfd proves the pid still
/// names that init once the directory is open (a pid reused after a stop would not be alive
/// under this pidfd).
fn container_root(cx: &Ctx<'_>, init: BorrowedFd<'_>) -> Result<OwnedFd> {
    let name = cx.c.name();
    let pid = crate::attach::pidfd_pid(name, init)?;
    let path = PathBuf::from(format!("/proc/{pid}/root"));
    let root = sys::open_dir(&path).map_err(|e| Error::Sys {
        name: name.to_string(),
        op: "open the container's root",
        source: e,
    })?;
    crate::sys::pidfd_send_signal(init, 0).map_err(|_| Error::NotRunning {
        name: name.to_string(),
    })?;
    Ok(root)
}

/// A hidden name beside the destination for the node on its way in or out.
fn temp_name(cx: &Ctx<'_>, dest: &Path) -> Result<PathBuf> {
    let r = crate::sys::random_u64().map_err(|e| {
        cx.err(
            dest,
            format!("random name: {}", errno_text(&e)),
            e.raw_os_error().unwrap_or(libc::EIO),
        )
    })?;
    Ok(PathBuf::from(format!(
        ".lxc-rs-devnode.{}.{r:016x}",
        std::process::id()
    )))
}

fn dup(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

/// The destination's directory under `root`. With `create`, missing directories are made
/// (0755, as LXC's mkdir_p) and their removal pushed onto `undo`; without it, a missing one
/// is `None`.
fn open_parent(
    cx: &Ctx<'_>,
    root: &OwnedFd,
    parent: &Path,
    create: bool,
    undo: &mut UndoStack,
) -> Result<Option<OwnedFd>> {
    let shown = |p: &Path| Path::new("/").join(p);
    let refused = |prefix: &Path, e: io::Error| match e.raw_os_error() {
        Some(libc::EXDEV) => cx.err(
            &shown(prefix),
            "leads out of the container's root (through `..` or a symlink): refused",
            libc::EXDEV,
        ),
        Some(libc::ELOOP) => cx.err(
            &shown(prefix),
            "too many symlinks, or a /proc magic link, in the container: refused",
            libc::ELOOP,
        ),
        _ => cx.inside(&shown(prefix), "open", &e),
    };
    let mut dir = dup(root.as_fd()).map_err(|e| cx.inside(Path::new("/"), "open", &e))?;
    let mut prefix = PathBuf::new();
    for comp in parent.components() {
        prefix.push(comp);
        let e = match sys::open_dir_beneath(root.as_fd(), &prefix) {
            Ok(fd) => {
                dir = fd;
                continue;
            }
            Err(e) => e,
        };
        let missing = match comp {
            Component::Normal(name) if e.raw_os_error() == Some(libc::ENOENT) => name,
            _ => return Err(refused(&prefix, e)),
        };
        if !create {
            return Ok(None);
        }
        let name = PathBuf::from(missing);
        match sys::mkdir_at(dir.as_fd(), &name, 0o755) {
            Ok(()) => {
                let at = dup(dir.as_fd()).map_err(|e| cx.inside(&shown(&prefix), "mkdir", &e))?;
                undo.push(
                    format!("remove directory {}", shown(&prefix).display()),
                    move || sys::rmdir_at(at.as_fd(), &name).map_err(|e| errno_text(&e)),
                );
            }
            // Made meanwhile by someone else: theirs to keep.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(cx.inside(&shown(&prefix), "mkdir", &e)),
        }
        dir = sys::open_dir_beneath(root.as_fd(), &prefix).map_err(|e| refused(&prefix, e))?;
    }
    Ok(Some(dir))
}

/// What is left to do once both halves succeeded.
enum Commit {
    Nothing,
    /// Delete `name` in `dir`: what the new node replaced, or the removed node.
    Unlink {
        dir: OwnedFd,
        name: PathBuf,
    },
}

impl Commit {
    /// Failures are only logged: both halves are done, and what is left is a hidden entry
    /// that no device rule allows.
    fn run(self, cx: &Ctx<'_>, dest: &Path) {
        if let Commit::Unlink { dir, name } = self {
            let r = sys::unlink_at(dir.as_fd(), &name).or_else(|e| {
                if e.raw_os_error() == Some(libc::EISDIR) {
                    sys::rmdir_at(dir.as_fd(), &name)
                } else {
                    Err(e)
                }
            });
            if let Err(e) = r {
                tracing::warn!(
                    container = cx.c.name(),
                    dest = %dest.display(),
                    entry = %name.display(),
                    error = %e,
                    "cannot delete the replaced entry beside the device node"
                );
            }
        }
    }
}

/// Whether the entry `name` in `dir` is still the node we made (same inode).
fn is_ours(dir: BorrowedFd<'_>, name: &Path, id: (u64, u64)) -> bool {
    sys::lstat_at(dir, name).is_ok_and(|st: FileStat| (st.st_dev, st.st_ino) == id)
}

#[allow(clippy::too_many_arguments)]
fn add(
    cx: &Ctx<'_>,
    root: &OwnedFd,
    dev: HostDevice,
    dest: &Path,
    parent: &Path,
    leaf: &Path,
    rule: &str,
    undo: &mut UndoStack,
) -> Result<Commit> {
    let Some(dir) = open_parent(cx, root, parent, true, undo)? else {
        return Err(cx.err(
            dest,
            "its directory is missing in the container",
            libc::ENOENT,
        ));
    };
    let existing = match sys::lstat_at(dir.as_fd(), leaf) {
        Ok(st) if sys::file_type(st.st_mode) == libc::S_IFDIR => {
            return Err(cx.err(
                dest,
                "is a directory in the container: not replaced by a device node",
                libc::EISDIR,
            ))
        }
        Ok(_) => true,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => false,
        Err(e) => return Err(cx.inside(dest, "stat", &e)),
    };

    let tmp = temp_name(cx, dest)?;
    sys::mknod_at(dir.as_fd(), &tmp, dev.mode, dev.rdev)
        .map_err(|e| cx.inside(dest, "mknod", &e))?;
    let id = match sys::set_node_mode(dir.as_fd(), &tmp, dev.mode, dev.rdev) {
        Ok(id) => id,
        Err(e) => {
            let _ = sys::unlink_at(dir.as_fd(), &tmp);
            return Err(cx.inside(dest, "chmod", &e));
        }
    };

    // In place of what was there (kept under the hidden name until the rule is set), or new.
    let mut commit = Commit::Nothing;
    let placed = if existing {
        sys::rename_at(dir.as_fd(), &tmp, leaf, sys::Rename::Exchange)
            .map(|()| true)
            .or_else(|e| {
                if sys::flag_unsupported(&e) {
                    // This filesystem cannot swap: replace, as LXC does (unlink, then mknod).
                    sys::rename_at(dir.as_fd(), &tmp, leaf, sys::Rename::Replace).map(|()| false)
                } else {
                    Err(e)
                }
            })
    } else {
        sys::rename_at(dir.as_fd(), &tmp, leaf, sys::Rename::NoReplace)
            .or_else(|e| {
                if sys::flag_unsupported(&e) {
                    sys::rename_at(dir.as_fd(), &tmp, leaf, sys::Rename::Replace)
                } else {
                    Err(e)
                }
            })
            .map(|()| false)
    };
    match placed {
        Ok(true) => {
            let (d, t, l) = (
                dup(dir.as_fd()).map_err(|e| cx.inside(dest, "mknod", &e))?,
                tmp.clone(),
                leaf.to_path_buf(),
            );
            undo.push(format!("put back what {} was", dest.display()), move || {
                sys::rename_at(d.as_fd(), &t, &l, sys::Rename::Exchange)
                    .map_err(|e| errno_text(&e))?;
                if is_ours(d.as_fd(), &t, id) {
                    sys::unlink_at(d.as_fd(), &t).map_err(|e| errno_text(&e))?;
                }
                Ok(())
            });
            commit = Commit::Unlink {
                dir: dup(dir.as_fd()).map_err(|e| cx.inside(dest, "mknod", &e))?,
                name: tmp,
            };
        }
        Ok(false) => {
            let (d, l) = (
                dup(dir.as_fd()).map_err(|e| cx.inside(dest, "mknod", &e))?,
                leaf.to_path_buf(),
            );
            undo.push(
                format!("remove device node {}", dest.display()),
                move || {
                    if is_ours(d.as_fd(), &l, id) {
                        sys::unlink_at(d.as_fd(), &l).map_err(|e| errno_text(&e))?;
                    }
                    Ok(())
                },
            );
        }
        Err(e) => {
            let _ = sys::unlink_at(dir.as_fd(), &tmp);
            let what = if e.raw_os_error() == Some(libc::EEXIST) {
                "create (something appeared there meanwhile)"
            } else {
                "create"
            };
            return Err(cx.inside(dest, what, &e));
        }
    }

    set_rule(cx, dest, rule)?;
    Ok(commit)
}

fn remove(
    cx: &Ctx<'_>,
    root: &OwnedFd,
    dest: &Path,
    parent: &Path,
    leaf: &Path,
    rule: &str,
    undo: &mut UndoStack,
) -> Result<Commit> {
    let mut commit = Commit::Nothing;
    if let Some(dir) = open_parent(cx, root, parent, false, undo)? {
        match sys::lstat_at(dir.as_fd(), leaf) {
            Ok(st) if sys::is_device(&st) => {
                // Hidden first, deleted once the rule is written, put back if it cannot be.
                let tmp = temp_name(cx, dest)?;
                sys::rename_at(dir.as_fd(), leaf, &tmp, sys::Rename::NoReplace)
                    .or_else(|e| {
                        if sys::flag_unsupported(&e) {
                            sys::rename_at(dir.as_fd(), leaf, &tmp, sys::Rename::Replace)
                        } else {
                            Err(e)
                        }
                    })
                    .map_err(|e| cx.inside(dest, "remove", &e))?;
                let (d, t, l) = (
                    dup(dir.as_fd()).map_err(|e| cx.inside(dest, "remove", &e))?,
                    tmp.clone(),
                    leaf.to_path_buf(),
                );
                undo.push(
                    format!("put back device node {}", dest.display()),
                    move || {
                        sys::rename_at(d.as_fd(), &t, &l, sys::Rename::NoReplace)
                            .map_err(|e| errno_text(&e))
                    },
                );
                commit = Commit::Unlink { dir, name: tmp };
            }
            Ok(st) => {
                return Err(cx.err(
                    dest,
                    format!(
                        "is {} in the container, not a device node: left as it is",
                        kind_name(st.st_mode)
                    ),
                    libc::EINVAL,
                ))
            }
            // No node: LXC writes the rule all the same.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(cx.inside(dest, "stat", &e)),
        }
    }
    set_rule(cx, dest, rule)?;
    Ok(commit)
}

/// The rule half, through the running container's cgroup item path.
fn set_rule(cx: &Ctx<'_>, dest: &Path, rule: &str) -> Result<()> {
    let key = cx.op.cgroup_key();
    // The cgroup driver's message names the file it wrote (`devices.allow: write ...`).
    cx.c.set_cgroup_item(key, rule).map_err(|e| match e {
        Error::Command { message, errno, .. } => {
            cx.err(dest, format!("rule {rule}: {message}"), errno)
        }
        e @ (Error::NotRunning { .. } | Error::RunByLxc { .. }) => e,
        e => cx.err(dest, format!("rule {rule}: {key}: {e}"), e.errno()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(c: &Container) -> Ctx<'_> {
        Ctx { c, op: Op::Add }
    }

    #[test]
    fn rules_are_lxcs() {
        let d = HostDevice {
            mode: libc::S_IFCHR | 0o666,
            rdev: libc::makedev(1, 8),
        };
        assert_eq!(d.rule(), "c 1:8 rwm");
        let d = HostDevice {
            mode: libc::S_IFBLK | 0o660,
            rdev: libc::makedev(259, 70000),
        };
        assert_eq!(d.rule(), "b 259:70000 rwm");
    }

    #[test]
    fn destinations_resolve_from_the_containers_root() {
        let c = Container::new_unloaded("c1", Some(Path::new("/nonexistent"))).expect("handle");
        let cx = cx(&c);
        let split = |p: &str| split_dest(&cx, Path::new(p));
        assert_eq!(
            split("/dev/net/tun").ok(),
            Some((PathBuf::from("dev/net"), PathBuf::from("tun")))
        );
        assert_eq!(
            split("dev/fuse").ok(),
            Some((PathBuf::from("dev"), PathBuf::from("fuse")))
        );
        assert_eq!(
            split("/dev/../x").ok(),
            Some((PathBuf::from("dev/.."), PathBuf::from("x")))
        );
        for bad in ["/", "", "/dev/..", "."] {
            let e = split(bad).expect_err(bad);
            assert_eq!(e.errno(), libc::EINVAL, "{bad}");
        }
    }

    #[test]
    fn host_nodes_must_be_devices() {
        let c = Container::new_unloaded("c1", Some(Path::new("/nonexistent"))).expect("handle");
        let cx = cx(&c);
        let e = host_device(&cx, Path::new("/")).expect_err("a directory");
        assert_eq!(e.errno(), libc::EINVAL);
        assert_eq!(
            e.to_string(),
            "c1: add device node /: is a directory, not a character or block device"
        );
        let e = host_device(&cx, Path::new("/nonexistent/dev")).expect_err("missing");
        assert_eq!(e.errno(), libc::ENOENT);
        assert_eq!(
            e.to_string(),
            "c1: add device node /nonexistent/dev: No such file or directory"
        );
        let d = host_device(&cx, Path::new("/dev/null")).expect("/dev/null");
        assert_eq!(d.rule(), "c 1:3 rwm");
    }
}
