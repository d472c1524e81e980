//! Running a child process with a wall-clock limit and a cap on what it may print: on
//! timeout its whole process group is killed (cargo's rustc children, a test's threads);
//! output beyond the cap is read and thrown away, so a flood neither blocks nor fills memory.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
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
    let out = child.stdout.take().map(|p| thread::spawn(move || drain(p, cap)));
    let err = child.stderr.take().map(|p| thread::spawn(move || drain(p, cap)));
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
    // Anything the process left behind in its group would keep the pipes open.
    kill_group(pgid);
    let collect = |h: Option<thread::JoinHandle<(Vec<u8>, bool)>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
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
