//! `cargo xtask test-matrix`: the facade with no API extension, each one alone, and all of them.
//! A cfg that only compiles with everything on is a bug, and `lxc-rs extensions` must list
//! exactly the enabled features: that is the proof a feature flag becomes a registration.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::deps;
use crate::run::{
    build_lxc_rs, build_net_plugins, cargo, display, fail, secs, spawn_status, target_dir,
    workspace_root, Result,
};

/// One feature set to build and test.
struct Combination {
    label: String,
    features: Vec<String>,
    /// `features` and every facade feature they turn on (seccomp_notify_fd_active needs
    /// seccomp_notify): what `lxc-rs extensions` must list.
    expected: Vec<String>,
}

impl Combination {
    /// Every combination runs without the defaults, so it holds exactly `features`.
    fn cargo_args(&self) -> Vec<String> {
        let mut args = vec!["--no-default-features".to_string()];
        if !self.features.is_empty() {
            args.push("--features".to_string());
            args.push(self.features.join(","));
        }
        args
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    Ok,
    Failed,
    Skipped,
}

impl Outcome {
    fn cell(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "-",
        }
    }
}

struct Row {
    label: String,
    build: Outcome,
    tests: Outcome,
    extensions: Outcome,
}

pub fn run() -> Result<()> {
    let root = workspace_root();
    let features = features_of(&root.join("lxc/Cargo.toml"))?;
    let implied = implied_features(&root.join("lxc/Cargo.toml"))?;
    check_cli_mirrors(&root.join("lxc-cli/Cargo.toml"), &features)?;
    deps::ensure_apt_packages()?;

    // lxc-rs's tool tests run the binary, which loads the network plugins from its own
    // directory; they do not depend on the facade's features, so one build serves every row.
    build_net_plugins(&target_dir()?.join("debug"), false)?;

    let deps_dir = target_dir()?.join("debug").join("deps");
    let combos = combinations(&features, &implied);
    eprintln!(
        "test-matrix: facade features: {}; {} combinations",
        features.join(" "),
        combos.len()
    );
    let mut rows = Vec::new();
    for (i, combo) in combos.iter().enumerate() {
        eprintln!(
            "\n==> test-matrix [{}/{}] {}",
            i + 1,
            combos.len(),
            combo.label
        );
        let start = Instant::now();
        let before = listing(&deps_dir);
        let row = run_combination(combo);
        prune(&deps_dir, &before);
        eprintln!(
            "<== {}: build {}, tests {}, extensions {} ({})",
            row.label,
            row.build.cell(),
            row.tests.cell(),
            row.extensions.cell(),
            secs(start.elapsed())
        );
        rows.push(row);
    }

    print_table(&rows);
    let failed = rows
        .iter()
        .filter(|r| [r.build, r.tests, r.extensions].contains(&Outcome::Failed))
        .count();
    if failed == 0 {
        Ok(())
    } else {
        Err(fail(format!(
            "{failed} of {} combinations failed",
            rows.len()
        )))
    }
}

/// The facade's features: every entry of `[features]` except `default`. Each one is named after
/// the API extension it enables.
fn features_of(manifest: &Path) -> Result<Vec<String>> {
    let table = read_manifest(manifest)?;
    let features = table
        .get("features")
        .and_then(|f| f.as_table())
        .ok_or_else(|| fail(format!("{}: no [features] table", manifest.display())))?;
    let mut names: Vec<String> = features
        .keys()
        .filter(|k| *k != "default")
        .cloned()
        .collect();
    // Sorted, so the matrix runs in the same order whatever map toml was built with.
    names.sort();
    Ok(names)
}

/// For each facade feature, the other facade features it turns on (`x = ["dep:..", "y"]`).
fn implied_features(manifest: &Path) -> Result<Implied> {
    let table = read_manifest(manifest)?;
    let empty = toml::Table::new();
    let features = table
        .get("features")
        .and_then(|f| f.as_table())
        .unwrap_or(&empty);
    Ok(features
        .iter()
        .filter(|(k, _)| *k != "default")
        .map(|(k, v)| {
            let on: Vec<String> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str())
                .filter(|d| !d.starts_with("dep:") && !d.contains('/'))
                .map(str::to_string)
                .collect();
            (k.clone(), on)
        })
        .collect())
}

type Implied = std::collections::BTreeMap<String, Vec<String>>;

/// `features` with everything they turn on, sorted.
fn closure(features: &[String], implied: &Implied) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = features.to_vec();
    while let Some(f) = todo.pop() {
        if out.insert(f.clone()) {
            todo.extend(implied.get(&f).into_iter().flatten().cloned());
        }
    }
    out.into_iter().collect()
}

fn read_manifest(manifest: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| fail(format!("cannot read {}: {e}", manifest.display())))?;
    text.parse::<toml::Table>()
        .map_err(|e| fail(format!("{}: {e}", manifest.display())))
}

/// lxc-cli must offer the same feature names and forward each to `lxc/<name>`, or the matrix
/// would test a binary whose features differ from the library's.
fn check_cli_mirrors(manifest: &Path, facade: &[String]) -> Result<()> {
    let table = read_manifest(manifest)?;
    let empty = toml::Table::new();
    let cli = table
        .get("features")
        .and_then(|f| f.as_table())
        .unwrap_or(&empty);
    let mut problems = Vec::new();
    for name in facade {
        let forwards = cli
            .get(name)
            .and_then(|v| v.as_array())
            .is_some_and(|deps| {
                deps.iter()
                    .any(|d| d.as_str() == Some(format!("lxc/{name}").as_str()))
            });
        if !forwards {
            problems.push(format!("  {name} = [\"lxc/{name}\"] is missing"));
        }
    }
    for name in cli.keys().filter(|k| *k != "default") {
        if !facade.contains(name) {
            problems.push(format!("  {name} is not a feature of the lxc facade"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "{}: [features] must mirror lxc/Cargo.toml's:\n{}",
            manifest.display(),
            problems.join("\n")
        )))
    }
}

fn combinations(features: &[String], implied: &Implied) -> Vec<Combination> {
    let combo = |label: &str, features: Vec<String>| Combination {
        label: label.to_string(),
        expected: closure(&features, implied),
        features,
    };
    let mut combos = vec![combo("none", Vec::new())];
    combos.extend(features.iter().map(|f| combo(f, vec![f.clone()])));
    // With one feature, "all" is that feature again.
    if features.len() > 1 {
        combos.push(combo("all", features.to_vec()));
    }
    combos
}

/// Build, test, then ask the built `lxc-rs` which extensions it has. All combinations share the
/// one target dir, so only lxc, lxc-cli and the extension crates rebuild between them.
fn run_combination(combo: &Combination) -> Row {
    let mut row = Row {
        label: combo.label.clone(),
        build: Outcome::Skipped,
        tests: Outcome::Skipped,
        extensions: Outcome::Skipped,
    };
    let features = combo.cargo_args();
    // The facade's tests (registry against features, config keys), and lxc-rs's own tests of
    // the tool without containers; the container tests run once, with every feature, in
    // `cargo xtask test`, which keeps the matrix inside CI's time.
    let test_cmd = |package: &str, only: Option<&str>| {
        let mut cmd = cargo(["test", "-p", package]);
        cmd.args(&features);
        if let Some(t) = only {
            cmd.args(["--test", t]);
        }
        cmd
    };

    // The library and the binary with this feature set; the tests build the test targets the
    // row runs. The container tests run once, with every feature, in `cargo xtask test`:
    // building their 45 binaries for every row doubled the matrix's time.
    let mut build = cargo(["build", "-p", "lxc", "-p", "lxc-cli"]);
    build.args(&features);
    row.build = outcome(&mut build);
    if row.build != Outcome::Ok {
        return row;
    }
    row.tests = match outcome(&mut test_cmd("lxc", None)) {
        Outcome::Ok => outcome(&mut test_cmd("lxc-cli", Some("cli"))),
        other => other,
    };
    row.extensions = match check_extensions(combo, &features) {
        Ok(()) => Outcome::Ok,
        Err(e) => {
            eprintln!("extensions check for {}: {e}", combo.label);
            Outcome::Failed
        }
    };
    row
}

/// The names in `dir` now; empty when it cannot be read (nothing will be pruned then).
fn listing(dir: &Path) -> BTreeSet<OsString> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default()
}

/// Every combination links its own copy of lxc-rs and of each test binary (about 1 GB with
/// debug info), and no later combination can reuse them: 31 of them filled CI's disk. What a
/// combination added and only it can use goes once it has run: executables, and the workspace's
/// own libraries, built for this feature set. Third-party libraries stay, later rows share them;
/// cargo rebuilds anything removed that a later row turns out to need.
fn prune(dir: &Path, before: &BTreeSet<OsString>) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut freed = 0u64;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if before.contains(&name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let executable = meta.is_file() && meta.permissions().mode() & 0o111 != 0;
        let ours = name.to_string_lossy().starts_with("liblxc")
            || name.to_string_lossy().starts_with("lxc");
        if (executable || ours) && std::fs::remove_file(entry.path()).is_ok() {
            freed += meta.len();
        }
    }
    eprintln!(
        "test-matrix: pruned {} MB of this row's artifacts",
        freed / 1_000_000
    );
}

fn outcome(cmd: &mut Command) -> Outcome {
    eprintln!("$ {}", display(cmd));
    match spawn_status(cmd) {
        Ok(s) if s.success() => Outcome::Ok,
        Ok(s) => {
            eprintln!("`{}` failed: {s}", display(cmd));
            Outcome::Failed
        }
        Err(e) => {
            eprintln!("{e}");
            Outcome::Failed
        }
    }
}

fn check_extensions(combo: &Combination, features: &[String]) -> Result<()> {
    let exe = build_lxc_rs(features)?;
    let mut cmd = Command::new(&exe);
    cmd.arg("extensions");
    eprintln!("$ {}", display(&cmd));
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| fail(format!("cannot run {}: {e}", exe.display())))?;
    if !out.status.success() {
        return Err(fail(format!("`{}` failed: {}", display(&cmd), out.status)));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One extension name per line, as LXC's `lxc-info --api-extensions`-style listings do.
    let got: BTreeSet<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let want: BTreeSet<&str> = combo.expected.iter().map(String::as_str).collect();
    eprint!("{stdout}");
    if got == want {
        return Ok(());
    }
    let missing: Vec<&str> = want.difference(&got).copied().collect();
    let extra: Vec<&str> = got.difference(&want).copied().collect();
    Err(fail(format!(
        "`lxc-rs extensions` does not match the enabled features: missing [{}], unexpected [{}]",
        missing.join(" "),
        extra.join(" ")
    )))
}

fn print_table(rows: &[Row]) {
    let width = rows
        .iter()
        .map(|r| r.label.len())
        .chain(["combination".len()])
        .max()
        .unwrap_or(0);
    println!("\ntest-matrix summary");
    println!(
        "{:<width$}  {:<6}  {:<6}  extensions",
        "combination", "build", "tests"
    );
    for r in rows {
        println!(
            "{:<width$}  {:<6}  {:<6}  {}",
            r.label,
            r.build.cell(),
            r.tests.cell(),
            r.extensions.cell()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_cover_none_each_and_all() {
        let f = vec!["a".to_string(), "b".to_string()];
        let none = Implied::new();
        let labels: Vec<String> = combinations(&f, &none)
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(labels, ["none", "a", "b", "all"]);
        let one = combinations(&f[..1], &none);
        assert_eq!(one.len(), 2);
        // A feature that turns on another is expected to report both.
        let implied = Implied::from([("b".to_string(), vec!["a".to_string()])]);
        let b = &combinations(&f, &implied)[2];
        assert_eq!(
            (b.features.clone(), b.expected.clone()),
            (vec!["b".to_string()], f.clone())
        );
        assert_eq!(
            combinations(&f, &none).last().map(|c| c.cargo_args()),
            Some(vec![
                "--no-default-features".to_string(),
                "--features".to_string(),
                "a,b".to_string()
            ])
        );
    }

    #[test]
    fn facade_features_are_read() {
        let features = features_of(&workspace_root().join("lxc/Cargo.toml")).unwrap();
        assert!(features.iter().any(|f| f == "lxc_log"), "{features:?}");
        assert!(!features.iter().any(|f| f == "default"));
        let mut sorted = features.clone();
        sorted.sort();
        assert_eq!(features, sorted);
    }

    #[test]
    fn cli_features_must_mirror_the_facade() {
        let dir = std::env::temp_dir().join(format!("lxcrs-t-xtask-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = dir.join("Cargo.toml");
        let facade = vec!["a".to_string(), "b".to_string()];

        std::fs::write(
            &manifest,
            "[features]\ndefault = [\"lxc/default\"]\na = [\"lxc/a\"]\nb = [\"lxc/b\"]\n",
        )
        .unwrap();
        let mirrored = check_cli_mirrors(&manifest, &facade);

        std::fs::write(&manifest, "[features]\na = [\"lxc/a\"]\nc = []\n").unwrap();
        let broken = check_cli_mirrors(&manifest, &facade);
        std::fs::remove_dir_all(&dir).unwrap();

        mirrored.unwrap();
        let msg = broken.unwrap_err().to_string();
        assert!(msg.contains("b = [\"lxc/b\"] is missing"), "{msg}");
        assert!(
            msg.contains("c is not a feature of the lxc facade"),
            "{msg}"
        );
    }
}
