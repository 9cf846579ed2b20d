//! The container handle: a name under an lxcpath and its configuration.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::global;
use crate::lock::ContainerLock;

/// A container defined (or to be defined) at `<lxcpath>/<name>/config`.
#[derive(Debug, Clone)]
pub struct Container {
    name: String,
    lxcpath: PathBuf,
    config_file: PathBuf,
    config: Config,
    /// `set_timeout`: how long a request to the monitor may take (`None`: no limit).
    timeout: Option<std::time::Duration>,
    /// `want_close_all_fds`: a foreground start closes the fds this process inherited.
    close_all_fds: bool,
}

/// Check a container name the way a path component must be: it names a directory.
pub fn validate_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("it is a relative directory name")
    } else if name.contains('/') {
        Some("it contains '/'")
    } else if name.bytes().any(|b| b == 0 || b.is_ascii_control()) {
        Some("it contains control characters")
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::InvalidName {
            name: name.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

impl Container {
    /// `lxc_container_new`: a handle for `name` under `lxcpath` (default: the global lxcpath).
    /// If the container is defined, its config is loaded.
    pub fn new(name: &str, lxcpath: Option<&Path>) -> Result<Container> {
        validate_name(name)?;
        let lxcpath = lxcpath
            .map(Path::to_path_buf)
            .unwrap_or_else(global::default_lxcpath);
        let config_file = lxcpath.join(name).join("config");
        let mut c = Container {
            name: name.to_string(),
            lxcpath,
            config_file,
            config: Config::new(),
            timeout: Some(crate::lifecycle::COMMAND_TIMEOUT),
            close_all_fds: false,
        };
        if c.defined()? {
            c.load_config(None)?;
        }
        Ok(c)
    }

    /// A handle that does not read the config file: for state queries, stop and destroy,
    /// which must work even when the config is broken.
    pub fn new_unloaded(name: &str, lxcpath: Option<&Path>) -> Result<Container> {
        validate_name(name)?;
        let lxcpath = lxcpath
            .map(Path::to_path_buf)
            .unwrap_or_else(global::default_lxcpath);
        Ok(Container {
            name: name.to_string(),
            config_file: lxcpath.join(name).join("config"),
            lxcpath,
            config: Config::new(),
            timeout: Some(crate::lifecycle::COMMAND_TIMEOUT),
            close_all_fds: false,
        })
    }

    /// Use `path` as the container's config file (lxc-start -f): it is loaded, and hooks see
    /// it as `LXC_CONFIG_FILE`.
    pub fn set_config_file(&mut self, path: &Path) -> Result<()> {
        self.config = Config::load(path)?;
        self.config_file = path.to_path_buf();
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `get_config_path`: the lxcpath this handle looks in.
    pub fn config_path(&self) -> &Path {
        &self.lxcpath
    }

    /// `set_config_path`: move the handle to another lxcpath (the config stays in memory).
    pub fn set_config_path(&mut self, lxcpath: &Path) {
        self.lxcpath = lxcpath.to_path_buf();
        self.config_file = self.lxcpath.join(&self.name).join("config");
    }

    /// `config_file_name`: `<lxcpath>/<name>/config`.
    pub fn config_file_name(&self) -> &Path {
        &self.config_file
    }

    /// The container's directory, `<lxcpath>/<name>`.
    pub fn dir(&self) -> PathBuf {
        self.lxcpath.join(&self.name)
    }

    /// `is_defined`: the config file exists.
    pub fn is_defined(&self) -> bool {
        self.config_file.is_file()
    }

    /// Whether the config file exists, or why that cannot be told: a directory on the way
    /// that the caller may not search is "permission denied", not "not defined".
    pub fn defined(&self) -> Result<bool> {
        match fs::metadata(&self.config_file) {
            Ok(m) => Ok(m.is_file()),
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                Ok(false)
            }
            Err(e) => Err(Error::io("stat config", &self.config_file, e)),
        }
    }

    /// [`Container::defined`], with "not defined" as an error.
    pub fn require_defined(&self) -> Result<()> {
        if self.defined()? {
            Ok(())
        } else {
            Err(Error::NotDefined {
                name: self.name.clone(),
                lxcpath: self.lxcpath.clone(),
            })
        }
    }

    /// Take the container's lock, the one LXC's tools take around its files (see
    /// [`crate::lock`]), waiting while another process holds it. Hold it across a load, change
    /// and save so no concurrent writer's update is lost:
    ///
    /// ```no_run
    /// # fn f(c: &mut lxc_core::Container) -> lxc_core::Result<()> {
    /// let _lock = c.lock_config()?;
    /// c.load_config(None)?;
    /// c.set_config_item("lxc.environment", "A=1")?;
    /// c.save_config(None)?;
    /// # Ok(()) }
    /// ```
    ///
    /// The APIs that take the lock themselves (`save_config`) share it on this thread.
    pub fn lock_config(&self) -> Result<ContainerLock> {
        ContainerLock::lock(&self.lxcpath, &self.name)
    }

    /// [`Container::lock_config`] without waiting: `None` while someone else holds it.
    pub fn try_lock_config(&self) -> Result<Option<ContainerLock>> {
        ContainerLock::try_lock(&self.lxcpath, &self.name)
    }

    /// `load_config`: replace the in-memory config by the file's (or `alt`'s). Like liblxc,
    /// reading the container's own file takes the container lock, so that it never reads a
    /// file LXC's tools are halfway through writing (liblxc's save_config rewrites in place).
    pub fn load_config(&mut self, alt: Option<&Path>) -> Result<()> {
        let path = alt.unwrap_or(&self.config_file).to_path_buf();
        let _lock = if path == self.config_file {
            Some(self.lock_config()?)
        } else {
            None
        };
        self.config = Config::load(&path)?;
        Ok(())
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    pub fn set_config_item(&mut self, key: &str, value: &str) -> Result<()> {
        self.config.set(key, value)
    }

    pub fn get_config_item(&self, key: &str) -> Result<String> {
        self.config.get(key)
    }

    pub fn clear_config_item(&mut self, key: &str) -> Result<()> {
        self.config.clear(key)
    }

    /// `clear_config`: forget the loaded config, as liblxc frees its `lxc_conf`; the file is
    /// untouched, and `load_config` or `set_config_item` start again from nothing.
    pub fn clear_config(&mut self) {
        self.config = Config::new();
    }

    /// `set_timeout`: how long each request to the container's monitor may take, `None` for no
    /// limit (liblxc's -1). The default is [`COMMAND_TIMEOUT`](crate::lifecycle::COMMAND_TIMEOUT).
    /// A zero timeout is refused, as liblxc refuses 0.
    pub fn set_timeout(&mut self, timeout: Option<std::time::Duration>) -> Result<()> {
        if timeout == Some(std::time::Duration::ZERO) {
            return Err(Error::InvalidValue {
                key: "timeout".into(),
                value: "0".into(),
                origin: crate::error::Origin::api(),
                expected: "a positive duration, or none for no limit".into(),
            });
        }
        self.timeout = timeout;
        Ok(())
    }

    /// The timeout [`set_timeout`](Self::set_timeout) gave.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        self.timeout
    }

    /// `want_close_all_fds`: whether [`start_foreground`](Self::start_foreground) closes the
    /// fds this process inherited through exec (as `StartOptions::close_all_fds`, `lxc-start
    /// -C`). A daemonised start always closes every fd of the caller's.
    pub fn want_close_all_fds(&mut self, state: bool) {
        self.close_all_fds = state;
    }

    /// The setting [`want_close_all_fds`](Self::want_close_all_fds) made.
    pub fn close_all_fds(&self) -> bool {
        self.close_all_fds
    }

    /// `get_keys`: with no prefix, every key this build supports; with `lxc.net.N`, the
    /// network keys for that interface.
    pub fn get_keys(&self, prefix: Option<&str>) -> Vec<String> {
        crate::keys::list_keys(&self.config, prefix)
    }

    /// `save_config`: write the config to its file (or to `alt`). Like liblxc, writing the
    /// container's own file takes the container lock for the write (shared with one this
    /// thread already holds). Refused for the container's own file while LXC runs the
    /// container: the file belongs to LXC's running container then, and lxc-rs does not change
    /// it under LXC's tools.
    pub fn save_config(&self, alt: Option<&Path>) -> Result<()> {
        let path = alt.unwrap_or(&self.config_file);
        let own = path == self.config_file || path == self.dir().join("config");
        if own {
            self.refuse_if_run_by_lxc()?;
        }
        let _lock = if own { Some(self.lock_config()?) } else { None };
        self.config.save(path)
    }
}

/// `list_defined_containers`: names under `lxcpath` that have a config file, sorted. The running
/// ones and both together: [`crate::list`].
pub fn list_defined_containers(lxcpath: &Path) -> Result<Vec<String>> {
    let rd = match fs::read_dir(lxcpath) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read lxcpath", lxcpath, e)),
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        // As liblxc: hidden entries are never containers.
        .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
        .filter(|e| e.path().join("config").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}
