//! `serve`'s exclusive hold on one SQLite file ([`ServeLock`]).

use std::path::Path;

/// `serve`'s hold on one SQLite file: an exclusive advisory lock (`flock`)
/// on `<db>.lock`, which also holds the pid of the process that has it.
///
/// Two `serve`s on one file would race: each engine would take the same
/// work, and the store's checks run in each process's own writer. So the
/// second one refuses to start. Only `serve` takes the lock: `store backup`
/// and the other commands open the file alongside it, as SQLite allows.
/// The operating system lets go of the lock when the process ends, however
/// it ends, so a stale `.lock` file never stops a restart. (`flock` is not
/// reliable on network file systems; keep the store on a local disk.)
#[derive(Debug)]
pub struct ServeLock {
    _file: std::fs::File,
}

impl ServeLock {
    /// Take the lock for the database at `db`, or say which process has it.
    pub fn acquire(db: &Path) -> anyhow::Result<Self> {
        use std::io::Write;
        let mut path = db.as_os_str().to_owned();
        path.push(".lock");
        let path = std::path::PathBuf::from(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|pid| pid.trim().parse::<u32>().ok())
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                anyhow::bail!(
                    "another nightingale serve{holder} is using {}; to run several nodes use NIGHTINGALE_STORE=redis://…",
                    db.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                anyhow::bail!("cannot lock {}: {e}", path.display())
            }
        }
        // Ours now: say whose, for the next one to be refused.
        file.set_len(0)
            .and_then(|()| (&file).write_all(format!("{}\n", std::process::id()).as_bytes()))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        Ok(Self { _file: file })
    }
}
