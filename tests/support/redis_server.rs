//! A redis-server of a test's own: a random free port, a temporary
//! directory, the append-only file on and snapshots off, killed on drop.
//!
//! Used by the integration tests (through `tests/support`) and by the store's
//! own conformance tests (the library includes this file with `#[path]`), so
//! both start Redis the same way. It needs nothing but the standard library.
//!
//! When `redis-server` is not installed the test fails, saying how to install
//! it: a Redis test that skipped itself would pass without testing anything.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a starting server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `redis-server`, stopped (SIGKILL) when dropped.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
    /// For a sentinel: its configuration file (Sentinel rewrites it).
    sentinel_conf: Option<PathBuf>,
}

impl RedisServer {
    /// Start a server on a free port in a fresh temporary directory.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// As [`RedisServer::start`], with more `redis-server` arguments
    /// (for example `["--appendfsync", "always"]`).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_in(temp_dir(), extra)
    }

    /// Start a server that loads the RDB file `rdb` (such as a backup), with
    /// the append-only file off so that the RDB is what it reads.
    pub fn start_from_rdb(rdb: &Path) -> Self {
        let dir = temp_dir();
        std::fs::copy(rdb, dir.path().join("dump.rdb")).expect("copy the RDB file");
        Self::start_in(dir, &["--appendonly", "no"])
    }

    /// Start a sentinel watching the master `name` at `127.0.0.1:master_port`,
    /// quick to call it down (one second) and to fail over.
    pub fn start_sentinel(name: &str, master_port: u16) -> Self {
        let dir = temp_dir();
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "sentinel monitor {name} 127.0.0.1 {master_port} 1\n\
                 sentinel down-after-milliseconds {name} 1000\n\
                 sentinel failover-timeout {name} 10000\n"
            ),
        )
        .expect("write sentinel.conf");
        Self::start_as(dir, &[], Some(conf))
    }

    /// Start a server that also speaks TLS, on a port of its own (see
    /// [`RedisServer::tls_port`]), with a certificate for `localhost` and
    /// `127.0.0.1` signed by a CA made for it (see [`RedisServer::tls_ca`]).
    /// Needs `openssl`.
    pub fn start_tls() -> Self {
        let dir = temp_dir();
        let path = |name: &str| dir.path().join(name).to_str().expect("UTF-8").to_owned();
        test_certificates(dir.path());
        let tls_port = free_port().to_string();
        let (cert, key, ca) = (path("server.crt"), path("server.key"), path("ca.crt"));
        Self::start_in(
            dir,
            &[
                "--tls-port",
                &tls_port,
                "--tls-cert-file",
                &cert,
                "--tls-key-file",
                &key,
                "--tls-ca-cert-file",
                &ca,
                "--tls-auth-clients",
                "no",
            ],
        )
    }

    /// The TLS port of a server from [`RedisServer::start_tls`].
    pub fn tls_port(&self) -> u16 {
        let i = self
            .extra
            .iter()
            .position(|a| a == "--tls-port")
            .expect("a server started with start_tls");
        self.extra[i + 1].parse().expect("a port")
    }

    /// The CA certificate that signed its TLS certificate.
    pub fn tls_ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Self {
        Self::start_as(dir, extra, None)
    }

    fn start_as(dir: tempfile::TempDir, extra: &[&str], sentinel_conf: Option<PathBuf>) -> Self {
        let mut server = Self {
            child: None,
            port: 0,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            sentinel_conf,
        };
        // The port is free when asked and taken by redis-server a moment
        // later; another process can slip in between, so try a few.
        for _ in 0..5 {
            server.port = free_port();
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start after five tries (see the logs above)");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The TCP port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding its append-only file and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kill it as a crash would (SIGKILL) and wait until it has gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start it again on the same port and directory: it reloads its
    /// append-only file.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + START_TIMEOUT;
        // The old socket can linger for a moment after the kill.
        while !self.spawn() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not restart on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Send one command (inline form) and return the raw reply.
    pub fn command(&self, line: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a read timeout");
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("write to redis");
        let mut reply = vec![0; 64 * 1024];
        let n = stream.read(&mut reply).expect("a reply from redis");
        String::from_utf8_lossy(&reply[..n]).into_owned()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// Start the process; true once it answers PING.
    fn spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let dir = self
            .dir
            .path()
            .to_str()
            .expect("a UTF-8 temp dir")
            .to_owned();
        let conf = self
            .sentinel_conf
            .as_ref()
            .map(|c| c.to_str().expect("a UTF-8 temp dir").to_owned());
        let mut args = match &conf {
            Some(conf) => vec![conf.as_str(), "--sentinel", "--dir", &dir],
            None => vec!["--dir", &dir, "--save", "", "--appendonly", "yes"],
        };
        let log = self
            .log_path()
            .to_str()
            .expect("a UTF-8 temp dir")
            .to_owned();
        args.extend(["--port", &port, "--bind", "127.0.0.1", "--logfile", &log]);
        args.extend(self.extra.iter().map(String::as_str));
        let child = match Command::new("redis-server")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed, and the Redis store tests need it: \
                 install it with `sudo apt-get install -y redis-server` (Debian, Ubuntu) \
                 or `brew install redis` (macOS); .ci/run installs it in CI"
            ),
            Err(e) => panic!("cannot run redis-server: {e}"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.answers_ping() {
                return true;
            }
            let exited = self
                .child
                .as_mut()
                .map(|c| matches!(c.try_wait(), Ok(Some(_))))
                .unwrap_or(true);
            if exited || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                eprintln!("redis-server on port {port} did not start:\n{log}");
                self.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut reply = [0u8; 64];
        // "-LOADING …" while it reads its append-only file back.
        matches!(stream.read(&mut reply), Ok(n) if reply[..n].starts_with(b"+PONG"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Make, with `openssl`, a CA (`ca.crt`, `ca.key`) and a certificate for
/// `localhost` and `127.0.0.1` signed by it (`server.crt`, `server.key`)
/// in `dir`: what a test's TLS server presents and its client trusts.
pub fn test_certificates(dir: &Path) {
    let path = |name: &str| dir.join(name).to_str().expect("UTF-8").to_owned();
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("write san.ext");
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=nightingale test CA",
            "-keyout",
            &path("ca.key"),
            "-out",
            &path("ca.crt"),
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &path("server.key"),
            "-out",
            &path("server.csr"),
        ],
        &[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            &path("server.csr"),
            "-CA",
            &path("ca.crt"),
            "-CAkey",
            &path("ca.key"),
            "-CAcreateserial",
            "-extfile",
            &path("san.ext"),
            "-out",
            &path("server.crt"),
        ],
    ];
    for step in steps {
        let done = Command::new("openssl")
            .args(step)
            .stdin(Stdio::null())
            .output()
            .expect("openssl makes the TLS test's certificates: install it (apt-get install -y openssl)");
        assert!(
            done.status.success(),
            "openssl {step:?}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("nightingale-redis-")
        .tempdir()
        .expect("a temporary directory for redis-server")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Redis Cluster of three primaries (no replicas) of a test's own, each
/// a [`RedisServer`], its slots spread by `redis-cli --cluster create`.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Start three nodes, join them into a cluster, and wait until it serves every slot.
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                RedisServer::start_with(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ])
            })
            .collect();
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port()));
        }
        let output = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli builds the test cluster: install redis-server, which brings it (apt-get install -y redis-server)");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let deadline = Instant::now() + START_TIMEOUT;
        while !nodes
            .iter()
            .all(|n| n.command("CLUSTER INFO").contains("cluster_state:ok"))
        {
            assert!(Instant::now() < deadline, "the cluster did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { nodes }
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }
}
