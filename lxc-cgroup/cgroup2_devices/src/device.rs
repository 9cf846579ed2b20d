//! A container cgroup's device program: the list it is made from, and the program attached to
//! the cgroup, loaded, attached, replaced and detached as LXC 5.0.2 does
//! (`bpf_cgroup_devices_attach`, `bpf_cgroup_devices_update`, `bpf_program_cgroup_detach`).
//!
//! The attachment is a legacy BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI: the kernel keeps it for
//! as long as the cgroup exists, whoever holds (or closed) the fds, so the rules stay in force
//! when the monitor is gone. Dropping a [`DeviceCgroup`] therefore detaches nothing: a copy
//! of the monitor (its watchdog, the container's first process before exec) must not take the
//! rules away by exiting. Only [`DeviceCgroup::detach`] does, at stop.

use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI8, Ordering};

use crate::error::{Error, Result};
use crate::list::DeviceList;
use crate::program;
use crate::rule::DeviceRule;
use crate::sys;

const LICENSE: &CStr = c"GPL";
/// Room for the verifier's level-1 log of a failed load (LXC gives it 8 MiB at level 3 when
/// tracing; level 1 of a program this small needs far less).
const LOG_SIZE: usize = 1 << 20;
/// The most of a verifier log an error carries (its end, where the reason is).
const LOG_KEEP: usize = 4096;

/// Whether BPF_PROG_ATTACH takes BPF_F_REPLACE here: unknown (-1) until the first update
/// tries it, as LXC's `can_use_bpf_replace`.
static CAN_REPLACE: AtomicI8 = AtomicI8::new(-1);

/// The program attached to a cgroup, and the cgroup: what detaching or replacing it needs.
#[derive(Debug)]
struct Attached {
    cgroup: OwnedFd,
    prog: OwnedFd,
}

/// How an update puts the new program in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// As LXC: BPF_F_REPLACE where the kernel has it, else attach the new one, then detach
    /// the old one.
    Auto,
    /// Always attach the new one, then detach the old one (LXC's way on kernels before 5.6;
    /// tests use it to run that path here).
    AttachThenDetach,
}

/// A container cgroup's device list and the program made from it.
#[derive(Debug)]
pub struct DeviceCgroup {
    path: PathBuf,
    list: DeviceList,
    attached: Option<Attached>,
    swap: Swap,
}

impl DeviceCgroup {
    /// The list for the cgroup at `path` (the container's limit cgroup); nothing attached yet.
    pub fn new(path: impl Into<PathBuf>, list: DeviceList) -> Self {
        DeviceCgroup {
            path: path.into(),
            list,
            attached: None,
            swap: Swap::Auto,
        }
    }

    /// Choose how updates swap programs.
    pub fn with_swap(mut self, swap: Swap) -> Self {
        self.swap = swap;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn list(&self) -> &DeviceList {
        &self.list
    }

    /// Whether this handle attached a program (and has not detached it).
    pub fn is_attached(&self) -> bool {
        self.attached.is_some()
    }

    /// At start: attach the list's program, unless the list is empty (LXC attaches nothing
    /// then, and every device stays allowed).
    pub fn activate(&mut self) -> Result<()> {
        if self.list.rules.is_empty() {
            tracing::debug!(cgroup = %self.path.display(), "device list empty: no program");
            return Ok(());
        }
        self.attach_new()
    }

    fn attach_new(&mut self) -> Result<()> {
        let cgroup = sys::open_cgroup(&self.path).map_err(|source| Error::Cgroup {
            op: "open cgroup",
            path: self.path.clone(),
            source,
        })?;
        let prog = load(&self.path, &self.list)?;
        sys::prog_attach(cgroup.as_fd(), prog.as_fd(), sys::BPF_F_ALLOW_MULTI, None).map_err(
            |source| Error::Cgroup {
                op: "attach the device program to",
                path: self.path.clone(),
                source,
            },
        )?;
        tracing::debug!(cgroup = %self.path.display(), rules = self.list.emitted().count(), "device program attached");
        self.attached = Some(Attached { cgroup, prog });
        Ok(())
    }

    /// A rule for the running container (LXC's `bpf_cgroup_devices_update`): added to the
    /// list with its semantics, and when that changed the list, the new program takes the old
    /// one's place in one step. False when the list already had the rule. A failure leaves
    /// the list and the program as they were (LXC would keep the rule in its list).
    pub fn update(&mut self, rule: DeviceRule) -> Result<bool> {
        let before = self.list.clone();
        if !self.list.add(rule) {
            tracing::debug!(cgroup = %self.path.display(), "device program unchanged");
            return Ok(false);
        }
        let r = match self.attached.take() {
            // Without a program yet (an empty list at start), the first change attaches one,
            // even for an empty list.
            None => self.attach_new(),
            Some(old) => self.replace(old),
        };
        if r.is_err() {
            self.list = before;
        }
        r.map(|()| true)
    }

    fn replace(&mut self, old: Attached) -> Result<()> {
        let prog = match load(&self.path, &self.list) {
            Ok(p) => p,
            Err(e) => {
                self.attached = Some(old);
                return Err(e);
            }
        };
        let multi = sys::BPF_F_ALLOW_MULTI;
        let try_replace = self.swap == Swap::Auto && CAN_REPLACE.load(Ordering::Relaxed) != 0;
        if try_replace {
            match sys::prog_attach(
                old.cgroup.as_fd(),
                prog.as_fd(),
                sys::BPF_F_REPLACE | multi,
                Some(old.prog.as_fd()),
            ) {
                Ok(()) => {
                    CAN_REPLACE.store(1, Ordering::Relaxed);
                    tracing::debug!(cgroup = %self.path.display(), "device program replaced");
                    self.attached = Some(Attached {
                        cgroup: old.cgroup,
                        prog,
                    });
                    return Ok(());
                }
                Err(source) if CAN_REPLACE.load(Ordering::Relaxed) == 1 => {
                    let path = self.path.clone();
                    self.attached = Some(old);
                    return Err(Error::Cgroup {
                        op: "replace the device program of",
                        path,
                        source,
                    });
                }
                Err(e) => {
                    // As LXC: the first refusal means this kernel cannot replace.
                    tracing::debug!(error = %e, "BPF_F_REPLACE refused: attaching beside the old program");
                    CAN_REPLACE.store(0, Ordering::Relaxed);
                }
            }
        }
        // Both programs are in force between the two calls: the container never has fewer
        // restrictions than either list gives.
        if let Err(source) = sys::prog_attach(old.cgroup.as_fd(), prog.as_fd(), multi, None) {
            let path = self.path.clone();
            self.attached = Some(old);
            return Err(Error::Cgroup {
                op: "attach the device program to",
                path,
                source,
            });
        }
        if let Err(e) = sys::prog_detach(old.cgroup.as_fd(), old.prog.as_fd()) {
            tracing::warn!(cgroup = %self.path.display(), error = %e, "old device program not detached");
        }
        tracing::debug!(cgroup = %self.path.display(), "device program attached, old one detached");
        self.attached = Some(Attached {
            cgroup: old.cgroup,
            prog,
        });
        Ok(())
    }

    /// Take the program off the cgroup (at stop, before the cgroup is removed).
    pub fn detach(&mut self) -> Result<()> {
        let Some(a) = self.attached.take() else {
            return Ok(());
        };
        sys::prog_detach(a.cgroup.as_fd(), a.prog.as_fd()).map_err(|source| Error::Cgroup {
            op: "detach the device program from",
            path: self.path.clone(),
            source,
        })?;
        tracing::debug!(cgroup = %self.path.display(), "device program detached");
        Ok(())
    }
}

/// Load the list's program. A list whose emitted rules include one matching every device
/// and access (`a *:* rwm`) before the end makes a program the verifier refuses (the code
/// after that rule's verdict is unreachable), as LXC's is refused: the error says why.
fn load(path: &Path, list: &DeviceList) -> Result<OwnedFd> {
    load_insns(path, &program::generate(list)).map_err(|e| match (e, catch_all(list)) {
        (
            Error::Load {
                path,
                insns,
                source,
                mut log,
            },
            Some(rule),
        ) => {
            log.truncate(log.trim_end().len());
            log.push_str(&format!(
                "\n(the rule `{rule}` matches every device and access, so nothing after it can \
                 run: the kernel refuses such a program, as it refuses LXC's)"
            ));
            Error::Load {
                path,
                insns,
                source,
                log,
            }
        }
        (e, _) => e,
    })
}

/// An emitted rule with no test at all, if the list has one.
fn catch_all(list: &DeviceList) -> Option<&DeviceRule> {
    list.emitted().find(|r| {
        r.dev_type == crate::rule::DevType::All
            && r.major.is_none()
            && r.minor.is_none()
            && program::access_mask(&r.access) == 7
    })
}

/// Load a device program (for `path`, named in errors). A refusal is tried again with the
/// verifier's log, which the error then carries. Public for the tests of the load path.
#[doc(hidden)]
pub fn load_insns(path: &Path, insns: &[program::Insn]) -> Result<OwnedFd> {
    match sys::prog_load(insns, LICENSE, None) {
        Ok(fd) => return Ok(fd),
        Err(e) => {
            tracing::debug!(error = %e, "device program refused; loading again for the verifier log")
        }
    }
    let mut buf = vec![0u8; LOG_SIZE];
    let source = match sys::prog_load(insns, LICENSE, Some(&mut buf)) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let log = String::from_utf8_lossy(&buf[end.saturating_sub(LOG_KEEP)..end]).into_owned();
    Err(Error::Load {
        path: path.to_path_buf(),
        insns: insns.len(),
        source,
        log,
    })
}

/// The ids of the device programs attached to the cgroup at `path` itself, and their attach
/// flags (for `info`, and for tests that check what is in force).
pub fn attached_programs(path: &Path) -> Result<(u32, Vec<u32>)> {
    let err = |op: &'static str| {
        move |source| Error::Cgroup {
            op,
            path: path.to_path_buf(),
            source,
        }
    };
    let fd = sys::open_cgroup(path).map_err(err("open cgroup"))?;
    sys::prog_query(fd.as_fd()).map_err(err("query the device programs of"))
}
