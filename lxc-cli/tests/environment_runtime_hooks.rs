//! `environment_runtime_hooks` on real containers: `lxc.environment.runtime` reaches init,
//! `execute`'s command and attached processes but no hook; `lxc.environment.hooks` reaches the
//! hooks the container's first process runs (mount on the host's side of the rootfs, start
//! inside it) but not init; `lxc.environment` reaches both. The monitor's hooks (pre-start)
//! get none of them, as LXC's. Needs root.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::{show, stdout, TestContainer};

const LINES: &str = "lxc.environment = BOTH_VAR=both\n\
                     lxc.environment.runtime = RUN_VAR=run\n\
                     lxc.environment.hooks = HOOK_VAR=hook\n";

fn vars(env: &str) -> Vec<&str> {
    let mut v: Vec<&str> = env
        .split(['\n', '\0'])
        .filter(|l| l.ends_with("_VAR=both") || l.ends_with("_VAR=run") || l.ends_with("_VAR=hook"))
        .collect();
    v.sort_unstable();
    v
}

fn script(path: &std::path::Path, out: &str) {
    fs::write(path, format!("#!/bin/sh\nenv > {out}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn runtime_vars_reach_init_and_hook_vars_reach_hooks() {
    require_root!();
    if !lxc::has_api_extension("environment_runtime_hooks") {
        eprintln!("SKIP: this build lacks environment_runtime_hooks");
        return;
    }
    let t = TestContainer::busybox("envscope");
    let rootfs = t.lxcpath.join(&t.name).join("rootfs");
    let mount_out = t.lxcpath.join("mount-hook.env");
    let pre_out = t.lxcpath.join("pre-start.env");
    let host_hook = t.lxcpath.join("mount-hook.sh");
    let pre_hook = t.lxcpath.join("pre-start.sh");
    script(&host_hook, mount_out.to_str().unwrap());
    script(&pre_hook, pre_out.to_str().unwrap());
    script(&rootfs.join("start-hook.sh"), "/tmp/start-hook.env");
    t.append_config(&format!(
        "{LINES}lxc.hook.mount = {}\nlxc.hook.pre-start = {}\nlxc.hook.start = /start-hook.sh\n",
        host_hook.display(),
        pre_hook.display()
    ));
    let get = t.ok(&["config", "get", "lxc.environment.runtime"]);
    assert_eq!(get, "RUN_VAR=run\n");

    t.ok(&["start"]);
    let init = t.init_pid();
    let environ = fs::read(format!("/proc/{init}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert_eq!(
        vars(&environ),
        ["BOTH_VAR=both", "RUN_VAR=run"],
        "init: {environ}"
    );

    let attach = t.ok(&["attach", "--", "env"]);
    assert_eq!(
        vars(&attach),
        ["BOTH_VAR=both", "RUN_VAR=run"],
        "attach: {attach}"
    );
    t.ok(&["stop", "-k"]);

    let mount = fs::read_to_string(&mount_out).unwrap();
    assert_eq!(
        vars(&mount),
        ["BOTH_VAR=both", "HOOK_VAR=hook"],
        "mount hook: {mount}"
    );
    let start = fs::read_to_string(rootfs.join("tmp/start-hook.env")).unwrap();
    assert_eq!(
        vars(&start),
        ["BOTH_VAR=both", "HOOK_VAR=hook"],
        "start hook: {start}"
    );
    let pre = fs::read_to_string(&pre_out).unwrap();
    assert!(vars(&pre).is_empty(), "pre-start hook: {pre}");

    let o = t.lxc(&["execute", "--", "env"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(
        vars(&stdout(&o)),
        ["BOTH_VAR=both", "RUN_VAR=run"],
        "{}",
        show(&o)
    );
    t.assert_nothing_left();
}

/// Without the extension the keys are LXC's but not this build's: the config is refused and
/// names the feature.
#[test]
fn keys_are_refused_without_the_extension() {
    require_root!();
    if lxc::has_api_extension("environment_runtime_hooks") {
        eprintln!("SKIP: this build has environment_runtime_hooks (the other test covers it)");
        return;
    }
    let t = TestContainer::busybox("envnoext");
    t.append_config("lxc.environment.runtime = RUN_VAR=run\n");
    let o = t.lxc(&["start"]);
    assert_ne!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        common::stderr(&o).contains("environment_runtime_hooks"),
        "{}",
        show(&o)
    );
    t.assert_nothing_left();
}
