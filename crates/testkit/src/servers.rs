//! Servers of a test's own, for tests that stop and restart a dependency (an outage must not
//! touch the servers every other test shares). Each listens on a free loopback port and keeps
//! its data in a temporary directory; dropping one stops it.
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::free_port;

fn wait_until_listening(port: u16, what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}: {}", log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A Redis server without persistence: restarting it starts it empty, as `scripts/up` runs Redis.
pub struct PrivateRedis {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let mut r = Self { dir: tempfile::tempdir().expect("tempdir"), port: free_port(), child: None };
        r.resume();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port, empty.
    pub fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (scripts/test installs it)");
        self.child = Some(child);
        wait_until_listening(self.port, "redis-server", String::new);
    }

    /// Freezes it (SIGSTOP): it keeps its data and its connections but answers nothing, as a
    /// server stuck or cut off by the network.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn unpause(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("redis-server is running").id();
        let status = Command::new("kill").arg(sig).arg(pid.to_string()).status().expect("kill runs");
        assert!(status.success(), "kill {sig} {pid}");
    }

    /// Stops it at once (SIGKILL): what clients see when a server dies.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A paused server would not die of SIGKILL until continued.
            let _ = Command::new("kill").arg("-CONT").arg(child.id().to_string()).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql (scripts/test installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").exists())
        .collect();
    // Version directories are numbers: the newest is the longest, then the largest.
    dirs.sort_by_key(|d| {
        let v = d.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("").to_owned();
        (v.len(), v)
    });
    dirs.pop().expect("an initdb under /usr/lib/postgresql/*/bin")
}

/// Runs a PostgreSQL program as the `postgres` user when we are root (the server refuses root).
fn pg_command(program: &Path) -> Command {
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A PostgreSQL server of its own (initdb takes a second or two).
pub struct PrivatePostgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

impl PrivatePostgres {
    pub fn start() -> Self {
        let bin = pg_bin();
        // Under /tmp, which the postgres user may write to, rather than a root-owned tempdir.
        let dir = std::env::temp_dir().join(format!("stagecast-pg-{}", uuid::Uuid::new_v4().simple()));
        let status = pg_command(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "-D"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb failed for {}", dir.display());
        let pg = Self { dir, port: free_port(), bin };
        pg.resume();
        pg
    }

    /// The admin URL (database `postgres`).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub fn resume(&self) {
        // fsync off (the OS keeps what was written), but commits stay synchronous: an
        // immediate stop is a crash to Postgres, and must not lose what it acknowledged.
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        let status = pg_command(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "30", "-o", &opts, "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(status.success(), "postgres did not start: {}", self.log());
        wait_until_listening(self.port, "postgres", || self.log());
    }

    /// Stops it at once (immediate mode: connections are cut, as in a crash).
    pub fn stop(&self) {
        let _ = pg_command(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.dir)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
