//! Real faults for tests, none of them simulated inside aludel: a TCP relay in front of
//! PostgreSQL or MariaDB/MySQL that the test controls (answer nothing, cut a connection
//! at a COMMIT), a
//! throwaway PostgreSQL cluster to crash and restart, and a network namespace whose
//! link can be cut, so that packets are lost as when a node disappears.
//!
//! Each needs something of the machine (server binaries, root for namespaces); when it
//! is missing, the test fails saying what to install or how to run it: it is never
//! skipped.

use std::io::{BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{mysql_admin_url, postgres_admin_url, unique_name};

/// What the relay does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayMode {
    /// Forward both ways.
    Forward,
    /// Accept connections and never answer, as a hung server or a proxy with nothing
    /// behind it.
    AcceptAndStall,
    /// At the Nth query (counting from 1 over all connections) whose text contains
    /// the pattern, close both sides without forwarding it: a transaction open on
    /// the server rolls back.
    CutBefore(&'static str, usize),
    /// Forward the Nth query containing the pattern to the server, then close the
    /// client's side without its answer: the server runs it (a `COMMIT` commits),
    /// and the client cannot know.
    CutAfter(&'static str, usize),
    /// At every query whose text contains the pattern, close both sides without
    /// forwarding it, on whichever connection it comes: a statement that can never
    /// reach the server.
    CutEvery(&'static str),
    /// At the Nth query containing the pattern, stop forwarding on that connection
    /// and keep both sides open, as a frozen proxy does: TCP still acknowledges, so
    /// nothing at the network level notices. Other connections go on as before.
    FreezeAt(&'static str, usize),
}

/// The protocol a relay reads queries from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Postgres,
    Mysql,
}

struct Shared {
    protocol: Protocol,
    mode: Mutex<RelayMode>,
    matched: AtomicUsize,
    queries: Mutex<Vec<String>>,
    /// Connections kept open until the relay is dropped (stalled clients, servers
    /// whose clients were cut).
    kept: Mutex<Vec<TcpStream>>,
}

/// A TCP relay to a PostgreSQL server that the test controls. It reads the client's
/// side of the protocol to see each query: simple queries (aludel sends `COMMIT` as
/// one) and the statements of extended-protocol Parse messages. To MariaDB or MySQL
/// ([`Relay::to_test_mysql`]), it sees each `COM_QUERY`'s text: every connection
/// counts, the run lock's own as well as the working one.
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Relay {
    /// A relay on 127.0.0.1 to the test PostgreSQL server.
    pub fn to_test_postgres(mode: RelayMode) -> Relay {
        Relay::on(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            upstream_of(&postgres_admin_url(), 5432),
            mode,
        )
    }

    /// A relay on 127.0.0.1 to the test MariaDB (or MySQL) server; its URLs
    /// ([`Relay::mysql_url`]) turn TLS off, so that the relay can read the protocol.
    pub fn to_test_mysql(mode: RelayMode) -> Relay {
        Relay::serving(
            Protocol::Mysql,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            upstream_of(&mysql_admin_url(), 3306),
            mode,
        )
    }

    /// A relay listening on `ip` (any free port) to `upstream`.
    pub fn on(ip: IpAddr, upstream: SocketAddr, mode: RelayMode) -> Relay {
        Relay::serving(Protocol::Postgres, ip, upstream, mode)
    }

    fn serving(protocol: Protocol, ip: IpAddr, upstream: SocketAddr, mode: RelayMode) -> Relay {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            protocol,
            mode: Mutex::new(mode),
            matched: AtomicUsize::new(0),
            queries: Mutex::new(Vec::new()),
            kept: Mutex::new(Vec::new()),
        });
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let s = Arc::clone(&s);
                std::thread::spawn(move || serve(client, upstream, s));
            }
        });
        Relay { addr, shared }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of database `db` through the relay, as the test server's admin user,
    /// without TLS (the relay reads the protocol).
    pub fn url(&self, db: &str) -> String {
        let admin = postgres_admin_url();
        let rest = admin.split_once("://").map_or(admin.as_str(), |(_, r)| r);
        let user = rest.split_once('@').map_or("postgres", |(u, _)| u);
        format!("postgresql://{user}@{}/{db}?sslmode=disable", self.addr)
    }

    /// The URL of MariaDB database `db` through the relay, as the test server's user,
    /// without TLS (the relay reads the protocol).
    pub fn mysql_url(&self, db: &str) -> String {
        let admin = mysql_admin_url();
        let rest = admin.split_once("://").map_or(admin.as_str(), |(_, r)| r);
        let user = rest.rsplit_once('@').map_or("root", |(u, _)| u);
        format!("mysql://{user}@{}/{db}?ssl-mode=disabled", self.addr)
    }

    /// Changes what the relay does with what comes next.
    pub fn set_mode(&self, mode: RelayMode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Every simple query seen so far, in order.
    pub fn queries(&self) -> Vec<String> {
        self.shared.queries.lock().unwrap().clone()
    }

    /// Waits until a simple query containing `text` has been seen.
    #[track_caller]
    pub fn wait_for_query(&self, text: &str, within: Duration) {
        let start = Instant::now();
        while !self.queries().iter().any(|q| q.contains(text)) {
            assert!(
                start.elapsed() < within,
                "the relay saw no query containing {text:?} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        for s in self.shared.kept.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// The host and port of a `postgresql://` or `mysql://` URL (`default_port` when it
/// names none).
fn upstream_of(url: &str, default_port: u16) -> SocketAddr {
    use std::net::ToSocketAddrs;
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let hostport = rest.split(['/', '?']).next().unwrap_or(rest);
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:{default_port}")
    };
    hostport
        .to_socket_addrs()
        .unwrap()
        .next()
        .expect("the test server's URL names a host")
}

fn serve(client: TcpStream, upstream: SocketAddr, s: Arc<Shared>) {
    if *s.mode.lock().unwrap() == RelayMode::AcceptAndStall {
        s.kept.lock().unwrap().push(client);
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let (Ok(client_w), Ok(server_r)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    // Server to client: bytes as they come.
    std::thread::spawn(move || {
        let (mut from, mut to) = (server_r, client_w);
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
    let _ = match s.protocol {
        Protocol::Postgres => client_to_server(client, server, &s),
        Protocol::Mysql => mysql_client_to_server(client, server, &s),
    };
}

/// Forwards a MariaDB/MySQL client's packets one by one, looking at each query: a
/// packet that starts a command (sequence number 0) of type `COM_QUERY` (3). The
/// handshake's packets come with other sequence numbers, and pass untouched.
fn mysql_client_to_server(
    client: TcpStream,
    mut server: TcpStream,
    s: &Shared,
) -> std::io::Result<()> {
    let mut from = BufReader::new(client.try_clone()?);
    loop {
        let mut head = [0u8; 4];
        from.read_exact(&mut head)?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
        let mut body = vec![0u8; len];
        from.read_exact(&mut body)?;
        let text = (head[3] == 0 && body.first() == Some(&3))
            .then(|| String::from_utf8_lossy(&body[1..]).to_string());
        if let Some(hit) = text.and_then(|text| matched(&text, s)) {
            return act(hit, client, server, [&head, &body], s);
        }
        server.write_all(&head)?;
        server.write_all(&body)?;
    }
}

/// Does to the connection what the relay's mode `hit` says, at the query it acts on
/// (the message `packet`, not sent yet): freezes both sides, cuts before the query,
/// or sends it and cuts after. The server's side of a cut-after stays open until the
/// relay goes, so that it runs the query before it sees the connection end.
fn act(
    hit: RelayMode,
    client: TcpStream,
    mut server: TcpStream,
    packet: [&[u8]; 2],
    s: &Shared,
) -> std::io::Result<()> {
    match hit {
        RelayMode::FreezeAt(..) => {
            let mut kept = s.kept.lock().unwrap();
            kept.push(client);
            kept.push(server);
        }
        RelayMode::CutBefore(..) | RelayMode::CutEvery(..) => {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
        _ => {
            for part in packet {
                server.write_all(part)?;
            }
            server.flush()?;
            let _ = client.shutdown(Shutdown::Both);
            s.kept.lock().unwrap().push(server);
        }
    }
    Ok(())
}

/// Records a query; the relay's mode when this query is the one it acts on.
fn matched(text: &str, s: &Shared) -> Option<RelayMode> {
    s.queries.lock().unwrap().push(text.to_string());
    let mode = *s.mode.lock().unwrap();
    if let RelayMode::CutEvery(pattern) = mode {
        return text.contains(pattern).then_some(mode);
    }
    let (RelayMode::CutBefore(pattern, nth)
    | RelayMode::CutAfter(pattern, nth)
    | RelayMode::FreezeAt(pattern, nth)) = mode
    else {
        return None;
    };
    let n = if text.contains(pattern) {
        s.matched.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        0
    };
    (n == nth).then_some(mode)
}

/// Forwards the client's messages one by one, looking at each simple query.
fn client_to_server(client: TcpStream, mut server: TcpStream, s: &Shared) -> std::io::Result<()> {
    let mut from = BufReader::new(client.try_clone()?);
    // Start-up messages have no type byte; the last of them names protocol 3.0.
    loop {
        let mut len = [0u8; 4];
        from.read_exact(&mut len)?;
        let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
        from.read_exact(&mut body)?;
        server.write_all(&len)?;
        server.write_all(&body)?;
        if body.get(..4) == Some(&[0, 3, 0, 0]) {
            break;
        }
    }
    loop {
        let mut head = [0u8; 5];
        from.read_exact(&mut head)?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        from.read_exact(&mut body)?;
        let text = match head[0] {
            // Query: the text, NUL-terminated.
            b'Q' => body.split(|&b| b == 0).next(),
            // Parse: the statement's name, then its text, each NUL-terminated.
            b'P' => body.split(|&b| b == 0).nth(1),
            _ => None,
        };
        if let Some(hit) = text.and_then(|text| matched(&String::from_utf8_lossy(text), s)) {
            return act(hit, client, server, [&head, &body], s);
        }
        server.write_all(&head)?;
        server.write_all(&body)?;
    }
}

/// A PostgreSQL cluster of its own (fsync on, as in production), to crash and restart;
/// stopped and removed when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    port: u16,
    as_postgres: bool,
    /// Server options given at start.
    extra: String,
}

impl Cluster {
    /// Creates and starts a cluster from the installed server binaries.
    pub fn start() -> Cluster {
        Cluster::start_with(|_| String::new())
    }

    /// Like [`Cluster::start`], with server options (`-c name=value ...`) that
    /// `options` makes given the cluster's folder, where it may write files first
    /// (certificates, say; they must be readable by the server's user).
    pub fn start_with(options: impl FnOnce(&Path) -> String) -> Cluster {
        let bindir = server_bindir();
        let dir = tempfile::Builder::new()
            .prefix("aludel-cluster")
            .tempdir()
            .unwrap();
        // initdb refuses to run as root: the cluster then belongs to `postgres`, made
        // if the machine has no such user (as scripts/test does).
        let as_postgres = is_root();
        if as_postgres
            && !Command::new("id")
                .arg("postgres")
                .output()
                .is_ok_and(|o| o.status.success())
        {
            run(Command::new("useradd").args(["--system", "--no-create-home", "postgres"]));
        }
        let extra = options(dir.path());
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path()));
        }
        let cluster = Cluster {
            port: crate::closed_port(),
            dir,
            bindir,
            as_postgres,
            extra,
        };
        cluster.pg(&[
            "initdb",
            "-D",
            &cluster.data(),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        ]);
        cluster.restart();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// A server program with its arguments, as the cluster's owner.
    fn pg_command(&self, args: &[&str]) -> Command {
        let program = self.bindir.join(args[0]);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(&args[1..]);
        cmd
    }

    fn pg(&self, args: &[&str]) {
        run(&mut self.pg_command(args));
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn restart(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=20 {}",
            self.port,
            self.dir.path().display(),
            self.extra
        );
        let log = self.dir.path().join("log").display().to_string();
        self.pg(&[
            "pg_ctl",
            "-D",
            &self.data(),
            "-l",
            &log,
            "-w",
            "-o",
            &options,
            "start",
        ]);
    }

    /// Stops the server as a crash does: no checkpoint, unflushed WAL lost.
    pub fn crash(&self) {
        self.pg(&["pg_ctl", "-D", &self.data(), "-m", "immediate", "stop"]);
    }

    /// The URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// The cluster's port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .pg_command(&["pg_ctl", "-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

/// A MariaDB server of its own from the installed binaries (`mariadbd`,
/// `mariadb-install-db`), each commit flushed to disk as in production
/// (`innodb_flush_log_at_trx_commit = 1`), to crash and restart; stopped and removed
/// when dropped.
pub struct MariaServer {
    dir: tempfile::TempDir,
    server: PathBuf,
    port: u16,
    process: Mutex<Option<std::process::Child>>,
}

impl MariaServer {
    /// Creates and starts a server with an empty database `test`.
    pub fn start() -> MariaServer {
        let found = |names: &[&str]| {
            names.iter().find_map(|name| {
                ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"]
                    .iter()
                    .map(|dir| Path::new(dir).join(name))
                    .find(|p| p.exists())
            })
        };
        let (Some(server), Some(install)) = (
            found(&["mariadbd", "mysqld"]),
            found(&["mariadb-install-db", "mysql_install_db"]),
        ) else {
            panic!(
                "no MariaDB server binaries (mariadbd, mariadb-install-db) were found: install the server \
                 (Debian/Ubuntu: apt-get install mariadb-server)"
            )
        };
        let dir = tempfile::Builder::new()
            .prefix("aludel-mariadb")
            .tempdir()
            .unwrap();
        let mut cmd = Command::new(install);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if is_root() {
            cmd.arg("--user=root");
        }
        run(&mut cmd);
        let server = MariaServer {
            port: crate::closed_port(),
            dir,
            server,
            process: Mutex::new(None),
        };
        server.restart();
        crate::mysql_rows(&server.url(""), "CREATE DATABASE test");
        server
    }

    /// Starts the server (again; InnoDB recovers from its log), waiting until it
    /// accepts connections.
    pub fn restart(&self) {
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("log"))
            .unwrap();
        let mut cmd = Command::new(&self.server);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", d.join("sock").display()))
            .arg(format!("--pid-file={}", d.join("pid").display()))
            .args([
                "--innodb-flush-log-at-trx-commit=1",
                "--skip-log-bin",
                "--max-connections=50",
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if is_root() {
            cmd.arg("--user=root");
        }
        // Kept at once, so that a panic below still stops it (on drop).
        *self.process.lock().unwrap() = Some(cmd.spawn().unwrap());
        let started = Instant::now();
        let url = self.url("");
        let opts = mysql::Opts::from_url(&url).unwrap();
        while mysql::Conn::new(opts.clone()).is_err() {
            let stopped = match self.process.lock().unwrap().as_mut() {
                Some(child) => child.try_wait().ok().flatten(),
                None => None,
            };
            if let Some(status) = stopped {
                panic!(
                    "the MariaDB server stopped ({status}); its log:\n{}",
                    std::fs::read_to_string(d.join("log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the MariaDB server did not answer within 60 s; its log:\n{}",
                std::fs::read_to_string(d.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server as a crash does (SIGKILL): what its log holds in memory is
    /// lost.
    pub fn crash(&self) {
        if let Some(mut child) = self.process.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The URL of database `db` (user root, no password).
    pub fn url(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for MariaServer {
    fn drop(&mut self) {
        self.crash();
    }
}

fn is_root() -> bool {
    // `id -u` rather than libc: the test kit forbids unsafe code.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The folder of the newest installed PostgreSQL server binaries.
fn server_bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("ALUDEL_TEST_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    found.retain(|p| p.join("initdb").exists());
    found.sort_by_key(|p| {
        p.parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql: install the server \
             (Debian/Ubuntu: apt-get install postgresql) or set ALUDEL_TEST_PG_BINDIR"
        )
    })
}

#[track_caller]
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

static NETNS: AtomicUsize = AtomicUsize::new(0);

/// A network namespace joined to this one by a veth pair: programs run inside it
/// reach [`NetNs::host_ip`], and [`NetNs::cut`] takes the link down so that their
/// packets are lost, as when a node or a route disappears (no reset, no error: only
/// TCP's own timers notice). Removed when dropped.
pub struct NetNs {
    name: String,
    host_if: String,
    host_ip: Ipv4Addr,
}

impl NetNs {
    /// Creates the namespace. Needs root (CAP_NET_ADMIN) and iproute2.
    pub fn create() -> NetNs {
        let n = NETNS.fetch_add(1, Ordering::SeqCst);
        let tag = std::process::id() % 10_000;
        let name = unique_name("aludel_ns");
        let host_if = format!("alh{tag}x{n}");
        let ns_if = format!("aln{tag}x{n}");
        // A /30 of its own per process and namespace: parallel tests do not clash.
        let net = (std::process::id() as usize * 16 + n) % (200 * 64);
        let (b, c) = ((10 + net / 64) as u8, ((net % 64) * 4) as u8);
        let host_ip = Ipv4Addr::new(10, b, 200, c + 1);
        let ns_ip = Ipv4Addr::new(10, b, 200, c + 2);
        let ip = |args: &[&str]| {
            let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
                panic!("`ip` (iproute2) is needed for the network fault tests: {e}")
            });
            assert!(
                out.status.success(),
                "ip {args:?} failed: {} (the network fault tests need root, or CAP_NET_ADMIN, to make a network namespace)",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ns = NetNs {
            name: name.clone(),
            host_if: host_if.clone(),
            host_ip,
        };
        ip(&["netns", "add", &name]);
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if,
        ]);
        ip(&["link", "set", &ns_if, "netns", &name]);
        ip(&["addr", "add", &format!("{host_ip}/30"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        ip(&[
            "netns",
            "exec",
            &name,
            "ip",
            "addr",
            "add",
            &format!("{ns_ip}/30"),
            "dev",
            &ns_if,
        ]);
        ip(&["netns", "exec", &name, "ip", "link", "set", &ns_if, "up"]);
        ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        ns
    }

    /// The host's address on the link, where a [`Relay`] for the namespace listens.
    pub fn host_ip(&self) -> IpAddr {
        IpAddr::V4(self.host_ip)
    }

    /// `cmd` run inside the namespace (the same program, arguments, folder and
    /// environment).
    pub fn wrap(&self, cmd: &Command) -> Command {
        let mut inside = Command::new("ip");
        inside
            .args(["netns", "exec", &self.name])
            .arg(cmd.get_program());
        inside.args(cmd.get_args());
        if let Some(dir) = cmd.get_current_dir() {
            inside.current_dir(dir);
        }
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => inside.env(k, v),
                None => inside.env_remove(k),
            };
        }
        inside
    }

    /// Takes the link down: from now on packets between the namespace and the host
    /// are lost.
    pub fn cut(&self) {
        run(Command::new("ip").args(["link", "set", &self.host_if, "down"]));
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
