//! `cargo xtask new-extension NAME [--under DIR]`: a new API extension crate, wired everywhere
//! an extension has to be named, in one step.
//!
//! An extension is reachable only if seven places agree (ARCHITECTURE.md): its folder, its
//! crate, the workspace members, the workspace dependency, the facade's optional dependency and
//! feature (on by default), the facade's `use` that keeps the linker from dropping the
//! registration, and the CLI's mirrored feature. Every edit is computed before anything is
//! written, so a refusal changes nothing.

use std::fs;
use std::path::{Path, PathBuf};

use crate::run::{fail, Error, Result};

/// The extension strings LXC knows: its code's list (`src/lxc/api_extensions.h`, up to 7.0)
/// plus `init_pidfd`, which its document has and its code leaves out.
pub const LXC_EXTENSIONS: &[&str] = &[
    "lxc_log",
    "lxc_config_item_is_supported",
    "console_log",
    "reboot2",
    "mount_injection",
    "cgroup_relative",
    "mount_injection_file",
    "seccomp_allow_nesting",
    "seccomp_notify",
    "network_veth_routes",
    "network_ipvlan",
    "network_l2proxy",
    "network_gateway_device_route",
    "network_phys_macvlan_mtu",
    "network_veth_router",
    "cgroup2_devices",
    "cgroup2",
    "init_pidfd",
    "pidfd",
    "cgroup_advanced_isolation",
    "network_bridge_vlan",
    "time_namespace",
    "seccomp_allow_deny_syntax",
    "devpts_fd",
    "seccomp_notify_fd_active",
    "seccomp_proxy_send_notify_fd",
    "idmapped_mounts",
    "idmapped_mounts_v2",
    "core_scheduling",
    "cgroup2_auto_mounting",
    "environment_runtime_hooks",
];

/// The subsystem crate an extension belongs under when `--under` is not given.
fn default_parent(name: &str) -> &'static str {
    if name.starts_with("seccomp_") {
        "lxc-seccomp"
    } else if name.starts_with("network_") {
        "lxc-net"
    } else if name.starts_with("cgroup") {
        "lxc-cgroup"
    } else if matches!(name, "console_log" | "devpts_fd") {
        "lxc-console"
    } else if name.starts_with("mount_injection") || name.starts_with("idmapped_mounts") {
        "lxc-mount"
    } else {
        "lxc-core"
    }
}

pub fn crate_name(name: &str) -> String {
    format!("lxc-ext-{}", name.replace('_', "-"))
}

pub fn run(args: &[String]) -> Result<()> {
    let (name, under) = match args {
        [name] => (name.as_str(), None),
        [name, flag, dir] if flag == "--under" => (name.as_str(), Some(dir.as_str())),
        _ => {
            return Err(Error::Usage(
                "new-extension takes NAME [--under DIR]".to_string(),
            ))
        }
    };
    let root = crate::run::workspace_root();
    let written = scaffold(&root, name, under)?;
    for p in &written {
        eprintln!("new-extension: wrote {}", p.display());
    }
    // The facade's `use` lines are kept in rustfmt's order by rustfmt itself.
    let status = crate::run::cargo(["fmt", "-p", "lxc"])
        .status()
        .map_err(|e| fail(format!("cargo fmt: {e}")))?;
    if !status.success() {
        return Err(fail("cargo fmt -p lxc failed"));
    }
    eprintln!(
        "new-extension: {name} is crate {} in {}; build it with `cargo test -p {}`",
        crate_name(name),
        parent_dir(name, under),
        crate_name(name)
    );
    Ok(())
}

fn parent_dir<'a>(name: &str, under: Option<&'a str>) -> &'a str {
    under.unwrap_or_else(|| default_parent(name))
}

/// Make the crate and wire it in under `root`. Returns the files written.
pub fn scaffold(root: &Path, name: &str, under: Option<&str>) -> Result<Vec<PathBuf>> {
    if !LXC_EXTENSIONS.contains(&name) {
        return Err(fail(format!(
            "`{name}` is not an LXC API extension string (known: {})",
            LXC_EXTENSIONS.join(", ")
        )));
    }
    let parent = parent_dir(name, under);
    if !root.join(parent).join("Cargo.toml").is_file() {
        return Err(fail(format!(
            "{parent}: no such crate in the workspace (make the subsystem crate first, or pass \
             --under DIR)"
        )));
    }
    let rel = format!("{parent}/{name}");
    let dir = root.join(&rel);
    if dir.exists() {
        return Err(fail(format!("{}: already exists", dir.display())));
    }
    let krate = crate_name(name);
    let ident = krate.replace('-', "_");

    let ws_path = root.join("Cargo.toml");
    let facade_path = root.join("lxc/Cargo.toml");
    let facade_lib = root.join("lxc/src/lib.rs");
    let cli_path = root.join("lxc-cli/Cargo.toml");
    let features_test = root.join("lxc/tests/features.rs");
    let ws = read(&ws_path)?;
    let facade = read(&facade_path)?;
    let lib = read(&facade_lib)?;
    let cli = read(&cli_path)?;
    let ftest = read(&features_test)?;

    let ws = insert_member(&ws, &rel, &ws_path)?;
    let ws = insert_after_last(
        &ws,
        "lxc-ext-",
        &format!("{krate} = {{ path = \"{rel}\" }}"),
        &ws_path,
    )?;
    let facade = add_default(&facade, name, &facade_path)?;
    let facade = insert_after_last(
        &facade,
        "lxc-ext-",
        &format!("{krate} = {{ workspace = true, optional = true }}"),
        &facade_path,
    )?;
    let facade = add_feature(
        &facade,
        &format!("{name} = [\"dep:{krate}\"]"),
        &facade_path,
    )?;
    let cli = add_default(&cli, name, &cli_path)?;
    let cli = add_feature(&cli, &format!("{name} = [\"lxc/{name}\"]"), &cli_path)?;
    let lib = insert_after_line_containing(
        &lib,
        "// Naming each extension crate keeps the linker",
        &format!("#[cfg(feature = \"{name}\")]\nuse {ident} as _;"),
        &facade_lib,
    )?;

    // The facade's own test lists every feature it has, to prove each is reported exactly when on.
    let ftest = insert_before_line(
        &ftest,
        "    ]",
        &format!("        (\"{name}\", cfg!(feature = \"{name}\")),"),
        &features_test,
    )?;

    let files = [
        (dir.join("Cargo.toml"), crate_manifest(name, &krate)),
        (dir.join("README.md"), readme(name)),
        (dir.join("src/lib.rs"), lib_rs(name)),
        (dir.join("tests/registered.rs"), test_rs(name, &ident)),
    ];
    for (path, text) in &files {
        if let Some(d) = path.parent() {
            fs::create_dir_all(d).map_err(|e| fail(format!("mkdir {}: {e}", d.display())))?;
        }
        write(path, text)?;
    }
    write(&ws_path, &ws)?;
    write(&facade_path, &facade)?;
    write(&facade_lib, &lib)?;
    write(&cli_path, &cli)?;
    write(&features_test, &ftest)?;
    let mut out: Vec<PathBuf> = files.into_iter().map(|(p, _)| p).collect();
    out.extend([ws_path, facade_path, facade_lib, cli_path, features_test]);
    Ok(out)
}

fn read(p: &Path) -> Result<String> {
    fs::read_to_string(p).map_err(|e| fail(format!("read {}: {e}", p.display())))
}

fn write(p: &Path, text: &str) -> Result<()> {
    fs::write(p, text).map_err(|e| fail(format!("write {}: {e}", p.display())))
}

/// Add `rel` to `members` (after the last member under the same parent, else before the
/// facade) and to `default-members`.
fn insert_member(ws: &str, rel: &str, path: &Path) -> Result<String> {
    let parent = rel.split('/').next().unwrap_or(rel);
    let lines: Vec<&str> = ws.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("members"))
        .ok_or_else(|| fail(format!("{}: no `members` list", path.display())))?;
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.trim() == "]")
            .ok_or_else(|| fail(format!("{}: `members` is not closed", path.display())))?;
    let quoted_parent = format!("\"{parent}\"");
    let under_parent = format!("\"{parent}/");
    let at = lines[start..end]
        .iter()
        .rposition(|l| {
            let t = l.trim();
            t.starts_with(&quoted_parent) || t.starts_with(&under_parent)
        })
        .map(|i| start + i + 1)
        .or_else(|| {
            lines[start..end]
                .iter()
                .position(|l| l.trim() == "\"lxc\",")
                .map(|i| start + i)
        })
        .unwrap_or(end);
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out.insert(at, format!("    \"{rel}\","));
    let dm = out
        .iter()
        .position(|l| l.starts_with("default-members"))
        .ok_or_else(|| fail(format!("{}: no `default-members`", path.display())))?;
    out[dm] = append_to_inline_list(&out[dm], rel).ok_or_else(|| {
        fail(format!(
            "{}: `default-members` is not one line",
            path.display()
        ))
    })?;
    Ok(join(out))
}

fn append_to_inline_list(line: &str, item: &str) -> Option<String> {
    let close = line.rfind(']')?;
    let inner = line[..close].trim_end();
    let sep = if inner.ends_with('[') { "" } else { ", " };
    Some(format!("{inner}{sep}\"{item}\"{}", &line[close..]))
}

/// Put `name` into the `default = [...]` feature list.
fn add_default(manifest: &str, name: &str, path: &Path) -> Result<String> {
    let mut out: Vec<String> = manifest.lines().map(str::to_string).collect();
    let i = out
        .iter()
        .position(|l| l.starts_with("default = ["))
        .ok_or_else(|| fail(format!("{}: no one-line `default` feature", path.display())))?;
    out[i] = append_to_inline_list(&out[i], name)
        .ok_or_else(|| fail(format!("{}: `default` is not one line", path.display())))?;
    Ok(join(out))
}

/// Add a feature line at the end of `[features]`.
fn add_feature(manifest: &str, line: &str, path: &Path) -> Result<String> {
    let lines: Vec<&str> = manifest.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "[features]")
        .ok_or_else(|| fail(format!("{}: no [features] table", path.display())))?;
    let mut at = start + 1;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        if l.starts_with('[') {
            break;
        }
        if !l.trim().is_empty() && !l.trim_start().starts_with('#') {
            at = i + 1;
        }
    }
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out.insert(at, line.to_string());
    Ok(join(out))
}

fn insert_after_last(text: &str, prefix: &str, line: &str, path: &Path) -> Result<String> {
    let mut out: Vec<String> = text.lines().map(str::to_string).collect();
    let i = out
        .iter()
        .rposition(|l| l.starts_with(prefix))
        .ok_or_else(|| {
            fail(format!(
                "{}: no line starting with {prefix}",
                path.display()
            ))
        })?;
    out.insert(i + 1, line.to_string());
    Ok(join(out))
}

fn insert_after_line_containing(
    text: &str,
    needle: &str,
    ins: &str,
    path: &Path,
) -> Result<String> {
    let mut out: Vec<String> = text.lines().map(str::to_string).collect();
    let i = out
        .iter()
        .position(|l| l.contains(needle))
        .ok_or_else(|| fail(format!("{}: no line containing {needle:?}", path.display())))?;
    out.insert(i + 1, ins.to_string());
    Ok(join(out))
}

/// Insert `ins` before the first line that is exactly `line`.
fn insert_before_line(text: &str, line: &str, ins: &str, path: &Path) -> Result<String> {
    let mut out: Vec<String> = text.lines().map(str::to_string).collect();
    let i = out
        .iter()
        .position(|l| l == line)
        .ok_or_else(|| fail(format!("{}: no line {line:?}", path.display())))?;
    out.insert(i, ins.to_string());
    Ok(join(out))
}

fn join(lines: Vec<String>) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

fn crate_manifest(name: &str, krate: &str) -> String {
    format!(
        r#"[package]
name = "{krate}"
description = "lxc-rs API extension {name}"
version.workspace = true
edition.workspace = true
license.workspace = true

[lints]
workspace = true

[dependencies]
lxc-core.workspace = true
"#
    )
}

fn readme(name: &str) -> String {
    format!(
        "# {name}\n\
         LXC's `{name}` API extension for lxc-rs (see LXC's doc/api-extensions.md).\n\
         Linked in with the `lxc` facade's `{name}` feature; registers `{name}` in the core's registry.\n\
         Its keys, phase hooks and commands are declared in the one registration at the top of src/lib.rs.\n\
         Tests: `cargo test -p {krate}`.\n",
        krate = crate_name(name)
    )
}

fn lib_rs(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    format!(
        r#"//! API extension `{name}`.
//!
//! The registration below is everything this crate does to a container: the keys it owns,
//! the phases it hooks and the command-socket requests it answers.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{{EntryKind, Registration, REGISTRY}};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static {upper}: Registration = Registration {{
    name: "{name}",
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
}};
"#
    )
}

fn test_rs(name: &str, ident: &str) -> String {
    format!(
        r#"//! The crate registers `{name}` when it is linked.

use {ident} as _;

#[test]
fn registers_its_name() {{
    assert!(lxc_core::registry::has_api_extension("{name}"));
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: [&str; 5] = [
        "Cargo.toml",
        "lxc/Cargo.toml",
        "lxc/src/lib.rs",
        "lxc-cli/Cargo.toml",
        "lxc/tests/features.rs",
    ];

    /// A workspace in miniature: the files the scaffold edits, as they look in the repo.
    fn mini(dir: &Path) {
        let real = crate::run::workspace_root();
        for f in FILES {
            let to = dir.join(f);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(real.join(f), &to).unwrap();
        }
        for parent in ["lxc-core", "lxc-cgroup", "lxc-console"] {
            fs::create_dir_all(dir.join(parent)).unwrap();
            fs::write(dir.join(parent).join("Cargo.toml"), "").unwrap();
        }
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lxcrs-t-scaffold-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    /// `text` as it was before the scaffold wired `name` in: every LXC extension is in the
    /// workspace now, so the test takes one out of its copy of the files and wires it again.
    fn unwire(text: &str, name: &str) -> String {
        let krate = crate_name(name);
        let dir = format!("{}/{name}", default_parent(name));
        let mut text = text.to_string();
        for item in [&dir, name] {
            text = text
                .replace(&format!(", \"{item}\""), "")
                .replace(&format!("\"{item}\", "), "");
        }
        let mut out: Vec<&str> = Vec::new();
        let mut skip_close = false;
        for line in text.lines() {
            if line.contains(name) || line.contains(&krate) || line.contains(&dir) {
                // A tuple rustfmt spread over lines: `(`, the two fields, `),`.
                if out.last().is_some_and(|l| l.trim() == "(") {
                    out.pop();
                    skip_close = true;
                }
                continue;
            }
            if skip_close && line.trim() == ")," {
                skip_close = false;
                continue;
            }
            skip_close = false;
            out.push(line);
        }
        out.join("\n") + "\n"
    }

    #[test]
    fn wires_an_extension_everywhere() {
        let name = "core_scheduling";
        let krate_name = crate_name(name);
        let dir = format!("{}/{name}", default_parent(name));
        let d = tmp("wire");
        mini(&d);
        for f in FILES {
            let text = read(&d.join(f)).unwrap();
            fs::write(d.join(f), unwire(&text, name)).unwrap();
            assert!(!read(&d.join(f)).unwrap().contains(name), "{f}");
        }
        scaffold(&d, name, None).unwrap();
        let ws: toml::Table = read(&d.join("Cargo.toml")).unwrap().parse().unwrap();
        let w = &ws["workspace"];
        let members: Vec<&str> = w["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(members.contains(&dir.as_str()), "{members:?}");
        assert!(w["default-members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str() == Some(dir.as_str())));
        assert_eq!(
            w["dependencies"][krate_name.as_str()]["path"].as_str(),
            Some(dir.as_str())
        );
        let facade: toml::Table = read(&d.join("lxc/Cargo.toml")).unwrap().parse().unwrap();
        assert_eq!(
            facade["features"][name].as_array().unwrap()[0].as_str(),
            Some(format!("dep:{krate_name}").as_str())
        );
        assert!(facade["features"]["default"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str() == Some(name)));
        assert_eq!(
            facade["dependencies"][krate_name.as_str()]["optional"].as_bool(),
            Some(true)
        );
        let cli: toml::Table = read(&d.join("lxc-cli/Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            cli["features"][name].as_array().unwrap()[0].as_str(),
            Some(format!("lxc/{name}").as_str())
        );
        let lib = read(&d.join("lxc/src/lib.rs")).unwrap();
        assert!(lib.contains(&format!(
            "#[cfg(feature = \"{name}\")]\nuse {} as _;",
            krate_name.replace('-', "_")
        )));
        let krate: toml::Table = read(&d.join(&dir).join("Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(krate["package"]["name"].as_str(), Some(krate_name.as_str()));
        let src = read(&d.join(&dir).join("src/lib.rs")).unwrap();
        assert!(src.contains(&format!("name: \"{name}\"")));
        let ftest = read(&d.join("lxc/tests/features.rs")).unwrap();
        assert!(ftest.contains(&format!(
            "        (\"{name}\", cfg!(feature = \"{name}\")),\n    ]"
        )));
        assert_eq!(
            read(&d.join(&dir).join("README.md"))
                .unwrap()
                .lines()
                .count(),
            5
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refuses_without_touching_anything() {
        let d = tmp("refuse");
        mini(&d);
        let before: Vec<String> = FILES.iter().map(|f| read(&d.join(f)).unwrap()).collect();
        // Not LXC's, no such parent crate, and a folder that exists.
        let e = scaffold(&d, "seccomp_notfy", None).unwrap_err().to_string();
        assert!(e.contains("not an LXC API extension"), "{e}");
        let e = scaffold(&d, "seccomp_notify", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lxc-seccomp: no such crate"), "{e}");
        fs::create_dir_all(d.join("lxc-cgroup/cgroup2")).unwrap();
        let e = scaffold(&d, "cgroup2", None).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
        let after: Vec<String> = FILES.iter().map(|f| read(&d.join(f)).unwrap()).collect();
        assert_eq!(before, after);
        fs::remove_dir_all(&d).unwrap();
    }
}
