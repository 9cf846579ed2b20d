//! Test support for lxc-rs: Debian's liblxc as an oracle for differential tests.
//!
//! A small C program (`c/lxc_oracle.c`) is built against liblxc and driven over a pipe: it
//! sets, gets, clears, saves and loads config items through LXC's own API. [`Oracle`] drives
//! one such process; [`Harness`] holds the two a differential test needs (one whose state is
//! compared, one that reads saved files so the first keeps its state), the keys compared after
//! each step, and the tally of differences against an allow-list. [`TestDir`] is a test's
//! private directory, removed together with the lock directory liblxc makes for it.
//!
//! This crate depends on nothing of lxc-rs, so any crate of the workspace can use it in its
//! tests; what lxc-rs itself answers is given to it as closures and snapshots.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Every compared key and its printed value (`None`: the get failed).
pub type Snapshot = BTreeMap<String, Option<String>>;

/// Print every key of `keys` through `get`.
pub fn snapshot(keys: &[String], mut get: impl FnMut(&str) -> Option<String>) -> Snapshot {
    keys.iter().map(|k| (k.clone(), get(k))).collect()
}

// ---------------------------------------------------------------------------------------------
// The wire format of lxc_oracle.c: words separated by single spaces, and inside a word a space,
// a backslash and any byte outside printable ASCII written \xHH.

fn esc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b <= 0x20 || b >= 0x7f || b == b'\\' {
            let _ = write!(out, "\\x{b:02x}");
        } else {
            out.push(b as char);
        }
    }
    out
}

fn unesc(s: &str) -> String {
    String::from_utf8_lossy(&unesc_bytes(s)).into_owned()
}

fn unesc_bytes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 4 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).expect("escape");
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The oracle.

/// One running lxc_oracle: a liblxc container handle named at spawn, in `<dir>/lxcpath`.
pub struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    /// Build the C driver into `dir`, or say why it cannot be built here (the reason a test
    /// prints when it skips: no pkg-config, no lxc-dev, no C compiler, or a failed build).
    pub fn build(dir: &Path) -> Result<PathBuf, String> {
        let flags = Command::new("pkg-config")
            .args(["--cflags", "--libs", "lxc"])
            .output()
            .map_err(|e| format!("pkg-config not runnable: {e}"))?;
        if !flags.status.success() {
            return Err(format!(
                "pkg-config does not know lxc (install lxc-dev): {}",
                String::from_utf8_lossy(&flags.stderr).trim()
            ));
        }
        let flags = String::from_utf8_lossy(&flags.stdout).into_owned();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/lxc_oracle.c");
        if !src.is_file() {
            return Err(format!("the oracle's source {} is missing", src.display()));
        }
        let bin = dir.join("lxc_oracle");
        let out = Command::new("cc")
            .args(["-O1", "-Wall", "-o"])
            .arg(&bin)
            .arg(&src)
            .args(flags.split_whitespace())
            .output()
            .map_err(|e| format!("no C compiler (cc): {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "building {} failed: {}",
                src.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(bin)
    }

    /// Start `bin` (from [`Oracle::build`]) for the container `name` in `<dir>/lxcpath`,
    /// starting from the defaults of an empty config file; returns once it answers.
    pub fn spawn(bin: &Path, dir: &Path, name: &str) -> Oracle {
        let empty = dir.join("empty.conf");
        std::fs::write(&empty, "").expect("write empty config");
        // save_config makes <lxcpath>/<name> but not the lxcpath itself.
        std::fs::create_dir_all(dir.join("lxcpath")).expect("make the lxcpath");
        let mut child = Command::new(bin)
            .arg(name)
            .arg(dir.join("lxcpath"))
            .arg(&empty)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // liblxc logs every refused value on stderr; that is expected noise here.
            .stderr(Stdio::null())
            .spawn()
            .expect("start the oracle");
        let stdin = child.stdin.take().expect("oracle stdin");
        let stdout = BufReader::new(child.stdout.take().expect("oracle stdout"));
        let mut o = Oracle {
            child,
            stdin,
            stdout,
        };
        // One answer: the handle exists (liblxc has read the container's config, if any)
        // before the caller goes on, so a test can change the files after this.
        o.cmd(&["get", "lxc.uts.name"]);
        o
    }

    fn cmd(&mut self, words: &[&str]) -> String {
        self.send(words);
        self.answer(words)
    }

    /// Send one command without waiting for its answer (for a call that blocks, e.g. on the
    /// container lock); read the answer later with [`Oracle::answer_ok`].
    pub fn send(&mut self, words: &[&str]) {
        let line: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { w.to_string() } else { esc(w) })
            .collect();
        writeln!(self.stdin, "{}", line.join(" ")).expect("write to oracle");
        self.stdin.flush().expect("flush oracle");
    }

    fn answer(&mut self, words: &[&str]) -> String {
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).expect("read oracle");
        let answer = answer.trim_end_matches('\n').to_string();
        assert!(
            !answer.is_empty() && !answer.starts_with("bad-"),
            "oracle did not understand {words:?}: {answer:?}"
        );
        answer
    }

    /// The answer to a command given with [`Oracle::send`] that answers ok or err: was it ok?
    pub fn answer_ok(&mut self) -> bool {
        match self.answer(&["(sent before)"]).as_str() {
            "ok" => true,
            "err" => false,
            other => panic!("oracle answered {other:?}"),
        }
    }

    /// The oracle process's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn ok(&mut self, words: &[&str]) -> bool {
        match self.cmd(words).as_str() {
            "ok" => true,
            "err" => false,
            other => panic!("oracle answered {other:?} to {words:?}"),
        }
    }

    fn value(&mut self, words: &[&str]) -> Option<String> {
        let a = self.cmd(words);
        if a == "err" {
            return None;
        }
        Some(unesc(a.strip_prefix("val ").expect("val answer")))
    }

    /// A fresh handle with the defaults of an empty config file.
    pub fn reset(&mut self) {
        assert!(self.ok(&["reset"]), "oracle reset failed");
    }

    /// `set_config_item`: did LXC accept it?
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        self.ok(&["set", key, value])
    }

    /// `clear_config_item`: did LXC accept it?
    pub fn clear(&mut self, key: &str) -> bool {
        self.ok(&["clear", key])
    }

    /// `get_config_item`: the printed value, `None` when LXC refuses.
    pub fn get(&mut self, key: &str) -> Option<String> {
        self.value(&["get", key])
    }

    /// `get_config_item` as the bytes LXC prints (values need not be UTF-8).
    pub fn get_bytes(&mut self, key: &str) -> Option<Vec<u8>> {
        let a = self.cmd(&["get", key]);
        if a == "err" {
            return None;
        }
        Some(unesc_bytes(a.strip_prefix("val ").expect("val answer")))
    }

    /// `get_keys(prefix)`: the keys, one a line, `None` when LXC refuses.
    pub fn keys(&mut self, prefix: Option<&str>) -> Option<String> {
        match prefix {
            Some(p) => self.value(&["keys", p]),
            None => self.value(&["keys"]),
        }
    }

    /// `save_config(path)`: did LXC save it?
    pub fn save(&mut self, path: &Path) -> bool {
        self.ok(&["save", &path.display().to_string()])
    }

    /// `load_config(path)` on top of the current state: did LXC read it?
    pub fn load(&mut self, path: &Path) -> bool {
        self.ok(&["load", &path.display().to_string()])
    }

    /// Every key of `keys` as LXC prints it now.
    pub fn snapshot(&mut self, keys: &[String]) -> Snapshot {
        snapshot(keys, |k| self.get(k))
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The test's directory.

/// A test's private directory `/tmp/<prefix>-<pid>`, removed on drop together with the lock
/// directory liblxc makes for an lxcpath inside it (/run/lxc/lock/<dir>/...).
pub struct TestDir(PathBuf);

impl TestDir {
    /// Make `/tmp/<prefix>-<pid>` afresh (a leftover of an earlier run with the same pid is
    /// removed first).
    pub fn fresh(prefix: &str) -> TestDir {
        let dir = TestDir(PathBuf::from(format!(
            "/tmp/{prefix}-{}",
            std::process::id()
        )));
        let _ = std::fs::remove_dir_all(&dir.0);
        std::fs::create_dir_all(&dir.0).expect("make the test directory");
        dir
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let rel = self.0.strip_prefix("/").unwrap_or(&self.0);
        let _ = std::fs::remove_dir_all(Path::new("/run/lxc/lock").join(rel));
    }
}

// ---------------------------------------------------------------------------------------------
// The comparison.

/// A difference between LXC and lxc-rs that is deliberate. `case` is matched against the name
/// of the check that differs (see [`Harness::check`]): an exact match, or a prefix when it ends
/// in `*`.
pub struct Allow {
    pub case: &'static str,
    pub reason: &'static str,
}

/// LXC's side of a differential test and the tally of what differed.
pub struct Harness {
    pub dir: PathBuf,
    /// The LXC whose state is compared with lxc-rs's.
    pub main: Oracle,
    /// A second LXC that reads saved files, so the main one keeps its state.
    pub aux: Oracle,
    /// The keys whose printed values are compared after each step.
    pub keys: Vec<String>,
    allow: &'static [Allow],
    used_allows: Vec<bool>,
    pub failures: Vec<String>,
    pub allowed_hits: Vec<(String, &'static str)>,
    pub checks: usize,
}

impl Harness {
    /// Start the two oracles, `<name>-main` and `<name>-aux`, in `dir`.
    pub fn new(
        bin: &Path,
        dir: &Path,
        name: &str,
        keys: Vec<String>,
        allow: &'static [Allow],
    ) -> Harness {
        Harness {
            dir: dir.to_path_buf(),
            main: Oracle::spawn(bin, dir, &format!("{name}-main")),
            aux: Oracle::spawn(bin, dir, &format!("{name}-aux")),
            keys,
            allow,
            used_allows: vec![false; allow.len()],
            failures: Vec::new(),
            allowed_hits: Vec::new(),
            checks: 0,
        }
    }

    fn allowed(&mut self, case: &str) -> Option<&'static str> {
        for (i, a) in self.allow.iter().enumerate() {
            let hit = match a.case.strip_suffix('*') {
                Some(p) => case.starts_with(p),
                None => case == a.case,
            };
            if hit {
                self.used_allows[i] = true;
                return Some(a.reason);
            }
        }
        None
    }

    /// Record a difference under the check's name unless it is allowed.
    pub fn check<T: std::fmt::Debug + PartialEq>(
        &mut self,
        case: &str,
        what: &str,
        lxc: T,
        ours: T,
    ) {
        self.checks += 1;
        if lxc == ours {
            return;
        }
        let msg = format!("{case}: {what}: LXC {lxc:?}, lxc-rs {ours:?}");
        match self.allowed(case) {
            Some(reason) => self.allowed_hits.push((msg, reason)),
            None => self.failures.push(msg),
        }
    }

    /// Compare every key LXC printed with what lxc-rs printed.
    pub fn compare_snapshots(&mut self, case: &str, lxc: &Snapshot, ours: &Snapshot) {
        for (k, l) in lxc {
            let o = ours.get(k).cloned().flatten();
            self.check(case, &format!("get {k}"), l.clone(), o);
        }
    }

    /// Compare every key's printed value in the main LXC with lxc-rs's `get`.
    pub fn compare_state(&mut self, case: &str, ours: impl FnMut(&str) -> Option<String>) {
        let l = self.main.snapshot(&self.keys);
        let o = snapshot(&self.keys, ours);
        self.compare_snapshots(case, &l, &o);
    }

    /// Save both configs (lxc-rs's through `save_ours`); both engines read both files (lxc-rs
    /// through `load_ours`, `None` when it refuses the file, and prints keys of what it read
    /// through `get_ours`); every reading must agree with every other. Returns whether LXC
    /// saved its file (when it refuses, only lxc-rs's file is read).
    pub fn compare_saved<C>(
        &mut self,
        case: &str,
        save_ours: impl FnOnce(&Path),
        load_ours: impl Fn(&Path) -> Option<C>,
        get_ours: impl Fn(&C, &str) -> Option<String>,
    ) -> bool {
        let ours_file = self.dir.join("saved-by-lxc-rs.conf");
        let lxc_file = self.dir.join("saved-by-lxc.conf");
        save_ours(&ours_file);
        let mut files = vec![("lxc-rs's file", ours_file)];
        let lxc_saved = self.main.save(&lxc_file);
        if lxc_saved {
            files.push(("LXC's file", lxc_file));
        }
        let mut readings: Vec<(String, bool, Snapshot)> = Vec::new();
        for (label, file) in &files {
            self.aux.reset();
            let ok = self.aux.load(file);
            readings.push((
                format!("LXC reading {label}"),
                ok,
                self.aux.snapshot(&self.keys),
            ));
            let ours = load_ours(file);
            let snap = ours
                .as_ref()
                .map(|c| snapshot(&self.keys, |k| get_ours(c, k)))
                .unwrap_or_default();
            readings.push((format!("lxc-rs reading {label}"), ours.is_some(), snap));
        }
        let (first_label, first_ok, first) = readings[0].clone();
        for (label, ok, snap) in readings.iter().skip(1) {
            let c = format!("{case} saved: {first_label} vs {label}");
            self.check(&c, "load", first_ok, *ok);
            if *ok && first_ok {
                self.compare_snapshots(&c, &first, snap);
            }
        }
        lxc_saved
    }

    /// Write `text` as a config file and load it into a fresh main LXC: the file and whether
    /// LXC read it.
    pub fn load_file(&mut self, text: &str) -> (PathBuf, bool) {
        let file = self.dir.join("input.conf");
        std::fs::write(&file, text).expect("write input config");
        self.main.reset();
        let ok = self.main.load(&file);
        (file, ok)
    }

    /// Print how many comparisons were made and every allowed difference with its reason.
    pub fn print_allowed(&self) {
        println!(
            "{} comparisons against liblxc, {} allowed differences:",
            self.checks,
            self.allowed_hits.len()
        );
        for (msg, reason) in &self.allowed_hits {
            println!("  allowed: {msg}\n    because {reason}");
        }
    }

    /// The allow-list entries that matched no difference.
    pub fn unused_allows(&self) -> Vec<&'static str> {
        self.allow
            .iter()
            .zip(&self.used_allows)
            .filter(|(_, used)| !**used)
            .map(|(a, _)| a.case)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips() {
        let s = "a b\\c\t\u{e9}=x";
        let e = esc(s);
        assert!(!e.contains(' ') && !e.contains('\t'), "{e}");
        assert_eq!(unesc(&e), s);
        assert_eq!(unesc("trailing\\x4"), "trailing\\x4");
    }
}
