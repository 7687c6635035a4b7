//! Running the repository's own code (its tests, its linters) contained:
//! bubblewrap (`bwrap`, Debian's `bubblewrap`) for namespaces — no network
//! (only a private loopback), its own PID space that dies with Lore, the
//! whole file system read-only but for a scratch copy of the tree and a
//! private /tmp, the user's secrets directories hidden — and util-linux's
//! `prlimit` inside it for CPU time, address space, file size and open
//! files; wall time is Lore's (the sandbox is killed at the deadline).
//!
//! bubblewrap rather than hand-made namespaces: it is the setup Flatpak
//! relies on, handles user namespaces without privileges, mounts /proc and
//! /dev for the new PID namespace, and needs no unsafe code here. Where it
//! is missing or user namespaces are off (macOS, some containers), running
//! code is unavailable and [`available`] says why.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Resource limits of one sandboxed command.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall clock.
    pub wall: Duration,
    /// CPU seconds.
    pub cpu_secs: u64,
    /// Address space, bytes.
    pub memory_bytes: u64,
    /// Largest file it may write, bytes.
    pub file_bytes: u64,
    /// Output kept of stdout and stderr each, bytes (the rest is cut).
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            wall: Duration::from_secs(600),
            cpu_secs: 1200,
            memory_bytes: 4 << 30,
            file_bytes: 1 << 30,
            output_bytes: 4 << 20,
        }
    }
}

/// How a sandboxed command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this code.
    Exited(i32),
    /// A signal ended it (CPU or memory limit, a crash).
    Signal(i32),
    /// It ran past the wall-clock limit and was killed.
    TimedOut,
}

/// What a sandboxed command did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// How it ended.
    pub ended: Ended,
    /// Its standard output (cut at the limit).
    pub stdout: String,
    /// Its standard error (cut at the limit).
    pub stderr: String,
    /// Wall time.
    pub wall: Duration,
}

/// The sandbox's tools, or why there is none.
pub fn available() -> Result<(PathBuf, PathBuf), String> {
    if !cfg!(target_os = "linux") {
        return Err(
            "running the repository's code needs Linux namespaces (bubblewrap): \
                    unavailable on this system"
                .to_owned(),
        );
    }
    let find = |name: &str| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    let bwrap = find("bwrap").ok_or(
        "bubblewrap (`bwrap`) is not installed: \
         install it (Debian/Ubuntu: apt-get install bubblewrap) to run tests in the sandbox",
    )?;
    let prlimit = find("prlimit").ok_or("`prlimit` (util-linux) is not installed")?;
    let probe = Command::new(&bwrap)
        .args([
            "--ro-bind",
            "/",
            "/",
            "--unshare-all",
            "--die-with-parent",
            "true",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{}: {e}", bwrap.display()))?;
    if !probe.status.success() {
        return Err(format!(
            "bubblewrap cannot create namespaces here (user namespaces off?): {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    Ok((bwrap, prlimit))
}

/// What sandboxed code must not read: Lore's data, and the user's
/// credentials under `home` — directories (covered by an empty tmpfs) and
/// files (covered by /dev/null).
fn hidden(lore_home: &Path, home: Option<&Path>) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut dirs = vec![lore_home.to_owned()];
    let mut files = Vec::new();
    if let Some(home) = home {
        for d in [".ssh", ".aws", ".gnupg", ".config", ".docker", ".kube"] {
            let p = home.join(d);
            if p.is_dir() {
                dirs.push(p);
            }
        }
        for f in [
            ".netrc",
            ".git-credentials",
            ".npmrc",
            ".pypirc",
            ".cargo/credentials",
            ".cargo/credentials.toml",
        ] {
            let p = home.join(f);
            if p.is_file() {
                files.push(p);
            }
        }
    }
    (dirs, files)
}

/// The Rust toolchain's homes, so `cargo` (a rustup proxy that finds its
/// toolchain through them) works with the sandbox's HOME of /tmp.
fn toolchain_env(home: Option<&Path>) -> Vec<(&'static str, PathBuf)> {
    [("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")]
        .into_iter()
        .filter_map(|(key, default)| {
            std::env::var_os(key)
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(default)))
                .filter(|p| p.is_dir())
                .map(|p| (key, p))
        })
        .collect()
}

/// Runs `argv` in `work` (a scratch copy of the tree, the only writable
/// place besides a private /tmp) with `env` added to a minimal
/// environment.
pub fn run(
    work: &Path,
    argv: &[String],
    env: &[(String, String)],
    limits: &Limits,
    lore_home: &Path,
) -> Result<Outcome, String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    run_as(work, argv, env, limits, lore_home, home.as_deref())
}

/// [`run`] for a user whose home directory is `home`.
fn run_as(
    work: &Path,
    argv: &[String],
    env: &[(String, String)],
    limits: &Limits,
    lore_home: &Path,
    home: Option<&Path>,
) -> Result<Outcome, String> {
    let (bwrap, prlimit) = available()?;
    let mut cmd = Command::new(bwrap);
    cmd.args(["--ro-bind", "/", "/"])
        .args(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]);
    let (dirs, files) = hidden(lore_home, home);
    for dir in dirs {
        if dir.is_dir() && !work.starts_with(&dir) {
            cmd.arg("--tmpfs").arg(&dir);
        }
    }
    for file in files {
        cmd.args(["--ro-bind", "/dev/null"]).arg(&file);
    }
    cmd.arg("--bind")
        .arg(work)
        .arg(work)
        .arg("--chdir")
        .arg(work)
        .args(["--unshare-all", "--die-with-parent", "--new-session"])
        .arg("--clearenv");
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned());
    for (k, v) in [
        ("PATH", path.as_str()),
        ("HOME", "/tmp"),
        ("LANG", "C.UTF-8"),
        ("CI", "true"),
    ] {
        cmd.args(["--setenv", k, v]);
    }
    for (k, v) in toolchain_env(home) {
        cmd.args(["--setenv", k]).arg(v);
    }
    for (k, v) in env {
        cmd.args(["--setenv", k, v]);
    }
    cmd.arg("--")
        .arg(prlimit)
        .arg(format!("--cpu={}", limits.cpu_secs))
        .arg(format!("--as={}", limits.memory_bytes))
        .arg(format!("--fsize={}", limits.file_bytes))
        .arg("--nofile=4096")
        .arg("--")
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the sandbox: {e}"))?;
    let cap = limits.output_bytes;
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if kept.len() < cap {
                    kept.extend_from_slice(&buf[..n.min(cap - kept.len())]);
                }
            }
            String::from_utf8_lossy(&kept).into_owned()
        })
    };
    let out = read(Box::new(child.stdout.take().expect("piped")));
    let err = read(Box::new(child.stderr.take().expect("piped")));
    let ended = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            use std::os::unix::process::ExitStatusExt;
            break match (status.code(), status.signal()) {
                (Some(c), _) => Ended::Exited(c),
                (None, Some(s)) => Ended::Signal(s),
                _ => Ended::Exited(-1),
            };
        }
        if start.elapsed() > limits.wall {
            // bwrap is the PID namespace's parent: killing it ends every
            // process inside (--die-with-parent and the namespace).
            let _ = child.kill();
            let _ = child.wait();
            break Ended::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Outcome {
        ended,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        wall: start.elapsed(),
    })
}

#[cfg(test)]
mod tests;
