//! sd_notify over a real datagram socket, /healthz and /metrics, the loopback-only listener.

mod daemon_support;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daemon_support::*;
use nix::sys::signal::Signal;

/// Collects datagrams until `pred` holds for the collected text or `timeout` passes.
fn recv_until(
    sock: &UnixDatagram,
    got: &mut String,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> bool {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < timeout {
        if pred(got) {
            return true;
        }
        if let Ok(n) = sock.recv(&mut buf) {
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
            got.push('\n');
        }
    }
    pred(got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_socket_gets_ready_status_watchdog_reloading_stopping() {
    let setup = Setup::new();
    let lite = setup.sqlite_url("src.db");
    let cfg = setup.write_config(&format!(
        "[[sources]]\nname = \"lite\"\nurl = \"{lite}\"\n\n{}",
        delete_policy("a", "lite", "* * * * * *", "")
    ));
    let src = setup.source("lite").await;
    events_table(&src, 2, 1).await;
    src.close().await;
    let sock_path = setup.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // WATCHDOG_PID must be the daemon's own pid: `exec` keeps the shell's.
    let log = setup.path("daemon.log");
    let mut child = Command::new("sh")
        .args([
            "-c",
            "WATCHDOG_PID=$$ exec \"$0\" --log-format json run --config \"$1\"",
            env!("CARGO_BIN_EXE_datawarden"),
            cfg.to_str().unwrap(),
        ])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "2000000")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut got = String::new();
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        recv_until(&sock, &mut got, Duration::from_secs(15), |g| g
            .contains("READY=1")),
        "{got}\n{}",
        logs()
    );
    assert!(got.contains("STATUS="), "{got}");
    assert!(
        recv_until(&sock, &mut got, Duration::from_secs(5), |g| g
            .contains("WATCHDOG=1")),
        "{got}"
    );
    // Pings keep coming at least every WATCHDOG_USEC / 2.
    let pings = got.matches("WATCHDOG=1").count();
    assert!(
        recv_until(&sock, &mut got, Duration::from_secs(3), |g| g
            .matches("WATCHDOG=1")
            .count()
            >= pings + 2),
        "{got}"
    );
    assert!(
        recv_until(&sock, &mut got, Duration::from_secs(5), |g| g
            .contains("STATUS=")
            && g.contains("last: enforce:a success")),
        "status line with the last run: {got}"
    );
    nix::sys::signal::kill(pid, Signal::SIGHUP).unwrap();
    assert!(
        recv_until(&sock, &mut got, Duration::from_secs(5), |g| g
            .contains("RELOADING=1")),
        "{got}"
    );
    assert!(got.contains("MONOTONIC_USEC="), "{got}");
    let ready_before = got.matches("READY=1").count();
    assert!(
        recv_until(&sock, &mut got, Duration::from_secs(5), |g| g
            .matches("READY=1")
            .count()
            > ready_before),
        "{got}"
    );
    nix::sys::signal::kill(pid, Signal::SIGTERM).unwrap();
    assert!(
        recv_until(&sock, &mut got, Duration::from_secs(5), |g| g
            .contains("STOPPING=1")),
        "{got}"
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{}", logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics_answer() {
    let setup = Setup::new();
    let lite = setup.sqlite_url("src.db");
    let port = free_port();
    let cfg = setup.write_config(&format!(
        "[[sources]]\nname = \"lite\"\nurl = \"{lite}\"\n\n{}\n[daemon]\nlisten = \"127.0.0.1:{port}\"\n",
        delete_policy("a", "lite", "* * * * * *", "batch_size = 4")
    ));
    let src = setup.source("lite").await;
    events_table(&src, 10, 1).await;
    let d = Daemon::start(&cfg, &[]);
    d.wait_for_log("serving /healthz and /metrics", 1, Duration::from_secs(15));
    let (code, body) = http_get(port, "/healthz");
    assert_eq!(code, 200, "{body}");
    assert!(body.starts_with("ok"), "{body}");
    d.wait_for_log(r#""message":"job finished""#, 2, Duration::from_secs(15));
    let (code, m) = http_get(port, "/metrics");
    let m = without_node(&m);
    assert_eq!(code, 200);
    assert!(m.contains("datawarden_scheduled_jobs 1"), "{m}");
    assert!(
        m.contains(
            r#"datawarden_job_runs_total{job="enforce:a",kind="enforce",outcome="success"}"#
        ),
        "{m}"
    );
    assert!(
        m.contains(r#"datawarden_rows_affected_total{policy="a",action="delete"} 10"#),
        "{m}"
    );
    assert!(
        m.contains(
            r#"datawarden_job_last_success_timestamp_seconds{job="enforce:a",kind="enforce"}"#
        ),
        "{m}"
    );
    assert!(
        m.contains(r#"datawarden_job_duration_seconds_bucket{"#),
        "{m}"
    );
    assert!(m.contains("# EOF"), "{m}");
    let (code, _) = http_get(port, "/nope");
    assert_eq!(code, 404);
    d.stop();
    src.close().await;
}

#[test]
fn a_non_loopback_listen_address_is_refused() {
    let setup = Setup::new();
    let cfg = setup.write_config(&format!("[daemon]\nlisten = \"0.0.0.0:{}\"\n", free_port()));
    let o = Command::new(env!("CARGO_BIN_EXE_datawarden"))
        .args(["run", "--config", cfg.to_str().unwrap()])
        .output_within();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--allow-remote-listen"),
        "{err}"
    );
}
