//! LXC's hook scripts (`lxc.hook.<type>`), run the way LXC runs them: through `sh -c exec`,
//! with the container's name, section and hook type as arguments (hook version 0) or in the
//! environment only (version 1), and LXC's `LXC_*` environment variables.

use std::path::Path;
use std::process::Command;

use crate::config::bytes;
use crate::error::Error;
use crate::phase::{HookCtx, RootfsInfo};

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

pub fn run_with(ctx: &HookCtx<'_>, kind: &str, env: HookEnv<'_>) -> Result<(), Error> {
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
    let version = crate::keys::typed::number(ctx.config, "lxc.hook.version") == 1;
    let rootfs = ctx.state.get::<RootfsInfo>();
    for &(script, origin) in &scripts {
        let where_ = if origin.line == 0 {
            key.clone()
        } else {
            format!("{key} ({origin})")
        };
        let line = if version {
            format!("exec {script}")
        } else {
            format!("exec {script} {} lxc {kind}", ctx.name)
        };
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(bytes::to_os(&line));
        cmd.env("LXC_NAME", ctx.name)
            .env("LXC_CONFIG_FILE", &ctx.config_file)
            .env("LXC_CGNS_AWARE", "1")
            .env("LXC_HOOK_VERSION", if version { "1" } else { "0" })
            .env(
                "LXC_LOG_LEVEL",
                ctx.config.last("lxc.log.level").unwrap_or("ERROR"),
            );
        if let Some(path) = ctx.config.last("lxc.rootfs.path") {
            cmd.env("LXC_ROOTFS_PATH", bytes::to_os(path));
        }
        match rootfs {
            Some(r) => cmd.env("LXC_ROOTFS_MOUNT", &r.mount),
            None => cmd.env("LXC_ROOTFS_MOUNT", bytes::to_os(&rootfs_mount_default(ctx))),
        };
        if version {
            cmd.env("LXC_HOOK_TYPE", kind)
                .env("LXC_HOOK_SECTION", "lxc");
        }
        if let Some(t) = env.target {
            cmd.env("LXC_TARGET", t);
        }
        if let Some(pid) = ctx.init_pid {
            cmd.env("LXC_PID", pid.to_string());
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
