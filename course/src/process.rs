//! Running a child process with a wall-clock limit and a cap on what it may print: on
//! timeout its whole process group is killed (cargo's rustc children, a test's threads);
//! output beyond the cap is read and thrown away, so a flood neither blocks nor fills memory.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What a limited run produced.
#[derive(Debug)]
pub struct Finished {
    /// The first `cap` bytes of stdout (lossy UTF-8).
    pub stdout: String,
    /// The first `cap` bytes of stderr.
    pub stderr: String,
    /// `None` when the limit was hit and the process group killed.
    pub status: Option<ExitStatus>,
    pub elapsed: Duration,
    /// Some output was thrown away.
    pub truncated: bool,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.map(|s| s.success()).unwrap_or(false)
    }

    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }
}

/// Reads all of `pipe`, keeping the first `cap` bytes; returns (kept, truncated).
fn drain(mut pipe: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 16384];
    let mut truncated = false;
    loop {
        match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    (kept, truncated)
}

fn kill_group(pgid: u32) {
    // SAFETY: kill(2) with a negative pid signals the process group we created; no memory is touched.
    unsafe {
        libc::kill(-(pgid as i32), libc::SIGKILL);
    }
}

/// Processes and threads (tasks) now running under the real user id `uid`, counted from
/// `/proc` (0 where `/proc` cannot be read).
fn tasks_of_user(uid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |key: &str| status.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
        let real_uid = field("Uid:").and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse::<u32>().ok());
        if real_uid == Some(uid) {
            total += field("Threads:").and_then(|v| v.parse::<u64>().ok()).unwrap_or(1);
        }
    }
    total
}

/// Sets resource limits on `cmd`'s process (inherited by everything it starts): at most
/// `memory` bytes of address space (`RLIMIT_AS`: an allocation beyond it fails), `processes`
/// more processes and threads than its user runs now (`RLIMIT_NPROC`: a fork bomb stops there;
/// the kernel does not apply it to root), no core dumps, and files of at most 64 MiB.
pub fn limit_resources(cmd: &mut Command, memory: u64, processes: u64) {
    // SAFETY: getuid(2) has no preconditions.
    let uid = unsafe { libc::getuid() };
    let nproc = tasks_of_user(uid) + processes;
    let limits = [(libc::RLIMIT_AS, memory), (libc::RLIMIT_NPROC, nproc), (libc::RLIMIT_CORE, 0), (libc::RLIMIT_FSIZE, 64 << 20)];
    // SAFETY: the closure runs in the child between fork and exec and only calls setrlimit(2),
    // which is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            for (resource, value) in limits {
                let limit = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
                if libc::setrlimit(resource, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Runs `cmd` (stdin closed) in its own process group for at most `limit`, keeping at most
/// `cap` bytes of each output stream.
pub fn run_limited(cmd: &mut Command, limit: Duration, cap: usize) -> Result<Finished, String> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let pgid = child.id();
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        let (send, receive) = mpsc::channel();
        if let Some(pipe) = pipe {
            thread::spawn(move || send.send(drain(pipe, cap)));
        }
        receive
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= limit => {
                kill_group(pgid);
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for {:?}: {e}", cmd.get_program())),
        }
    };
    // Anything the process left behind in its group would keep the pipes open. A process that
    // left the group (setsid) may still hold them: its output is not waited for.
    kill_group(pgid);
    let collect = |r: mpsc::Receiver<(Vec<u8>, bool)>| r.recv_timeout(Duration::from_secs(2)).unwrap_or((Vec::new(), true));
    let (stdout, t1) = collect(out);
    let (stderr, t2) = collect(err);
    Ok(Finished {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        status,
        elapsed: start.elapsed(),
        truncated: t1 || t2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kills_a_loop_and_caps_a_flood() {
        let r = run_limited(Command::new("sh").args(["-c", "yes flood"]), Duration::from_millis(300), 1000).unwrap();
        assert!(r.timed_out() && r.truncated && r.stdout.len() == 1000);
        let r = run_limited(Command::new("sh").args(["-c", "echo hi; exit 3"]), Duration::from_secs(10), 1000).unwrap();
        assert_eq!((r.stdout.as_str(), r.status.and_then(|s| s.code())), ("hi\n", Some(3)));
    }
}
