//! Several busybox containers in one lxcpath, for the fleet commands (autostart, monitor,
//! top): `Fleet::busybox("as", &["a", "b"])` is `lxcrs-t-as-<pid>-a` and `-b` in
//! `/tmp/lxcrs-t-as-<pid>/`. Dropping it stops every member, tells the lxcpath's monitor relay
//! to quit and removes its FIFO, then drops each member's `TestContainer`, which destroys it,
//! proves it left nothing behind and removes the lxcpath.
//!
//! [`Lines`]: a monitor or `top` we started, read line by line.

#![allow(dead_code)] // Each test file uses a different part of the fixture.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{show, stdout, TestContainer, BIN, GLOBAL_CONF_ENV, TEST_GLOBAL_CONF};

pub struct Fleet {
    pub lxcpath: PathBuf,
    pub names: Vec<String>,
    /// Dropped after the fleet's own drop has stopped them all: each then destroys itself,
    /// proves it left nothing, and removes the (shared) lxcpath.
    members: Vec<TestContainer>,
}

impl Fleet {
    /// Members `<prefix>-<m>` for each `m` of `members`, made by `lxc-rs create -t busybox`.
    pub fn busybox(test: &str, members: &[&str]) -> Fleet {
        let prefix = format!("lxcrs-t-{test}-{}", std::process::id());
        let lxcpath = PathBuf::from("/tmp").join(&prefix);
        let _ = fs::remove_dir_all(&lxcpath);
        fs::create_dir_all(&lxcpath).unwrap();
        let names: Vec<String> = members.iter().map(|m| format!("{prefix}-{m}")).collect();
        let fleet = Fleet {
            members: names
                .iter()
                .map(|n| TestContainer {
                    name: n.clone(),
                    lxcpath: lxcpath.clone(),
                })
                .collect(),
            lxcpath,
            names,
        };
        for n in &fleet.names {
            fleet.ok(&["create", "-n", n, "-t", "busybox"]);
        }
        fleet
    }

    pub fn lxcpath_str(&self) -> &str {
        self.lxcpath.to_str().unwrap()
    }

    /// The member named by its suffix (`"a"`).
    pub fn name(&self, member: &str) -> &str {
        self.names
            .iter()
            .find(|n| n.ends_with(&format!("-{member}")))
            .unwrap_or_else(|| panic!("no member {member}"))
    }

    /// `lxc-rs <command> -P LXCPATH <rest...>`.
    pub fn lxc(&self, args: &[&str]) -> Output {
        let (command, rest) = args.split_first().expect("a command");
        Command::new(BIN)
            .env(GLOBAL_CONF_ENV, TEST_GLOBAL_CONF)
            .arg(command)
            .args(["-P", self.lxcpath_str()])
            .args(rest)
            .output()
            .expect("run lxc-rs")
    }

    /// [`Fleet::lxc`] that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.lxc(args);
        assert!(o.status.success(), "lxc-rs {args:?}: {}", show(&o));
        stdout(&o)
    }

    /// Add lines at the end of a member's config.
    pub fn append_config(&self, member: &str, text: &str) {
        let file = self.lxcpath.join(self.name(member)).join("config");
        let mut cfg = fs::read_to_string(&file).unwrap();
        cfg.push_str(text);
        fs::write(&file, cfg).unwrap();
    }

    pub fn state(&self, member: &str) -> String {
        self.ok(&["state", "-n", self.name(member)])
            .trim()
            .to_string()
    }

    /// A member's init pid.
    pub fn init_pid(&self, member: &str) -> i32 {
        self.try_init_pid(member)
            .unwrap_or_else(|| panic!("{member} has no init pid"))
    }

    /// A member's init pid, if it has one now (not while it stops or reboots).
    pub fn try_init_pid(&self, member: &str) -> Option<i32> {
        let o = self.lxc(&["info", "-n", self.name(member), "--json"]);
        let info: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        info["pid"].as_i64().map(|p| p as i32)
    }

    /// Start a member with LXC's `lxc-start` (as this host needs it: `LXC_START_HERE`).
    pub fn lxc_start(&self, member: &str) {
        let mut args = vec![
            "30",
            "lxc-start",
            "-n",
            self.name(member),
            "-P",
            self.lxcpath_str(),
        ];
        args.extend(crate::common::LXC_START_HERE);
        let o = Command::new("timeout").args(&args).output().unwrap();
        assert!(o.status.success(), "lxc-start {member}: {}", show(&o));
    }

    /// Kill a member with LXC's `lxc-stop -k`.
    pub fn lxc_stop(&self, member: &str) -> Output {
        Command::new("timeout")
            .args([
                "30",
                "lxc-stop",
                "-k",
                "-n",
                self.name(member),
                "-P",
                self.lxcpath_str(),
            ])
            .output()
            .unwrap()
    }

    /// The lxcpath's monitor FIFO directory, `/run/lxc/<lxcpath>`.
    pub fn fifo_dir(&self) -> PathBuf {
        Path::new("/run/lxc").join(self.lxcpath.strip_prefix("/").unwrap())
    }

    /// Whether a monitor relay listens for this lxcpath: `/proc/net/unix` lists its socket as
    /// `@lxc/<hash>/<lxcpath>`.
    pub fn relay_listening(&self) -> bool {
        let suffix = format!("/{}", self.lxcpath_str());
        fs::read_to_string("/proc/net/unix")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.rsplit(' ').next())
            .any(|s| s.starts_with("@lxc/") && s.ends_with(&suffix))
    }

    /// Tell the relay to quit and wait (up to 5 s) until it is gone.
    pub fn quit_relay(&self) {
        if !self.relay_listening() {
            return;
        }
        let _ = self.lxc(&["monitor", "-Q"]);
        let until = Instant::now() + Duration::from_secs(5);
        while self.relay_listening() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Stopped first, so that the first member's drop can remove the shared lxcpath.
        for t in &self.members {
            let _ = t.lxc(&["stop", "-k"]);
            // One LXC runs (the differential tests start some with lxc-start).
            if t.lxc(&["state"]).status.success() && t.state() != "STOPPED" {
                let member = t.name.rsplit('-').next().unwrap_or_default();
                let _ = self.lxc_stop(member);
            }
        }
        self.quit_relay();
        // Named after this test's lxcpath, so ours to remove, FIFO and all.
        let _ = fs::remove_dir_all(self.fifo_dir());
        if !std::thread::panicking() {
            assert!(
                !self.relay_listening(),
                "the monitor relay of {} is left",
                self.lxcpath.display()
            );
        }
        if self.members.is_empty() {
            let _ = fs::remove_dir_all(&self.lxcpath);
        }
    }
}

/// A process we started and the lines it prints, as they come; killed on drop.
pub struct Lines {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Lines {
    pub fn spawn(mut cmd: Command) -> Lines {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Lines { child, lines }
    }

    /// `n` lines, or those that came within 30 s.
    pub fn take(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        while got.len() < n {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(l) => got.push(l),
                Err(_) => break,
            }
        }
        got
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
