//! `cargo xtask install [--prefix DIR] [--lxc-names] [--force] [--debug]`: a release build of
//! lxc-rs and its network plugins, copied to `DIR/bin/lxc-rs` and
//! `DIR/lib/lxc-rs/net-plugins/` (where lxc-net looks for them under /usr/local), and with
//! `--lxc-names` the links `DIR/bin/lxc-start -> lxc-rs` etc., one per LXC tool lxc-rs answers
//! to. It never writes over a real LXC tool: a `DIR/bin/lxc-*` that is not a link is left
//! alone and the install refused, unless `--force`; `/usr/bin` (Debian's LXC) always refused.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::run::{build_lxc_rs, fail, workspace_root, Error, Result, NET_PLUGINS};

/// The prefix when none is given; lxc-net's last plugin directory is under it.
const DEFAULT_PREFIX: &str = "/usr/local";

/// Below the prefix, as lxc-net's `plugins::INSTALL_DIR`.
const PLUGIN_DIR: &str = "lib/lxc-rs/net-plugins";

/// Where the tool names are listed (`name: "lxc-start",` in `TOOLS`), so that the links made
/// are the names the binary answers to.
const NAMES_SOURCE: &str = "lxc-cli/src/lxc_names.rs";

#[derive(Debug, Default)]
struct Opts {
    prefix: Option<PathBuf>,
    lxc_names: bool,
    force: bool,
    debug: bool,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--prefix" => {
                let dir = it
                    .next()
                    .ok_or_else(|| Error::Usage("--prefix needs a directory".into()))?;
                o.prefix = Some(PathBuf::from(dir));
            }
            s if s.starts_with("--prefix=") => o.prefix = Some(PathBuf::from(&s[9..])),
            "--lxc-names" => o.lxc_names = true,
            "--force" => o.force = true,
            "--debug" => o.debug = true,
            other => {
                return Err(Error::Usage(format!(
                    "`install` takes --prefix DIR, --lxc-names, --force, --debug (got `{other}`)"
                )))
            }
        }
    }
    Ok(o)
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let prefix = o.prefix.unwrap_or_else(|| PathBuf::from(DEFAULT_PREFIX));
    let names = if o.lxc_names {
        tool_names(&workspace_root().join(NAMES_SOURCE))?
    } else {
        Vec::new()
    };
    // Refuse before the (long) build, so a wrong prefix costs nothing.
    check_prefix(&prefix, &names, o.force)?;
    let extra: Vec<String> = if o.debug {
        Vec::new()
    } else {
        vec!["--release".into()]
    };
    let exe = build_lxc_rs(&extra)?;
    let built = exe.parent().unwrap_or(Path::new("."));
    let plugins: Vec<PathBuf> = NET_PLUGINS
        .iter()
        .map(|p| built.join(format!("lib{}.so", p.replace('-', "_"))))
        .collect();
    install(&exe, &plugins, &prefix, &names, o.force)?;
    println!(
        "installed {} and {} network plugins under {}{}",
        prefix.join("bin/lxc-rs").display(),
        plugins.len(),
        prefix.join(PLUGIN_DIR).display(),
        if names.is_empty() {
            String::new()
        } else {
            format!(", with {} LXC tool names", names.len())
        }
    );
    Ok(())
}

/// The `name: "lxc-..."` entries of lxc-cli's tool table.
fn tool_names(source: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(source).map_err(|e| {
        fail(format!(
            "reading the tool names from {}: {e}",
            source.display()
        ))
    })?;
    let names: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name: \"lxc-"))
        .filter_map(|rest| rest.strip_suffix("\","))
        .map(|n| format!("lxc-{n}"))
        .collect();
    if names.is_empty() {
        return Err(fail(format!("{} lists no tool names", source.display())));
    }
    Ok(names)
}

/// `/usr/bin` is where Debian's LXC lives: never there. Elsewhere an `lxc-*` that is a real
/// file (someone's LXC) stops the install unless `--force`; links are ours to replace.
fn check_prefix(prefix: &Path, names: &[String], force: bool) -> Result<()> {
    let bin = prefix.join("bin");
    let canon = fs::canonicalize(&bin).unwrap_or_else(|_| bin.clone());
    if canon == Path::new("/usr/bin") || canon == Path::new("/bin") {
        return Err(fail(format!(
            "refusing to install into {} (the distribution's LXC tools live there); \
             use --prefix /usr/local or another directory",
            bin.display()
        )));
    }
    if force {
        return Ok(());
    }
    let theirs: Vec<String> = names
        .iter()
        .map(|n| bin.join(n))
        .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| !m.file_type().is_symlink()))
        .map(|p| p.display().to_string())
        .collect();
    if theirs.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "{} not a link (another LXC's tool?): left alone; --force replaces them",
            theirs.join(", ") + if theirs.len() == 1 { " is" } else { " are" }
        )))
    }
}

/// Copy the binary and plugins in, then the links. A file is written beside its target and
/// renamed over it, so a running lxc-rs keeps its old text and nobody sees half a file.
fn install(
    exe: &Path,
    plugins: &[PathBuf],
    prefix: &Path,
    names: &[String],
    force: bool,
) -> Result<()> {
    check_prefix(prefix, names, force)?;
    let bin = prefix.join("bin");
    let plugin_dir = prefix.join(PLUGIN_DIR);
    for dir in [&bin, &plugin_dir] {
        fs::create_dir_all(dir).map_err(|e| fail(format!("creating {}: {e}", dir.display())))?;
    }
    copy(exe, &bin.join("lxc-rs"), 0o755)?;
    for p in plugins {
        let name = p
            .file_name()
            .ok_or_else(|| fail(format!("plugin path {} has no file name", p.display())))?;
        copy(p, &plugin_dir.join(name), 0o644)?;
    }
    for n in names {
        let link = bin.join(n);
        if fs::symlink_metadata(&link).is_ok() {
            fs::remove_file(&link)
                .map_err(|e| fail(format!("removing {}: {e}", link.display())))?;
        }
        std::os::unix::fs::symlink("lxc-rs", &link)
            .map_err(|e| fail(format!("linking {} -> lxc-rs: {e}", link.display())))?;
    }
    Ok(())
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result<()> {
    let tmp = to.with_extension("lxcrs-install-tmp");
    let err = |what: &str, e: std::io::Error| {
        fail(format!(
            "{what} {} -> {}: {e}",
            from.display(),
            to.display()
        ))
    };
    fs::copy(from, &tmp).map_err(|e| err("copying", e))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode)).map_err(|e| err("chmod", e))?;
    fs::rename(&tmp, to).map_err(|e| err("renaming", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lxcrs-t-install-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn tool_names_are_lxc_cli_s_table() {
        let mut names = tool_names(&workspace_root().join(NAMES_SOURCE)).unwrap();
        names.sort();
        // Every tool LXC 5.0.2 installs for users (src/lxc/tools and src/lxc/cmd), less the
        // setuid lxc-user-nic and the internal lxc-init / lxc-monitord.
        let lxc = [
            "lxc-attach",
            "lxc-autostart",
            "lxc-cgroup",
            "lxc-checkconfig",
            "lxc-checkpoint",
            "lxc-config",
            "lxc-console",
            "lxc-copy",
            "lxc-create",
            "lxc-destroy",
            "lxc-device",
            "lxc-execute",
            "lxc-freeze",
            "lxc-info",
            "lxc-ls",
            "lxc-monitor",
            "lxc-snapshot",
            "lxc-start",
            "lxc-stop",
            "lxc-top",
            "lxc-unfreeze",
            "lxc-unshare",
            "lxc-update-config",
            "lxc-usernsexec",
            "lxc-wait",
        ];
        assert_eq!(names, lxc);
    }

    #[test]
    fn installs_binary_plugins_and_links_and_refuses_real_tools() {
        let d = scratch("files");
        let exe = d.join("lxc-rs-built");
        let plugin = d.join("liblxc_net_plugin_veth.so");
        fs::write(&exe, b"#!/bin/sh\n").unwrap();
        fs::write(&plugin, b"so").unwrap();
        let prefix = d.join("prefix");
        let names = vec!["lxc-start".to_string(), "lxc-info".to_string()];

        install(&exe, std::slice::from_ref(&plugin), &prefix, &names, false).unwrap();
        let bin = prefix.join("bin");
        assert_eq!(fs::read(bin.join("lxc-rs")).unwrap(), b"#!/bin/sh\n");
        assert_eq!(
            fs::metadata(bin.join("lxc-rs"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
        assert_eq!(
            fs::read_link(bin.join("lxc-start")).unwrap(),
            Path::new("lxc-rs")
        );
        assert!(prefix
            .join(PLUGIN_DIR)
            .join("liblxc_net_plugin_veth.so")
            .is_file());
        // Again: our own links are replaced.
        install(&exe, std::slice::from_ref(&plugin), &prefix, &names, false).unwrap();

        // A real lxc-info (someone's LXC) stops it, and stays as it was.
        fs::remove_file(bin.join("lxc-info")).unwrap();
        fs::write(bin.join("lxc-info"), b"real").unwrap();
        let e = install(&exe, std::slice::from_ref(&plugin), &prefix, &names, false).unwrap_err();
        assert!(e.to_string().contains("lxc-info is not a link"), "{e}");
        assert_eq!(fs::read(bin.join("lxc-info")).unwrap(), b"real");
        install(&exe, &[plugin], &prefix, &names, true).unwrap();
        assert_eq!(
            fs::read_link(bin.join("lxc-info")).unwrap(),
            Path::new("lxc-rs")
        );

        let e = check_prefix(Path::new("/usr"), &names, true).unwrap_err();
        assert!(e.to_string().contains("refusing"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn flags() {
        let o = parse(&["--prefix".into(), "/opt/x".into(), "--lxc-names".into()]).unwrap();
        assert_eq!(o.prefix.as_deref(), Some(Path::new("/opt/x")));
        assert!(o.lxc_names && !o.force && !o.debug);
        assert!(matches!(parse(&["--bogus".into()]), Err(Error::Usage(_))));
    }
}
