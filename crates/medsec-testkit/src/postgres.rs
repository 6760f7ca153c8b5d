//! Throwaway PostgreSQL clusters for tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A running throwaway PostgreSQL cluster; stopped and deleted on drop.
#[derive(Debug)]
pub struct PgCluster {
    bin_dir: PathBuf,
    // Held for its Drop: removes the data directory.
    dir: tempfile::TempDir,
    data_dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl PgCluster {
    /// Starts a new cluster, or returns `None` (after a loud message on stderr) when the
    /// PostgreSQL server binaries are not installed.
    ///
    /// # Panics
    /// Panics when the binaries exist but the cluster cannot be created or started.
    pub fn start() -> Option<Self> {
        let Some(bin_dir) = find_bin_dir() else {
            eprintln!(
                "\n*** SKIPPING PostgreSQL test: no initdb/pg_ctl found \
                 (install Debian's `postgresql` package; .ci/run does) ***\n"
            );
            return None;
        };
        let as_postgres_user = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("medsec-pg-")
            .tempdir()
            .expect("create temp dir for PostgreSQL");
        let data_dir = dir.path().join("data");
        if as_postgres_user {
            run_checked(
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(dir.path()),
            );
            // The temp dir's parent must be traversable by `postgres`.
            run_checked(Command::new("chmod").arg("0755").arg(dir.path()));
        }
        let mut cluster = Self {
            bin_dir,
            dir,
            data_dir,
            port: 0,
            as_postgres_user,
        };
        let initdb = cluster.bin_dir.join("initdb");
        let out = cluster.run(
            &initdb,
            &[
                "-D",
                path_str(&cluster.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        assert!(out.status.success(), "initdb failed: {}", describe(&out));
        cluster.port = free_port();
        cluster.pg_ctl_start();
        Some(cluster)
    }

    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Directory holding the Unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A libpq-style connection string for the `postgres` database over TCP.
    pub fn connection_string(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=5",
            self.port
        )
    }

    /// Stops the server (fast shutdown), keeping the data directory.
    pub fn stop(&self) {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let out = self.run(
            &pg_ctl,
            &["-D", path_str(&self.data_dir), "-m", "fast", "-w", "stop"],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            describe(&out)
        );
    }

    /// Starts the server again after [`PgCluster::stop`], on the same port.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    fn pg_ctl_start(&self) {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let log = self.dir.path().join("server.log");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            path_str(self.dir.path())
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.run(
                &pg_ctl,
                &[
                    "-D",
                    path_str(&self.data_dir),
                    "-l",
                    path_str(&log),
                    "-o",
                    &opts,
                    "-w",
                    "start",
                ],
            );
            if out.status.success() {
                return;
            }
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "pg_ctl start failed: {}\n{log_text}",
                describe(&out)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn run(&self, program: &Path, args: &[&str]) -> Output {
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run a PostgreSQL binary")
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let _ = self.run(
            &pg_ctl,
            &[
                "-D",
                path_str(&self.data_dir),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("MEDSEC_PG_BIN").map(PathBuf::from) {
        if has_both(&dir) {
            return Some(dir);
        }
    }
    // Debian installs the server binaries per major version, newest first.
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has_both(d))
        .collect();
    versions.sort();
    if let Some(dir) = versions.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).find(|d| has_both(d)))
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free port")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

fn run_checked(command: &mut Command) {
    let out = command.output().expect("run helper command");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        describe(&out)
    );
}

fn describe(out: &Output) -> String {
    format!(
        "status {}; stdout: {}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
