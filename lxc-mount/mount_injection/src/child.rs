//! The part of an injection that runs inside the container's namespaces: a child forked for
//! the one request (joining a mount or user namespace is not something a thread of a caller
//! that may have others can do and come back from), which reports one fixed-size [`Report`]
//! over a pipe and exits.
//!
//! Everything it uses was prepared before the fork ([`Plan`]); it makes only system calls,
//! never allocates, and undoes what it made before it reports a failure.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use crate::request::MAX_DEPTH;
use crate::sys;

lxc_core::wire_enum! {
    /// Where the child stopped. The numbers travel in the report.
    pub enum Step {
        Done = 0,
        DieWithParent,
        /// Drop supplementary groups before entering the user namespace.
        Groups,
        JoinUser,
        SetIds,
        JoinMount,
        /// The locking detour of a bind into a user namespace (see [`lock_for_userns`]).
        StageNs,
        StagePrivate,
        StageFs,
        StageAttach,
        StagePoint,
        StageMove,
        StageChdir,
        LockNs,
        LockClone,
        /// A new filesystem.
        FsOpen,
        FsSource,
        /// `index`: which option.
        FsOption,
        /// `index`: which superblock flag.
        FsFlag,
        FsCreate,
        FsMount,
        /// `index`: the component of the target whose directory could not be opened.
        Resolve,
        /// `index`: the missing directory that could not be made.
        Mkdir,
        CreateTarget,
        OpenTarget,
        /// `index` 1: the target is a directory and the mount is not; 2: the reverse.
        TargetType,
        Move,
        Chdir,
        Umount,
    }
}

/// What the kernel logged about a failed filesystem context, kept at most this long.
pub const LOG_MAX: usize = 256;

/// The child's one message: where it stopped, the errno, and for a filesystem the kernel's
/// own words.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub step: Step,
    pub index: u32,
    pub errno: i32,
    pub log_len: usize,
    pub log: [u8; LOG_MAX],
}

const REPORT_LEN: usize = 16 + LOG_MAX;

impl Report {
    fn ok() -> Report {
        Report {
            step: Step::Done,
            index: 0,
            errno: 0,
            log_len: 0,
            log: [0; LOG_MAX],
        }
    }

    fn encode(&self) -> [u8; REPORT_LEN] {
        let mut b = [0u8; REPORT_LEN];
        b[0..4].copy_from_slice(&(self.step as u32).to_le_bytes());
        b[4..8].copy_from_slice(&self.index.to_le_bytes());
        b[8..12].copy_from_slice(&self.errno.to_le_bytes());
        b[12..16].copy_from_slice(&(self.log_len.min(LOG_MAX) as u32).to_le_bytes());
        b[16..].copy_from_slice(&self.log);
        b
    }

    /// None: the child died before it could say anything.
    pub fn decode(b: &[u8]) -> Option<Report> {
        if b.len() != REPORT_LEN {
            return None;
        }
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut log = [0u8; LOG_MAX];
        log.copy_from_slice(&b[16..]);
        Some(Report {
            step: Step::from_u32(word(0))?,
            index: word(4),
            errno: word(8) as i32,
            log_len: (word(12) as usize).min(LOG_MAX),
            log,
        })
    }

    /// The kernel's log lines, without their `e ` prefixes.
    pub fn log_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.log[..self.log_len]);
        text.lines()
            .map(|l| l.get(2..).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A new filesystem, as fsconfig(2) takes it.
pub struct NewFs {
    pub fstype: CString,
    pub source: Option<CString>,
    pub options: Vec<(CString, Option<CString>)>,
    pub sb_flags: Vec<CString>,
    pub attrs: u64,
}

/// What the child does.
pub enum Work {
    /// Move `tree` (a detached bind made by the caller, attributes set) onto the target.
    Bind { tree: OwnedFd, is_dir: bool },
    /// Make a new filesystem in the container's namespaces and mount it on the target.
    NewFs(NewFs),
    /// umount2(2) the target with `flags`.
    Umount { flags: i32 },
}

/// Everything the child needs, made before the fork.
pub struct Plan {
    /// The container's init, for setns(2).
    pub pidfd: OwnedFd,
    /// The container's root directory, opened from the host.
    pub root: OwnedFd,
    /// Whether the container has a user namespace of its own: the work is then done as its
    /// root.
    pub userns: bool,
    pub names: Vec<CString>,
    pub prefixes: Vec<CString>,
    pub plain: Vec<bool>,
    pub work: Work,
}

type Fail = (Step, u32, i32);

fn at(step: Step, e: std::io::Error) -> Fail {
    (step, 0, sys::errno_of(&e))
}

fn at_index(step: Step, index: usize, e: std::io::Error) -> Fail {
    (step, index as u32, sys::errno_of(&e))
}

/// What the child made, to remove again if a later step fails: `(its directory, name index,
/// is a directory)`, oldest first.
struct Made {
    items: [Option<(OwnedFd, usize, bool)>; MAX_DEPTH],
    len: usize,
}

impl Made {
    fn new() -> Made {
        Made {
            items: [const { None }; MAX_DEPTH],
            len: 0,
        }
    }

    fn push(&mut self, dir: OwnedFd, index: usize, is_dir: bool) {
        if self.len < MAX_DEPTH {
            self.items[self.len] = Some((dir, index, is_dir));
            self.len += 1;
        }
    }

    /// Remove what was made, newest first. A failure leaves the rest in place (a directory
    /// someone filled meanwhile is theirs now).
    fn undo(&self, names: &[CString]) {
        for (dir, index, is_dir) in self.items[..self.len].iter().rev().flatten() {
            if let Some(name) = names.get(*index) {
                let _ = sys::unlinkat(dir.as_raw_fd(), name, *is_dir);
            }
        }
    }
}

/// Run in the forked child: do the work, write the report to `out`, exit. Never returns.
pub fn run(plan: &Plan, out: RawFd) -> ! {
    let mut report = Report::ok();
    if let Err((step, index, errno)) = work(plan, &mut report) {
        report.step = step;
        report.index = index;
        report.errno = errno;
    }
    let code = i32::from(report.step != Step::Done);
    let _ = sys::write_all(out, &report.encode());
    sys::exit_now(code)
}

fn work(plan: &Plan, report: &mut Report) -> Result<(), Fail> {
    sys::die_with_parent().map_err(|e| at(Step::DieWithParent, e))?;
    let pidfd = plan.pidfd.as_raw_fd();
    // A bind into a user namespace goes the long way, so that the container's root cannot
    // lift what the caller asked for (see `lock_for_userns`).
    let locked;
    let tree = match &plan.work {
        Work::Bind { tree, is_dir } if plan.userns => {
            locked = lock_for_userns(plan, tree, *is_dir)?;
            Some((&locked, *is_dir))
        }
        Work::Bind { tree, is_dir } => {
            sys::setns(pidfd, libc::CLONE_NEWNS).map_err(|e| at(Step::JoinMount, e))?;
            Some((tree, *is_dir))
        }
        Work::NewFs(_) | Work::Umount { .. } => {
            join(plan)?;
            None
        }
    };
    match (&plan.work, tree) {
        (Work::Bind { .. }, Some((tree, is_dir))) => place(plan, tree, is_dir),
        (Work::NewFs(fs), _) => {
            let mnt = new_fs(fs, report)?;
            place(plan, &mnt, true)
        }
        (Work::Umount { flags }, _) => umount(plan, *flags),
        (Work::Bind { .. }, None) => Err((Step::Move, 0, libc::EINVAL)),
    }
}

/// Enter the container's mount namespace, as its root when it has a user namespace.
fn join(plan: &Plan) -> Result<(), Fail> {
    let pidfd = plan.pidfd.as_raw_fd();
    if plan.userns {
        join_userns(pidfd)?;
    }
    sys::setns(pidfd, libc::CLONE_NEWNS).map_err(|e| at(Step::JoinMount, e))
}

fn join_userns(pidfd: RawFd) -> Result<(), Fail> {
    sys::clear_groups().map_err(|e| at(Step::Groups, e))?;
    sys::setns(pidfd, libc::CLONE_NEWUSER).map_err(|e| at(Step::JoinUser, e))?;
    sys::become_root().map_err(|e| at(Step::SetIds, e))
}

/// A copy of the caller's detached bind `tree` that the container's root cannot change: the
/// kernel locks a mount's flags (read-only, nosuid, nodev, noexec, atime) and its submounts
/// when it copies them into a mount namespace of a less privileged user namespace, and only
/// then. A bind moved straight in would be the container's to remount read-write.
///
/// So: a private mount namespace of the host's (nothing made in it propagates anywhere) holds
/// the tree on a scratch tmpfs; the child becomes the container's root and copies that
/// namespace into one of its user namespace (which locks everything in it); the locked copy of
/// the tree is cloned from there, and mounted in the container by the caller.
fn lock_for_userns(plan: &Plan, tree: &OwnedFd, is_dir: bool) -> Result<OwnedFd, Fail> {
    sys::unshare(libc::CLONE_NEWNS).map_err(|e| at(Step::StageNs, e))?;
    sys::make_rprivate().map_err(|e| at(Step::StagePrivate, e))?;
    let scratch = (|| {
        let fs = sys::fsopen(c"tmpfs")?;
        sys::fsconfig_create(fs.as_fd())?;
        sys::fsmount(fs.as_fd(), 0)
    })()
    .map_err(|e| at(Step::StageFs, e))?;
    sys::move_mount(scratch.as_fd(), libc::AT_FDCWD, c"/").map_err(|e| at(Step::StageAttach, e))?;
    let point = c"m";
    if is_dir {
        sys::mkdirat(scratch.as_raw_fd(), point, 0o700)
    } else {
        sys::mkfileat(scratch.as_raw_fd(), point, 0o600)
    }
    .map_err(|e| at(Step::StagePoint, e))?;
    let point_fd =
        sys::open_path_nofollow(scratch.as_raw_fd(), point).map_err(|e| at(Step::StagePoint, e))?;
    sys::move_mount(tree.as_fd(), point_fd.as_raw_fd(), c"").map_err(|e| at(Step::StageMove, e))?;
    // The working directory is carried into the next namespace (unlike any fd).
    sys::fchdir(scratch.as_raw_fd()).map_err(|e| at(Step::StageChdir, e))?;
    join_userns(plan.pidfd.as_raw_fd())?;
    sys::unshare(libc::CLONE_NEWNS).map_err(|e| at(Step::LockNs, e))?;
    let locked = sys::open_tree_clone(libc::AT_FDCWD, point, libc::AT_RECURSIVE as u32)
        .map_err(|e| at(Step::LockClone, e))?;
    sys::setns(plan.pidfd.as_raw_fd(), libc::CLONE_NEWNS).map_err(|e| at(Step::JoinMount, e))?;
    Ok(locked)
}

/// fsopen, fsconfig, fsmount: a detached mount of a new superblock.
fn new_fs(fs: &NewFs, report: &mut Report) -> Result<OwnedFd, Fail> {
    let ctx = sys::fsopen(&fs.fstype).map_err(|e| at(Step::FsOpen, e))?;
    let with_log = |report: &mut Report, f: Fail| {
        report.log_len = sys::fs_log(ctx.as_fd(), &mut report.log);
        f
    };
    if let Some(src) = &fs.source {
        sys::fsconfig_set(ctx.as_fd(), c"source", Some(src))
            .map_err(|e| with_log(report, at(Step::FsSource, e)))?;
    }
    for (i, flag) in fs.sb_flags.iter().enumerate() {
        sys::fsconfig_set(ctx.as_fd(), flag, None)
            .map_err(|e| with_log(report, at_index(Step::FsFlag, i, e)))?;
    }
    for (i, (key, value)) in fs.options.iter().enumerate() {
        sys::fsconfig_set(ctx.as_fd(), key, value.as_deref())
            .map_err(|e| with_log(report, at_index(Step::FsOption, i, e)))?;
    }
    sys::fsconfig_create(ctx.as_fd()).map_err(|e| with_log(report, at(Step::FsCreate, e)))?;
    sys::fsmount(ctx.as_fd(), fs.attrs).map_err(|e| with_log(report, at(Step::FsMount, e)))
}

/// The directory of the target (every component but the last), opened beneath the container's
/// root; with `made`, missing plain names are made (0755, as LXC's mkdir_p) and recorded.
fn open_parent(plan: &Plan, mut made: Option<&mut Made>) -> Result<OwnedFd, Fail> {
    let root = plan.root.as_raw_fd();
    let mut dir: Option<OwnedFd> = None;
    let parents = plan.names.len().saturating_sub(1);
    for i in 0..parents {
        let prefix: &CStr = &plan.prefixes[i];
        let opened = sys::open_beneath(root, prefix, libc::O_PATH | libc::O_DIRECTORY);
        let fd = match opened {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && plan.plain[i] => {
                let Some(made) = made.as_deref_mut() else {
                    return Err(at_index(Step::Resolve, i, e));
                };
                let above = dir.as_ref().map_or(root, |d| d.as_raw_fd());
                match sys::mkdirat(above, &plan.names[i], 0o755) {
                    Ok(()) => {
                        let keep = dir
                            .as_ref()
                            .map_or_else(|| plan.root.try_clone(), |d| d.try_clone())
                            .map_err(|e| at_index(Step::Mkdir, i, e))?;
                        made.push(keep, i, true);
                    }
                    // Made meanwhile by someone else: theirs to keep.
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                    Err(e) => return Err(at_index(Step::Mkdir, i, e)),
                }
                sys::open_beneath(root, prefix, libc::O_PATH | libc::O_DIRECTORY)
                    .map_err(|e| at_index(Step::Resolve, i, e))?
            }
            Err(e) => return Err(at_index(Step::Resolve, i, e)),
        };
        dir = Some(fd);
    }
    match dir {
        Some(d) => Ok(d),
        None => plan.root.try_clone().map_err(|e| at(Step::Resolve, e)),
    }
}

/// Find or make the target, check its type, and move `mnt` onto it. On failure, what was made
/// is removed again.
fn place(plan: &Plan, mnt: &OwnedFd, want_dir: bool) -> Result<(), Fail> {
    let mut made = Made::new();
    let result = place_made(plan, mnt, want_dir, &mut made);
    if result.is_err() {
        made.undo(&plan.names);
    }
    result
}

fn place_made(plan: &Plan, mnt: &OwnedFd, want_dir: bool, made: &mut Made) -> Result<(), Fail> {
    let root = plan.root.as_raw_fd();
    let last = plan.names.len() - 1;
    let parent = open_parent(plan, Some(made))?;
    let full: &CStr = &plan.prefixes[last];
    let target = match sys::open_beneath(root, full, libc::O_PATH) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            // LXC's create_mount_target: an empty directory or file, mode 0000 (what is
            // mounted on it hides it).
            let name = &plan.names[last];
            if want_dir {
                sys::mkdirat(parent.as_raw_fd(), name, 0)
            } else {
                sys::mkfileat(parent.as_raw_fd(), name, 0)
            }
            .map_err(|e| at(Step::CreateTarget, e))?;
            let keep = parent.try_clone().map_err(|e| at(Step::CreateTarget, e))?;
            made.push(keep, last, want_dir);
            sys::open_beneath(root, full, libc::O_PATH).map_err(|e| at(Step::OpenTarget, e))?
        }
        Err(e) => return Err(at(Step::OpenTarget, e)),
    };
    let kind = sys::file_type(target.as_raw_fd()).map_err(|e| at(Step::OpenTarget, e))?;
    let is_dir = kind == libc::S_IFDIR;
    if is_dir != want_dir {
        let (errno, which) = if is_dir {
            (libc::EISDIR, 1)
        } else {
            (libc::ENOTDIR, 2)
        };
        return Err((Step::TargetType, which, errno));
    }
    sys::move_mount(mnt.as_fd(), target.as_raw_fd(), c"").map_err(|e| at(Step::Move, e))
}

/// umount2 of the target's last name in its directory (never following it if it is a
/// symlink).
fn umount(plan: &Plan, flags: i32) -> Result<(), Fail> {
    let parent = open_parent(plan, None)?;
    sys::fchdir(parent.as_raw_fd()).map_err(|e| at(Step::Chdir, e))?;
    let last = plan.names.len() - 1;
    sys::umount2(&plan.names[last], flags).map_err(|e| at(Step::Umount, e))
}

impl Step {
    /// Whether the step was part of entering the container's namespaces.
    pub fn joining(self) -> bool {
        matches!(
            self,
            Step::DieWithParent | Step::Groups | Step::JoinUser | Step::SetIds | Step::JoinMount
        )
    }

    /// Whether the step was part of [`lock_for_userns`].
    pub fn locking(self) -> bool {
        matches!(
            self,
            Step::StageNs
                | Step::StagePrivate
                | Step::StageFs
                | Step::StageAttach
                | Step::StagePoint
                | Step::StageMove
                | Step::StageChdir
                | Step::LockNs
                | Step::LockClone
        )
    }
}
