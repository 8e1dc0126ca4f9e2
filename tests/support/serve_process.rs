//! A `nightingale serve` process of a test's (or a benchmark's) own: it
//! listens on a random port, its log is kept (read on a thread, so a full
//! pipe never stalls it), and it is killed (SIGKILL) when dropped, also on
//! panic.

#![allow(dead_code)]

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a starting process may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct ServeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Everything it has logged so far.
    pub log: Arc<Mutex<String>>,
}

impl ServeProcess {
    /// Start `binary serve` in `dir` with these settings (besides
    /// `NIGHTINGALE_LISTEN`, a random local port, and an `info` log).
    pub fn start(binary: &Path, dir: &Path, settings: &[(&str, String)]) -> Self {
        let mut child = Command::new(binary)
            .arg("serve")
            .current_dir(dir)
            .env("NIGHTINGALE_LISTEN", "127.0.0.1:0")
            .env("NIGHTINGALE_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} serve: {e}", binary.display()));
        let stderr = child.stderr.take().expect("its log");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(rest) = line.split("listen=").nth(1)
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let mut process = Self {
            child,
            address: String::new(),
            log,
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(address) => process.address = format!("http://{address}"),
            Err(_) => panic!(
                "serve did not say where it listens:\n{}",
                process.log.lock().unwrap()
            ),
        }
        process
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no goodbye, as when a machine dies.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
