//! LXC's hook scripts (`lxc.hook.<type>`), run the way LXC runs them: through `sh -c exec`,
//! with the container's name, section and hook type as arguments (hook version 0) or in the
//! environment only (version 1), and LXC's `LXC_*` environment variables.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::config::bytes;
use crate::error::Error;
use crate::phase::{HookCtx, RootfsInfo};
use crate::Config;

/// Extra context for hooks run outside a start (stop, post-stop).
#[derive(Debug, Default, Clone, Copy)]
pub struct HookEnv<'a> {
    /// `LXC_TARGET` for stop hooks: "stop" or "reboot".
    pub target: Option<&'a str>,
}

/// Run every `lxc.hook.<kind>` of the container, in config order. The first failure stops the
/// sequence and names the hook.
pub fn run(ctx: &HookCtx<'_>, kind: &str) -> Result<(), Error> {
    run_with(ctx, kind, HookEnv::default())
}

pub fn run_with(ctx: &HookCtx<'_>, kind: &str, extra: HookEnv<'_>) -> Result<(), Error> {
    run_scripts(ctx, kind, extra, &env(ctx), &[])
}

/// [`run_with`] with the caller's `LXC_*` variables instead of [`env()`]'s, and `args` added to
/// every hook's command line (as LXC adds them: after the standard ones, through the shell).
/// Clone hooks need both: LXC gives them only the variables its clone sets, and the arguments
/// given to `lxc-copy` after `--`.
pub fn run_scripts(
    ctx: &HookCtx<'_>,
    kind: &str,
    extra: HookEnv<'_>,
    vars: &[(&'static str, OsString)],
    args: &[String],
) -> Result<(), Error> {
    let key = format!("lxc.hook.{kind}");
    // Each script with the line it came from, so a failure names it.
    let scripts: Vec<(&str, &crate::error::Origin)> = ctx
        .config
        .entries()
        .filter(|e| e.key == key)
        .map(|e| (e.value.as_str(), &e.origin))
        .collect();
    if scripts.is_empty() {
        return Ok(());
    }
    let version = version1(ctx.config);
    // As LXC, the hooks the container's first process runs see `lxc.environment` and the
    // hooks-only keys (set in its environment before its setup); the monitor's do not.
    let config_env: Vec<(OsString, OsString)> = if ctx.phase.in_child() {
        crate::start::spec::environment_entries(ctx.config, crate::start::spec::EnvScope::Hooks)
            .iter()
            .filter_map(|e| e.split_once('='))
            .map(|(k, v)| (bytes::to_os(k), bytes::to_os(v)))
            .collect()
    } else {
        Vec::new()
    };
    for &(script, origin) in &scripts {
        let where_ = if origin.line == 0 {
            key.clone()
        } else {
            format!("{key} ({origin})")
        };
        let mut line = if version {
            format!("exec {script}")
        } else {
            format!("exec {script} {} lxc {kind}", ctx.name)
        };
        for a in args {
            line.push(' ');
            line.push_str(a);
        }
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(bytes::to_os(&line));
        cmd.envs(config_env.iter().map(|(k, v)| (k, v)));
        cmd.envs(vars.iter().map(|(k, v)| (*k, v)));
        if version {
            cmd.env("LXC_HOOK_TYPE", kind)
                .env("LXC_HOOK_SECTION", "lxc");
        }
        if let Some(t) = extra.target {
            cmd.env("LXC_TARGET", t);
        }
        tracing::info!(container = ctx.name, hook = kind, script = %bytes::shown(script), "running hook");
        let status = cmd.status().map_err(|e| Error::Hook {
            phase: ctx.phase,
            owner: "hooks",
            key: Some(where_.clone()),
            message: format!("cannot run {}: {e}", bytes::quote(script)),
        })?;
        if !status.success() {
            return Err(Error::Hook {
                phase: ctx.phase,
                owner: "hooks",
                key: Some(where_.clone()),
                message: format!("{} failed ({status})", bytes::quote(script)),
            });
        }
    }
    Ok(())
}

/// Whether the container's hooks are version 1 (`lxc.hook.version = 1`: the arguments in the
/// environment only) rather than 0 (name, section and hook type on the command line).
pub fn version1(config: &Config) -> bool {
    crate::keys::typed::number(config, "lxc.hook.version") == 1
}

/// The `LXC_*` variables every hook script of the container gets, as LXC sets them:
/// `LXC_NAME`, `LXC_CONFIG_FILE`, `LXC_CGNS_AWARE`, `LXC_HOOK_VERSION`, `LXC_LOG_LEVEL`,
/// `LXC_ROOTFS_PATH` (when set), `LXC_ROOTFS_MOUNT`, and `LXC_PID` once init exists. What
/// depends on the hook (`LXC_HOOK_TYPE`, `LXC_HOOK_SECTION`, `LXC_TARGET`, a network
/// script's `LXC_NET_*`) is the caller's to add.
pub fn env(ctx: &HookCtx<'_>) -> Vec<(&'static str, OsString)> {
    let config = ctx.config;
    let mut vars: Vec<(&'static str, OsString)> = vec![
        ("LXC_NAME", ctx.name.into()),
        ("LXC_CONFIG_FILE", ctx.config_file.clone().into_os_string()),
        ("LXC_CGNS_AWARE", "1".into()),
        (
            "LXC_HOOK_VERSION",
            if version1(config) { "1" } else { "0" }.into(),
        ),
        (
            "LXC_LOG_LEVEL",
            config.last("lxc.log.level").unwrap_or("ERROR").into(),
        ),
    ];
    if let Some(path) = config.last("lxc.rootfs.path") {
        vars.push(("LXC_ROOTFS_PATH", bytes::to_os(path)));
    }
    let mount = match ctx.state.get::<RootfsInfo>() {
        Some(r) => r.mount.clone().into_os_string(),
        None => bytes::to_os(&rootfs_mount_default(ctx)),
    };
    vars.push(("LXC_ROOTFS_MOUNT", mount));
    if let Some(pid) = ctx.init_pid {
        vars.push(("LXC_PID", pid.to_string().into()));
    }
    vars
}

/// Where LXC says the rootfs is mounted before the mount code has run.
fn rootfs_mount_default(ctx: &HookCtx<'_>) -> String {
    ctx.config
        .last("lxc.rootfs.mount")
        .map(str::to_string)
        .or_else(|| {
            ctx.config
                .last("lxc.rootfs.path")
                .map(|p| p.strip_prefix("dir:").unwrap_or(p).to_string())
        })
        .unwrap_or_else(|| Path::new("/").display().to_string())
}
