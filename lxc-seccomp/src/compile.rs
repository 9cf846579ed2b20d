//! A parsed policy to the BPF program LXC 5.0.2 would load for it on this host.
//!
//! The program is built with libseccomp through the same calls, in the same order, as LXC
//! makes them, so that libseccomp's own decisions (which rules it refuses, how it lays the
//! program out, how it translates a syscall for another ABI) come out the same:
//!
//! - the main filter starts as KILL with no_new_privs off (LXC never wants the NNP bit set by
//!   libseccomp: it breaks with AppArmor), and is reset to the policy's default action when
//!   that is not KILL;
//! - on hosts with compat ABIs LXC builds one filter per ABI: on x86_64, i386, x32 and
//!   x86_64 itself; on ppc64, ppc; on arm64, arm; on mips64, o32 and n32. Every rule read goes
//!   to the native filter and then to each compat filter whose ABI knows the syscall's name;
//!   the compat filters are merged into the main one at the end (the one for the native ABI
//!   is not: it never gets a rule);
//! - a name libseccomp does not know for the native ABI skips the rule everywhere; a name
//!   that is only a pseudo-syscall natively (`socketcall` on x86_64) still goes to the compat
//!   ABIs that have it;
//! - rules go in with `seccomp_rule_add_exact_array`, so libseccomp refuses a rule whose
//!   action is the default action, and one it cannot express exactly on an ABI;
//! - version 1 numbers are added with plain `seccomp_rule_add` to the native filter only.
//!
//! One LXC difference that is really LXC's: it means to set SCMP_FLTATR_API_TSKIP, but tests
//! for it with `#ifdef` on an enum constant spelled `ATL`, so it never does; neither does
//! this, which is why a version 1 line `-1` is refused here as in LXC.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use libseccomp::error::{SeccompErrno, SeccompError};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};

use crate::policy::{Action, ArgCmp, CmpOp, HostArch, Policy, Rule, Target};

/// How to compile.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Also render libseccomp's pseudo filter code: LXC writes it to the container's log at
    /// trace level once the filter is loaded.
    pub pfc: bool,
}

/// The program, ready for `seccomp(SECCOMP_SET_MODE_FILTER)`.
pub struct Compiled {
    pub program: Vec<libc::sock_filter>,
    /// Whether LXC would load it with a listener: a rule it read says `notify`.
    pub notify: bool,
    /// Rules skipped because libseccomp does not know the syscall on the native ABI, as LXC
    /// skips them (it says so at info level).
    pub unknown: Vec<Unknown>,
    /// The PFC text, when asked for.
    pub pfc: Option<String>,
}

impl std::fmt::Debug for Compiled {
    // libc's sock_filter has no Debug here; its length says enough.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("instructions", &self.program.len())
            .field("notify", &self.notify)
            .field("unknown", &self.unknown)
            .field("pfc", &self.pfc.as_ref().map(String::len))
            .finish()
    }
}

/// A rule naming a syscall libseccomp does not know here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub line: usize,
    pub name: String,
}

/// Why libseccomp would not build the policy. Each says which policy, and the line and
/// syscall when one is to blame.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(
        "{}:{line}: libseccomp refused the default action `{action}`: {source}, expected {expected}",
        path.display()
    )]
    DefaultAction {
        path: PathBuf,
        line: usize,
        action: Action,
        expected: String,
        #[source]
        source: Box<SeccompError>,
    },
    #[error(
        "{}:{line}: libseccomp refused the rule for `{syscall}` ({arch}): {source}, expected {expected}",
        path.display()
    )]
    Rule {
        path: PathBuf,
        line: usize,
        syscall: String,
        arch: &'static str,
        expected: String,
        #[source]
        source: Box<SeccompError>,
    },
    #[error(
        "{}:{line}: setting up the {arch} filter failed ({step}): {source}",
        path.display()
    )]
    Setup {
        path: PathBuf,
        /// The policy type line, where the filters are decided.
        line: usize,
        arch: &'static str,
        step: &'static str,
        #[source]
        source: Box<SeccompError>,
    },
    #[error(
        "{}:{line}: merging the {arch} filter into the native one failed: {source}",
        path.display()
    )]
    Merge {
        path: PathBuf,
        line: usize,
        arch: &'static str,
        #[source]
        source: Box<SeccompError>,
    },
    #[error("{}: exporting the compiled filter failed: {source}", path.display())]
    Export {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl CompileError {
    /// The policy line the error is about.
    pub fn line(&self) -> Option<usize> {
        match self {
            CompileError::DefaultAction { line, .. }
            | CompileError::Rule { line, .. }
            | CompileError::Setup { line, .. }
            | CompileError::Merge { line, .. } => Some(*line),
            CompileError::Export { .. } => None,
        }
    }
}

/// Compile `policy` as LXC would on the host it was parsed for.
pub fn compile(policy: &Policy, opts: &CompileOptions) -> Result<Compiled, CompileError> {
    let _span = tracing::debug_span!("seccomp.compile", policy = %policy.path.display()).entered();
    let mut c = Compiler {
        policy,
        unknown: Vec::new(),
    };
    let ctx = if policy.version == 1 {
        c.v1()?
    } else {
        c.v2()?
    };
    let export_err = |source| CompileError::Export {
        path: policy.path.clone(),
        source,
    };
    let bytes = export(&policy.path, |fd| ctx.export_bpf(fd)).map_err(export_err)?;
    let program = to_program(&bytes).map_err(export_err)?;
    let pfc = if opts.pfc {
        let text = export(&policy.path, |fd| ctx.export_pfc(fd)).map_err(export_err)?;
        Some(String::from_utf8_lossy(&text).into_owned())
    } else {
        None
    };
    Ok(Compiled {
        program,
        notify: policy.uses_notify(),
        unknown: c.unknown,
        pfc,
    })
}

struct Compiler<'a> {
    policy: &'a Policy,
    unknown: Vec<Unknown>,
}

/// A compat ABI's own filter.
struct Compat {
    arch: ScmpArch,
    ctx: ScmpFilterContext,
    /// False when the ABI is the native one: the filter already has it and is not merged.
    needs_merge: bool,
}

/// What adding a rule to one filter came to (LXC's lxc_seccomp_rule_status_t).
enum Added {
    Done,
    /// libseccomp does not know the name at all: the rule is skipped everywhere.
    Undefined,
    /// Not on this ABI.
    Unsupported,
}

/// The compat ABIs LXC builds filters for, by host, in LXC's slot order.
fn compat_arches(host: HostArch) -> [Option<ScmpArch>; 3] {
    match host {
        HostArch::Amd64 => [
            Some(ScmpArch::X86),
            Some(ScmpArch::X32),
            Some(ScmpArch::X8664),
        ],
        HostArch::Ppc64 => [Some(ScmpArch::Ppc), None, Some(ScmpArch::Ppc64)],
        HostArch::Arm64 => [Some(ScmpArch::Arm), None, Some(ScmpArch::Aarch64)],
        HostArch::Mips64 => [
            Some(ScmpArch::Mips),
            Some(ScmpArch::Mips64N32),
            Some(ScmpArch::Mips64),
        ],
        HostArch::Mipsel64 => [
            Some(ScmpArch::Mipsel),
            Some(ScmpArch::Mipsel64N32),
            Some(ScmpArch::Mipsel64),
        ],
        _ => [None, None, None],
    }
}

fn arch_name(arch: Option<ScmpArch>) -> &'static str {
    match arch {
        None => "native",
        Some(ScmpArch::X86) => "x86",
        Some(ScmpArch::X32) => "x32",
        Some(ScmpArch::X8664) => "x86_64",
        Some(ScmpArch::Arm) => "arm",
        Some(ScmpArch::Aarch64) => "aarch64",
        Some(ScmpArch::Ppc) => "ppc",
        Some(ScmpArch::Ppc64) => "ppc64",
        Some(ScmpArch::Mips) => "mips",
        Some(ScmpArch::Mips64) => "mips64",
        Some(ScmpArch::Mips64N32) => "mips64n32",
        Some(ScmpArch::Mipsel) => "mipsel",
        Some(ScmpArch::Mipsel64) => "mipsel64",
        Some(ScmpArch::Mipsel64N32) => "mipsel64n32",
        Some(_) => "compat",
    }
}

fn scmp_action(action: Action) -> ScmpAction {
    match action {
        Action::Kill => ScmpAction::KillThread,
        // libseccomp takes the low 16 bits, as SCMP_ACT_ERRNO() does.
        Action::Errno(e) => ScmpAction::Errno(e),
        Action::Allow => ScmpAction::Allow,
        Action::Trap => ScmpAction::Trap,
        Action::Notify => ScmpAction::Notify,
        Action::Log => ScmpAction::Log,
    }
}

fn comparison(arg: &ArgCmp) -> ScmpArgCompare {
    let op = match arg.op {
        CmpOp::Ne => ScmpCompareOp::NotEqual,
        CmpOp::Lt => ScmpCompareOp::Less,
        CmpOp::Le => ScmpCompareOp::LessOrEqual,
        CmpOp::Eq => ScmpCompareOp::Equal,
        CmpOp::Ge => ScmpCompareOp::GreaterEqual,
        CmpOp::Gt => ScmpCompareOp::Greater,
        CmpOp::MaskedEq => ScmpCompareOp::MaskedEqual(arg.mask),
    };
    ScmpArgCompare::new(arg.index, op, arg.value)
}

/// Whether an errno action is one libseccomp refuses (it keeps errnos below MAX_ERRNO).
fn errno_out_of_range(action: Action) -> bool {
    action.raw() & 0xffff_0000 == 0x0005_0000 && action.raw() & 0xffff >= 4095
}

impl Compiler<'_> {
    fn setup_err(
        &self,
        arch: Option<ScmpArch>,
        step: &'static str,
        source: SeccompError,
    ) -> CompileError {
        CompileError::Setup {
            path: self.policy.path.clone(),
            line: self.policy.list_line,
            arch: arch_name(arch),
            step,
            source: Box::new(source),
        }
    }

    fn default_err(&self, source: SeccompError) -> CompileError {
        let action = self.policy.default_action;
        let expected = if errno_out_of_range(action) {
            "an errno from 0 to 4094".to_string()
        } else if action == Action::Notify {
            "an action this kernel supports".to_string()
        } else {
            "a default action libseccomp accepts".to_string()
        };
        CompileError::DefaultAction {
            path: self.policy.path.clone(),
            line: self.policy.list_line,
            action,
            expected,
            source: Box::new(source),
        }
    }

    fn rule_err(&self, rule: &Rule, arch: Option<ScmpArch>, source: SeccompError) -> CompileError {
        let syscall = match &rule.target {
            Target::Syscall(name) => name.clone(),
            Target::Number(nr) => nr.to_string(),
            Target::RejectForceUmount => "umount2".into(),
        };
        let action = match rule.target {
            Target::RejectForceUmount => Action::Errno(libc::EACCES),
            _ => rule.action,
        };
        let mut indexes: Vec<u32> = rule.args.iter().map(|a| a.index).collect();
        indexes.sort_unstable();
        let repeated = indexes.windows(2).any(|w| w[0] == w[1]);
        let expected = if source.errno() == Some(SeccompErrno::EACCES) {
            format!(
                "an action other than the policy's default `{}` (libseccomp refuses a rule \
                 that repeats it)",
                self.policy.default_action
            )
        } else if errno_out_of_range(action) {
            "an errno from 0 to 4094".into()
        } else if repeated && !matches!(rule.target, Target::RejectForceUmount) {
            "each argument compared at most once".into()
        } else if matches!(rule.target, Target::Number(nr) if nr < 0) {
            "a syscall number that is not negative".into()
        } else {
            "a rule libseccomp can express exactly on this architecture".into()
        };
        CompileError::Rule {
            path: self.policy.path.clone(),
            line: rule.line,
            syscall,
            arch: arch_name(arch),
            expected,
            source: Box::new(source),
        }
    }

    /// The filter LXC creates before it reads the policy: KILL, no_new_privs off.
    fn main_filter(&self) -> Result<ScmpFilterContext, CompileError> {
        let mut ctx = ScmpFilterContext::new(ScmpAction::KillThread)
            .map_err(|e| self.setup_err(None, "create", e))?;
        ctx.set_ctl_nnp(false)
            .map_err(|e| self.setup_err(None, "turn off no_new_privs", e))?;
        Ok(ctx)
    }

    fn v1(&mut self) -> Result<ScmpFilterContext, CompileError> {
        let mut ctx = self.main_filter()?;
        for rule in &self.policy.rules {
            if let Target::Number(nr) = rule.target {
                ctx.add_rule(ScmpAction::Allow, ScmpSyscall::from(nr))
                    .map_err(|e| self.rule_err(rule, None, e))?;
            }
        }
        Ok(ctx)
    }

    fn compat_filter(&self, arch: ScmpArch) -> Result<Compat, CompileError> {
        let mut ctx = ScmpFilterContext::new(scmp_action(self.policy.default_action))
            .map_err(|e| self.default_err(e))?;
        let some = Some(arch);
        ctx.set_ctl_nnp(false)
            .map_err(|e| self.setup_err(some, "turn off no_new_privs", e))?;
        let present = ctx
            .is_arch_present(arch)
            .map_err(|e| self.setup_err(some, "look up the architecture", e))?;
        if !present {
            ctx.add_arch(arch)
                .map_err(|e| self.setup_err(some, "add the architecture", e))?;
            ctx.remove_arch(ScmpArch::Native)
                .map_err(|e| self.setup_err(some, "remove the native architecture", e))?;
        }
        Ok(Compat {
            arch,
            ctx,
            needs_merge: !present,
        })
    }

    fn v2(&mut self) -> Result<ScmpFilterContext, CompileError> {
        let policy = self.policy;
        let mut main = self.main_filter()?;
        // LXC builds the compat filters first, so a default action libseccomp refuses fails
        // there on a host that has them.
        let mut compat = Vec::new();
        for arch in compat_arches(policy.host).into_iter().flatten() {
            compat.push(self.compat_filter(arch)?);
        }
        if policy.default_action.raw() != Action::Kill.raw() {
            main.reset(scmp_action(policy.default_action))
                .map_err(|e| self.default_err(e))?;
            main.set_ctl_nnp(false)
                .map_err(|e| self.setup_err(None, "turn off no_new_privs", e))?;
        }

        let native = ScmpArch::native();
        for rule in &policy.rules {
            if let Added::Undefined = self.add(&mut main, None, rule)? {
                continue;
            }
            for c in compat.iter_mut().filter(|c| c.arch != native) {
                self.add(&mut c.ctx, Some(c.arch), rule)?;
            }
        }

        for c in compat {
            if c.needs_merge {
                let arch = Some(c.arch);
                main.merge(c.ctx).map_err(|source| CompileError::Merge {
                    path: policy.path.clone(),
                    line: policy.list_line,
                    arch: arch_name(arch),
                    source: Box::new(source),
                })?;
            }
        }
        Ok(main)
    }

    /// One rule into one filter (`arch` None: the native filter), as LXC's
    /// do_resolve_add_rule.
    fn add(
        &mut self,
        ctx: &mut ScmpFilterContext,
        arch: Option<ScmpArch>,
        rule: &Rule,
    ) -> Result<Added, CompileError> {
        // LXC first checks that a compat filter still has its ABI; these were built just
        // above with it and nothing removes it, so there is nothing to check.
        match &rule.target {
            Target::RejectForceUmount => {
                // The native number: libseccomp translates it by name for a compat ABI.
                let umount2 = ScmpSyscall::from(libc::SYS_umount2 as i32);
                let force = libc::MNT_FORCE as u64;
                ctx.add_rule_conditional_exact(
                    ScmpAction::Errno(libc::EACCES),
                    umount2,
                    &[ScmpArgCompare::new(
                        1,
                        ScmpCompareOp::MaskedEqual(force),
                        force,
                    )],
                )
                .map_err(|e| self.rule_err(rule, arch, e))?;
                Ok(Added::Done)
            }
            Target::Number(nr) => {
                ctx.add_rule_exact(scmp_action(rule.action), ScmpSyscall::from(*nr))
                    .map_err(|e| self.rule_err(rule, arch, e))?;
                Ok(Added::Done)
            }
            Target::Syscall(name) => {
                let Ok(nr) = ScmpSyscall::from_name(name) else {
                    if arch.is_none() {
                        tracing::info!(
                            line = rule.line,
                            syscall = %name,
                            "the syscall is undefined on the native architecture: rule skipped"
                        );
                        self.unknown.push(Unknown {
                            line: rule.line,
                            name: name.clone(),
                        });
                    }
                    return Ok(Added::Undefined);
                };
                match arch {
                    None if nr.as_raw_syscall() < 0 => {
                        tracing::debug!(
                            line = rule.line,
                            syscall = %name,
                            nr = nr.as_raw_syscall(),
                            "a pseudo syscall on the native architecture: only compat \
                             architectures get the rule"
                        );
                        return Ok(Added::Unsupported);
                    }
                    Some(a) => {
                        let on_arch = ScmpSyscall::from_name_by_arch(name, a)
                            .map(ScmpSyscall::as_raw_syscall)
                            .unwrap_or(-1);
                        if on_arch < 0 {
                            tracing::debug!(
                                line = rule.line,
                                syscall = %name,
                                arch = %arch_name(arch),
                                "not a syscall on this compat architecture"
                            );
                            return Ok(Added::Unsupported);
                        }
                    }
                    None => {}
                }
                let cmps: Vec<ScmpArgCompare> = rule.args.iter().map(comparison).collect();
                ctx.add_rule_conditional_exact(scmp_action(rule.action), nr, &cmps)
                    .map_err(|e| self.rule_err(rule, arch, e))?;
                tracing::trace!(
                    line = rule.line,
                    syscall = %name,
                    action = %rule.action,
                    arch = %arch_name(arch),
                    "rule added"
                );
                Ok(Added::Done)
            }
        }
    }
}

/// Run one of libseccomp's exporters into a memfd and read back what it wrote (libseccomp
/// 2.5 has no export to memory). A memfd, not a pipe: a large program would fill a pipe
/// with nobody reading.
fn export(
    path: &Path,
    write: impl FnOnce(&OwnedFd) -> Result<(), SeccompError>,
) -> io::Result<Vec<u8>> {
    let fd = nix::sys::memfd::memfd_create(c"lxc-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(io::Error::from)?;
    write(&fd)
        .map_err(|e| io::Error::other(format!("libseccomp export for {}: {e}", path.display())))?;
    let mut file = File::from(fd);
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The exported bytes as instructions: struct sock_filter in native byte order.
fn to_program(bytes: &[u8]) -> io::Result<Vec<libc::sock_filter>> {
    if !bytes.len().is_multiple_of(8) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} bytes of BPF is not a whole number of instructions",
                bytes.len()
            ),
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|i| libc::sock_filter {
            code: u16::from_ne_bytes([i[0], i[1]]),
            jt: i[2],
            jf: i[3],
            k: u32::from_ne_bytes([i[4], i[5], i[6], i[7]]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{parse_with, PolicyWord, LXC_WORDS};

    fn words() -> Vec<&'static PolicyWord> {
        LXC_WORDS.iter().collect()
    }

    fn build(text: &str) -> Result<Compiled, CompileError> {
        let policy =
            parse_with(Path::new("/p"), text.as_bytes(), HostArch::Amd64, &words()).unwrap();
        compile(&policy, &CompileOptions { pfc: true })
    }

    fn pfc(text: &str) -> String {
        build(text).unwrap().pfc.unwrap()
    }

    /// The x86 ABIs a filter checks, from its PFC arch lines.
    fn arches(pfc: &str) -> Vec<String> {
        pfc.lines()
            .filter_map(|l| l.strip_prefix("# filter for arch "))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn v2_on_amd64_covers_three_abis() {
        let c = build("2\nblacklist\nreject_force_umount\n[all]\nkexec_load errno 1\n").unwrap();
        assert!(!c.program.is_empty());
        assert!(!c.notify);
        let text = c.pfc.unwrap();
        let mut got = arches(&text);
        got.sort();
        assert_eq!(got, vec!["x32", "x86", "x86_64"], "{text}");
        // Every ABI denies kexec_load and a forced umount.
        assert_eq!(text.matches("ERRNO(1)").count(), 3, "{text}");
        assert_eq!(text.matches("ERRNO(13)").count(), 3, "{text}");
    }

    #[test]
    fn v1_is_native_only() {
        let text = pfc("1\nallowlist\n0\n1\n");
        assert_eq!(arches(&text), vec!["x86_64"], "{text}");
        assert!(text.contains("action KILL;"), "{text}");
    }

    #[test]
    fn v1_negative_number_is_refused() {
        let e = build("1\nallowlist\n0\n-1\n").unwrap_err();
        assert_eq!(e.line(), Some(4));
        let s = e.to_string();
        assert!(
            s.starts_with("/p:4: libseccomp refused the rule for `-1`"),
            "{s}"
        );
        assert!(
            s.contains("expected a syscall number that is not negative"),
            "{s}"
        );
    }

    #[test]
    fn unknown_and_pseudo_syscalls() {
        let c = build("2\nblacklist\nno_such_syscall\nsocketcall errno 1\n\n   \n").unwrap();
        let names: Vec<_> = c
            .unknown
            .iter()
            .map(|u| (u.line, u.name.as_str()))
            .collect();
        assert_eq!(names, vec![(3, "no_such_syscall"), (6, "")]);
        // socketcall exists on i386 only: one ERRNO(1).
        assert_eq!(c.pfc.unwrap().matches("ERRNO(1)").count(), 1);
    }

    #[test]
    fn a_rule_repeating_the_default_is_refused() {
        let e = build("2\nblacklist\nread allow\n").unwrap_err().to_string();
        assert!(
            e.starts_with("/p:3: libseccomp refused the rule for `read` (native)"),
            "{e}"
        );
        assert!(
            e.contains("expected an action other than the policy's default `allow`"),
            "{e}"
        );
        // reject_force_umount under a default of errno 13 (EACCES) too.
        let e = build("2\nblacklist errno 13\nreject_force_umount\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/p:3:") && e.contains("`umount2`"), "{e}");
    }

    #[test]
    fn errno_range() {
        assert!(build("2\nblacklist\nread errno 4094\n").is_ok());
        let e = build("2\nblacklist\nread errno 4095\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected an errno from 0 to 4094"), "{e}");
        // Only the low 16 bits count: 65537 is errno 1.
        assert!(pfc("2\nblacklist\nread errno 65537\n").contains("ERRNO(1)"));
        let e = build("2\nblacklist errno 5000\nread\n").unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().contains("default action `errno 5000`"), "{e}");
    }

    #[test]
    fn arguments_reach_the_filter() {
        let text =
            pfc("2\nblacklist\nmount errno 1 [2,0x1000,&=,0x1000]\npersonality errno 2 [0,8,!=]\n");
        assert!(
            text.contains("ERRNO(1)") && text.contains("ERRNO(2)"),
            "{text}"
        );
        let e = build("2\nblacklist\nmount errno 1 [0,1,==] [0,2,==]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected each argument compared at most once"),
            "{e}"
        );
    }

    #[test]
    fn notify_and_default_actions() {
        let c = build("2\nwhitelist trap\nread\nwrite notify\n").unwrap();
        assert!(c.notify);
        let text = c.pfc.unwrap();
        // PFC has no name for notify.
        assert!(
            text.contains("action TRAP;") && text.contains("action 0x7fc00000;"),
            "{text}"
        );
        // The default is reset on the main filter, and the compat ones are built with it.
        assert_eq!(arches(&text).len(), 3);
    }

    #[test]
    fn program_is_exported_whole() {
        let c = build("2\nblacklist\nreject_force_umount\n").unwrap();
        // Ends in a return, starts by loading the arch.
        let last = c.program.last().unwrap();
        assert_eq!(last.code, (libc::BPF_RET | libc::BPF_K) as u16);
        let first = c.program.first().unwrap();
        assert_eq!(
            first.code,
            (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16
        );
        assert_eq!(first.k, 4, "seccomp_data.arch");
    }
}
