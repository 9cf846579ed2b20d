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

    /// Keep the privileges the container's own processes do not have: no capability drop, no
    /// cgroup join, no LSM. lxc-rs elevates all of CAP, CGROUP and LSM together
    #[arg(
        short = 'e',
        long = "elevated-privileges",
        value_name = "PRIVILEGES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ALL_PRIVILEGES
    )]
    pub elevated: Option<String>,

    /// The command and its arguments, after `--` (default: the user's shell in the
    /// container, from its /etc/passwd, else /bin/sh)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub argv: Vec<String>,
}

/// `-e`'s value: an OR'd list of CAP, CGROUP and LSM. The core elevates them together, so
/// anything but all of them is refused rather than silently widened.
fn elevated(value: Option<&str>) -> Result<bool, CliError> {
    let Some(v) = value else { return Ok(false) };
    let mut seen = [false; 3];
    for part in v.split('|').map(str::trim) {
        match part.to_ascii_uppercase().as_str() {
            "CAP" => seen[0] = true,
            "CGROUP" => seen[1] = true,
            "LSM" => seen[2] = true,
            _ => {
                return Err(CliError::Usage(format!(
                    "unknown privilege {part:?} in -e: expected an OR'd list of CAP, CGROUP, LSM"
                )))
            }
        }
    }
    if seen != [true; 3] {
        return Err(CliError::Usage(format!(
            "-e {v}: lxc-rs elevates CAP, CGROUP and LSM only together (give -e alone)"
        )));
    }
    Ok(true)
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
    super::not_ours(&c, "lxc-attach")?;
    // lxc.environment and the like come from the container's config.
    if c.defined()? {
        c.load_config(None)?;
    }
    let namespaces = a.namespaces.as_ref().map(|s| {
        s.split('|')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
    });
    let opts = AttachOptions {
        // Like lxc-attach, -s implies -e: a process only partly inside must not be held to
        // the container's limits.
        elevated_privileges: elevated(a.elevated.as_deref())? || namespaces.is_some(),
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
            eprintln!("lxc-rs: attach {}: warning: {w}", c.name());
        }
    }
    let status = attached.run_wait(&opts)?;
    Ok(ExitCode::from(u8::try_from(status).unwrap_or(u8::MAX)))
}
