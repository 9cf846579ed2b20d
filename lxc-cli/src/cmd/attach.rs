//! `lxc-rs attach`, like `lxc-attach`: run a command (or the user's shell) inside a running
//! container and exit with its status.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use lxc::attach::{AttachOptions, AttachStdio, EnvPolicy};

use crate::error::CliError;
use crate::Global;

/// What `-e` elevates when given without a value: everything.
const ALL_PRIVILEGES: &str = "CAP|CGROUP|LSM";

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Join only these namespaces, an OR'd list of MOUNT, PID, UTSNAME, IPC, USER, NETWORK,
    /// CGROUP, TIME (default: all of init's). Implies -e
    #[arg(short = 's', long = "namespaces", value_name = "NAMESPACES")]
    pub namespaces: Option<String>,

    /// Start from an empty environment: only container=lxc, lxc.environment, PATH and the
    /// --keep-var variables
    #[arg(long, conflicts_with = "keep_env")]
    pub clear_env: bool,

    /// Keep this process's environment (the default)
    #[arg(long)]
    pub keep_env: bool,

    /// Set VAR=VALUE in the command's environment (repeatable)
    #[arg(short = 'v', long = "set-var", value_name = "VAR=VALUE")]
    pub set_var: Vec<String>,

    /// With --clear-env, keep this variable (repeatable)
    #[arg(long = "keep-var", value_name = "NAME")]
    pub keep_var: Vec<String>,

    /// Run the command as this uid inside the container (default: its root)
    #[arg(short = 'u', long, value_name = "UID")]
    pub uid: Option<u32>,

    /// Run the command as this gid inside the container (default: its root's group)
    #[arg(short = 'g', long, value_name = "GID")]
    pub gid: Option<u32>,

    /// Start in this directory (default: the current one if the container has it, else /)
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// Keep privileges the container's own processes do not have, an OR'd list of CAP (no
    /// capability drop), CGROUP (no cgroup join) and LSM (no LSM label, no seccomp policy);
    /// all three when given without a value (-e or --elevated-privileges=CAP|CGROUP)
    #[arg(
        short = 'e',
        long = "elevated-privileges",
        value_name = "PRIVILEGES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ALL_PRIVILEGES
    )]
    pub elevated: Option<String>,

    /// With -s and no MOUNT: mount /proc and /sys afresh in a mount namespace of the
    /// command's own, so they show the namespaces it joined
    #[arg(short = 'R', long = "remount-sys-proc")]
    pub remount_sys_proc: bool,

    /// Run the command with this architecture's personality instead of the container's
    /// lxc.arch (e.g. i686 or linux32 for 32-bit)
    #[arg(short = 'a', long = "arch", value_name = "ARCH")]
    pub arch: Option<String>,

    /// Also write the pty's output to FILE (appended; only when a pty is used)
    #[arg(short = 'L', long = "pty-log", value_name = "FILE")]
    pub pty_log: Option<PathBuf>,

    /// Run the command under this LSM context (AppArmor profile or SELinux label) instead of
    /// the container's. With no LSM on the host, as here, it is accepted and changes nothing,
    /// as lxc-attach's LSM driver `nop` does
    #[arg(short = 'c', long = "context", value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Take the attach's config (lxc.environment, lxc.prlimit.*, lxc.proc.*, seccomp) from
    /// FILE instead of the container's own config
    #[arg(short = 'f', long = "rcfile", value_name = "FILE")]
    pub rcfile: Option<PathBuf>,

    /// The command and its arguments, after `--` (default: the user's shell in the
    /// container, from its /etc/passwd, else /bin/sh)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub argv: Vec<String>,
}

/// What `-e` elevates.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Elevated {
    capabilities: bool,
    cgroup: bool,
    lsm: bool,
}

/// `-e`'s value: an OR'd list of CAP, CGROUP and LSM, spelled exactly so (as LXC's
/// `lxc_fill_elevated_privileges`).
fn elevated(value: Option<&str>) -> Result<Elevated, CliError> {
    let mut e = Elevated::default();
    let Some(v) = value else { return Ok(e) };
    for part in v.split('|').filter(|p| !p.is_empty()) {
        match part {
            "CAP" => e.capabilities = true,
            "CGROUP" => e.cgroup = true,
            "LSM" => e.lsm = true,
            _ => {
                return Err(CliError::Usage(format!(
                    "invalid elevated privilege {part:?} in -e {v:?}: expected an OR'd list of \
                     CAP, CGROUP, LSM"
                )))
            }
        }
    }
    Ok(e)
}

/// `-c CONTEXT`: with no LSM on the host LXC's `nop` driver takes the context and sets
/// nothing, and so does lxc-rs; with AppArmor or SELinux enabled lxc-rs cannot set it yet and
/// says so rather than run the command unconfined.
fn lsm_context(ctx: &str) -> Result<(), CliError> {
    let enabled = |lsm: &str| {
        std::fs::read_to_string("/sys/kernel/security/lsm")
            .is_ok_and(|l| l.trim().split(',').any(|m| m == lsm))
    };
    match ["apparmor", "selinux"].into_iter().find(|l| enabled(l)) {
        Some(lsm) => Err(CliError::failed(format!(
            "-c {ctx}: setting a {lsm} context is not supported by lxc-rs yet"
        ))),
        None => {
            tracing::info!(
                context = ctx,
                "no LSM on this host (LSM driver nop): context not set"
            );
            Ok(())
        }
    }
}

/// The login shell of `uid` in the container's /etc/passwd, read through init's root.
fn shell_of(init_pid: i32, uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string(format!("/proc/{init_pid}/root/etc/passwd")).ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[2].parse() == Ok(uid) && !f[6].is_empty()).then(|| f[6].to_string())
    })
}

pub fn attach(a: &AttachArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut c = super::handle(g)?;
    // lxc.environment and the like come from the container's config, or from -f's file
    // instead (lxc-attach clears the config and loads the file).
    match &a.rcfile {
        Some(f) => c.load_config(Some(f))?,
        None if c.defined()? => c.load_config(None)?,
        None => {}
    }
    let elevate = elevated(a.elevated.as_deref())?;
    if let Some(ctx) = &a.context {
        lsm_context(ctx)?;
    }
    let personality = match &a.arch {
        Some(arch) => Some(
            lxc::attach::personality_of_arch(arch)
                .ok_or_else(|| CliError::Usage(format!("invalid architecture {arch:?} in -a")))?,
        ),
        None => None,
    };
    let pty_log = match &a.pty_log {
        Some(p) => {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .mode(0o600)
                .open(p)
                .map_err(|e| {
                    CliError::failed(format!("cannot open the pty log {}: {e}", p.display()))
                })?;
            Some(std::os::fd::OwnedFd::from(f))
        }
        None => None,
    };
    let namespaces = a.namespaces.as_ref().map(|s| {
        s.split('|')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
    });
    let opts = AttachOptions {
        // Like lxc-attach, -s implies -e: a process only partly inside must not be held to
        // the container's limits.
        elevated_privileges: namespaces.is_some(),
        elevate_capabilities: elevate.capabilities,
        elevate_cgroup: elevate.cgroup,
        elevate_lsm: elevate.lsm,
        remount_proc_sys: a.remount_sys_proc,
        personality,
        pty_log,
        namespaces,
        env_policy: if a.clear_env {
            EnvPolicy::ClearEnv
        } else {
            EnvPolicy::KeepEnv
        },
        extra_env: a.set_var.clone(),
        keep_vars: a.keep_var.clone(),
        uid: a.uid,
        gid: a.gid,
        cwd: a.cwd.clone(),
        stdio: AttachStdio::Auto,
        ..Default::default()
    };
    let argv = if a.argv.is_empty() {
        let init = c.init_pid()?;
        vec![shell_of(init, a.uid.unwrap_or(0)).unwrap_or_else(|| "/bin/sh".to_string())]
    } else {
        a.argv.clone()
    };
    let attached = lxc::attach::attach_command(&c, &opts, &argv)?;
    // LXC only logs these; shown here, since nothing else tells the user. Not for the
    // default directory (ours, which the container often lacks): only for one asked for.
    for w in attached.warnings() {
        let asked = match w {
            lxc::attach::AttachWarning::CwdFallback { .. } => a.cwd.is_some(),
        };
        if asked {
            let who = crate::lxc_names::speaker("attach", Some(c.name()));
            eprintln!("{who}: warning: {w}");
        }
    }
    let status = attached.run_wait(&opts)?;
    Ok(ExitCode::from(u8::try_from(status).unwrap_or(u8::MAX)))
}
