//! Seccomp policies on real containers: LXC's shipped configs load, their policy is in force
//! in the container and in attached processes, and a bad policy fails `config check` and
//! `start` with the policy's own file and line, leaving nothing behind.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

const LXC_CONFIG_DIR: &str = "/usr/share/lxc/config";

/// LXC's shipped policy is a `denylist`: without the extension that reads the word, it is
/// refused (naming the feature), so the tests of LXC's own configs need it.
fn reads_lxcs_policy() -> bool {
    let yes = lxc::has_api_extension("seccomp_allow_deny_syntax");
    if !yes {
        eprintln!(
            "skipped: LXC's common.seccomp says `denylist`, which needs seccomp_allow_deny_syntax"
        );
    }
    yes
}

/// A policy file in the container's lxcpath; `lxc.seccomp.profile` names it.
fn with_policy(t: &TestContainer, policy: &str) -> PathBuf {
    let path = t.lxcpath.join("policy.seccomp");
    fs::write(&path, policy).unwrap();
    t.append_config(&format!("lxc.seccomp.profile = {}\n", path.display()));
    path
}

/// `attach -- sh -c SCRIPT`: (exit code, stdout + stderr).
fn attach_sh(t: &TestContainer, script: &str) -> (Option<i32>, String) {
    let o = t.lxc(&["attach", "--", "/bin/sh", "-c", script]);
    (o.status.code(), format!("{}{}", stdout(&o), stderr(&o)))
}

/// Every syscall name of this architecture, from the kernel's uapi header.
fn all_syscall_names() -> Option<Vec<String>> {
    let text = fs::read_to_string("/usr/include/x86_64-linux-gnu/asm/unistd_64.h").ok()?;
    let names: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#define __NR_"))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    (!names.is_empty()).then_some(names)
}

#[test]
fn every_config_lxc_ships_passes_config_check() {
    if !reads_lxcs_policy() {
        return;
    }
    let Ok(rd) = fs::read_dir(LXC_CONFIG_DIR) else {
        eprintln!("skipped: {LXC_CONFIG_DIR} is missing (Debian's lxc and lxc-templates)");
        return;
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    // Debian's lxc has common.conf and the userns ones; lxc-templates adds the distro configs.
    assert!(
        files.len() >= 20,
        "only {} configs in {LXC_CONFIG_DIR}: is lxc-templates installed?",
        files.len()
    );
    let mut with_policy = 0;
    for f in &files {
        let o = lxc_rs(&["config", "check", f.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", f.display(), show(&o));
        if fs::read_to_string(f).unwrap().contains("common.conf") {
            with_policy += 1;
        }
    }
    assert!(
        with_policy >= 15,
        "{with_policy} configs include common.conf"
    );
}

#[test]
fn common_conf_starts_with_debians_policy_in_force() {
    require_root!();
    if !reads_lxcs_policy() {
        return;
    }
    let common = Path::new(LXC_CONFIG_DIR).join("common.conf");
    if !common.exists() {
        eprintln!("skipped: {} is missing (Debian's lxc)", common.display());
        return;
    }
    let t = TestContainer::busybox("seccommon");
    t.append_config(&format!("lxc.include = {}\n", common.display()));
    t.ok(&["start"]);
    // reject_force_umount: umount2 with MNT_FORCE is refused with EACCES, a plain one works.
    let (code, out) = attach_sh(
        &t,
        "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && \
         if umount -f /tmp/m; then echo FORCED; fi; umount /tmp/m && echo PLAIN-OK",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Permission denied"), "umount -f: {out}");
    assert!(!out.contains("FORCED"), "umount -f went through: {out}");
    assert!(out.contains("PLAIN-OK"), "plain umount: {out}");
    // Everything else works: a shell, files, processes.
    let (code, out) = attach_sh(
        &t,
        "echo hi > /tmp/f && cat /tmp/f && ps >/dev/null && echo ok",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("hi") && out.contains("ok"), "{out}");
    // The policy is in the container's init too.
    let status = fs::read_to_string(format!("/proc/{}/status", t.init_pid())).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Seccomp:") && l.ends_with('2')),
        "init has no filter:\n{status}"
    );
    t.ok(&["stop", "-k"]);
}

#[test]
fn a_denylist_fails_mkdir_with_its_errno_and_leaves_the_rest() {
    require_root!();
    let t = TestContainer::busybox("secdeny");
    with_policy(&t, "2\nblacklist\nmkdir errno 28\nmkdirat errno 28\n");
    t.ok(&["start"]);
    let (code, out) = attach_sh(&t, "mkdir /tmp/d");
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("No space left on device"), "{out}");
    let (code, out) = attach_sh(&t, "touch /tmp/f && ls /tmp/f && rm /tmp/f && echo ok");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok"), "{out}");
    t.ok(&["stop", "-k"]);
}

#[test]
fn an_allowlist_kills_on_a_syscall_it_does_not_allow() {
    require_root!();
    let Some(names) = all_syscall_names() else {
        eprintln!("skipped: no asm/unistd_64.h to list the syscalls (linux-libc-dev)");
        return;
    };
    let t = TestContainer::busybox("secallow");
    let mut policy = String::from("2\nwhitelist\n");
    for n in names
        .iter()
        .filter(|n| !matches!(n.as_str(), "mkdir" | "mkdirat"))
    {
        policy.push_str(n);
        policy.push('\n');
    }
    with_policy(&t, &policy);
    t.ok(&["start"]);
    // The shell survives: the one process that called mkdir is killed by SIGSYS.
    let (code, out) = attach_sh(&t, "mkdir /tmp/d; echo status=$?");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("status=159"),
        "mkdir was not killed by SIGSYS: {out}"
    );
    let (code, out) = attach_sh(&t, "touch /tmp/f && echo ok");
    assert_eq!((code, out.trim()), (Some(0), "ok"));
    t.ok(&["stop", "-k"]);
}

#[test]
fn a_bad_policy_fails_config_check_and_start_with_its_file_and_line() {
    require_root!();
    let t = TestContainer::busybox("secbad");
    let path = with_policy(&t, "2\nblacklist\nmkdir errno 1\nmkdir errno notanumber\n");
    let want = format!("{}:4", path.display());

    let o = lxc_rs(&["config", "check", t.config_file().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        stdout(&o).contains(&want) || stderr(&o).contains(&want),
        "{}",
        show(&o)
    );

    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains(&want), "no {want} in: {err}");
    assert!(err.contains("lxc.seccomp.profile"), "{err}");
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();

    // A missing policy file is named too.
    fs::remove_file(&path).unwrap();
    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains(path.to_str().unwrap()), "{}", show(&o));
    t.assert_nothing_left();
}

#[test]
fn an_elevated_attach_is_not_filtered() {
    require_root!();
    let t = TestContainer::busybox("secelev");
    with_policy(&t, "2\nblacklist\nmkdir errno 28\nmkdirat errno 28\n");
    t.ok(&["start"]);
    let o = t.lxc(&["attach", "-e", "--", "/bin/mkdir", "/tmp/e"]);
    assert!(o.status.success(), "{}", show(&o));
    t.ok(&["stop", "-k"]);
}

/// A container started from inside a confined container (the outer one shares the host's
/// filesystem and cgroup namespace, so the inner lxc-rs finds its rootfs and cgroups): without
/// `lxc.seccomp.allow_nesting` the inner policy is left out, as LXC does; with it, the inner
/// filter is stacked on the outer one.
#[test]
fn a_nested_container_loads_its_policy_only_with_allow_nesting() {
    require_root!();
    if !lxc::has_api_extension("seccomp_allow_nesting") {
        eprintln!("skipped: this build has no seccomp_allow_nesting");
        return;
    }
    let inner = TestContainer::busybox("secnest");
    with_policy(&inner, "2\nblacklist\nmkdir errno 28\nmkdirat errno 28\n");
    let outer_policy = inner.lxcpath.join("outer.seccomp");
    fs::write(&outer_policy, "2\nblacklist\nkexec_load errno 1\n").unwrap();
    let outer_conf = inner.lxcpath.join("outer.conf");
    fs::write(
        &outer_conf,
        format!(
            "lxc.seccomp.profile = {}\nlxc.net.0.type = none\nlxc.namespace.keep = cgroup\n",
            outer_policy.display()
        ),
    )
    .unwrap();
    let outer_name = format!("{}-outer", inner.name);
    let run = || {
        let o = std::process::Command::new(BIN)
            .args([
                "execute",
                "-P",
                inner.lxcpath_str(),
                "-n",
                &outer_name,
                "-f",
            ])
            .arg(&outer_conf)
            .args([
                "--",
                BIN,
                "execute",
                "-P",
                inner.lxcpath_str(),
                "-n",
                &inner.name,
            ])
            .args([
                "--",
                "/bin/sh",
                "-c",
                "grep Seccomp_filters /proc/self/status; mkdir /tmp/x && echo MKDIR-OK",
            ])
            .output()
            .unwrap();
        format!("{}{}", stdout(&o), stderr(&o))
    };
    let out = run();
    assert!(out.contains("Seccomp_filters:\t1"), "{out}");
    assert!(
        out.contains("MKDIR-OK"),
        "the inner policy was loaded: {out}"
    );

    inner.append_config("lxc.seccomp.allow_nesting = 1\n");
    let out = run();
    assert!(out.contains("Seccomp_filters:\t2"), "{out}");
    assert!(out.contains("No space left on device"), "{out}");
    assert!(!out.contains("MKDIR-OK"), "{out}");
}
