//! The sandbox under attack, through the product's own API, against the real server and real
//! bubblewrap: what a hostile candidate tries with a server-side run. (The workspace's attacks,
//! which need its terminal, are in `workspace.rs`.)

use std::time::Duration;

use crate::common::{TestServer, new_session};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

fn bwrap() -> bool {
    let ok = std::process::Command::new("bwrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: sandbox tests need bubblewrap (./scripts/test.sh installs it)");
    }
    ok
}

/// Runs `code` and returns (everything printed, the exit event).
async fn run(
    base: &str,
    session: &str,
    token: &str,
    language: &str,
    code: &str,
) -> (String, Value) {
    let res = client()
        .post(format!("{base}/api/sessions/{session}/execute"))
        .bearer_auth(token)
        .json(&json!({"language": language, "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let (mut out, mut exit) = (String::new(), Value::Null);
    for block in text.split("\n\n") {
        let event = block
            .lines()
            .find_map(|l| l.strip_prefix("event:"))
            .map(str::trim)
            .unwrap_or("");
        let data: String = block
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        let v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        match event {
            "stdout" | "stderr" => out.push_str(v["text"].as_str().unwrap_or("")),
            "exit" => exit = v,
            _ => {}
        }
    }
    (out, exit)
}

#[tokio::test]
async fn a_run_cannot_make_namespaces_or_reach_the_kernels_risky_calls() {
    if !bwrap() {
        return;
    }
    let server = TestServer::start().await;
    let base = server.url();
    let s = new_session(&base).await;

    // A nested user namespace would give uid 0 with every capability inside.
    let (out, _) = run(
        &base,
        &s.id,
        &s.candidate,
        "bash",
        "unshare -Urn id 2>&1; echo \"unshare=$?\"; grep '^Seccomp:' /proc/self/status",
    )
    .await;
    assert!(
        out.contains("unshare=1") && !out.contains("uid=0"),
        "unshare must fail: {out}"
    );
    assert!(out.contains("Seccomp:\t2"), "a seccomp filter is on: {out}");

    // The calls Docker's default profile refuses, made directly: each answers EPERM.
    let c = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/mount.h>
int main(void) {
    struct { const char *name; long nr; } calls[] = {
        {"keyctl", SYS_keyctl}, {"bpf", SYS_bpf}, {"perf_event_open", SYS_perf_event_open},
        {"userfaultfd", SYS_userfaultfd}, {"io_uring_setup", SYS_io_uring_setup},
        {"kexec_load", SYS_kexec_load}, {"init_module", SYS_init_module},
        {"open_by_handle_at", SYS_open_by_handle_at}, {"setns", SYS_setns},
    };
    for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        errno = 0;
        long r = syscall(calls[i].nr, 0, 0, 0, 0, 0, 0);
        printf("%s=%s\n", calls[i].name, r == -1 && errno == EPERM ? "EPERM" : "ALLOWED");
    }
    errno = 0;
    printf("mount=%s\n", mount("none", "/tmp", "tmpfs", 0, 0) == -1 && errno == EPERM ? "EPERM" : "ALLOWED");
    errno = 0;
    printf("unshare=%s\n", unshare(CLONE_NEWUSER) == -1 && errno == EPERM ? "EPERM" : "ALLOWED");
    /* Threads and processes still work: clone without namespace flags is allowed. */
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    printf("fork=%s\n", pid > 0 ? "ok" : "FAILED");
    return 0;
}
"#;
    let (out, exit) = run(&base, &s.id, &s.candidate, "c", c).await;
    assert_eq!(exit["status"], "ok", "{out} {exit}");
    assert!(
        !out.contains("ALLOWED") && out.matches("=EPERM").count() == 11,
        "every risky call refused: {out}"
    );
    assert!(out.contains("fork=ok"), "{out}");
}

#[tokio::test]
async fn a_run_that_fills_its_disk_is_stopped_at_the_quota() {
    if !bwrap() {
        return;
    }
    let server = TestServer::start_with(|c| c.execute.disk_mb = 64).await;
    let base = server.url();
    let s = new_session(&base).await;
    // 8 x 15 MB, half in its folder and half in /tmp: under the per-file limit, over the 64 MB
    // the run may write in all.
    let code = "for i in 1 2 3 4; do head -c 15M /dev/zero > f$i || exit 9; head -c 15M /dev/zero > /tmp/t$i || exit 9; done; echo wrote-all";
    let (out, exit) = run(&base, &s.id, &s.candidate, "bash", code).await;
    assert!(!out.contains("wrote-all"), "{out}");
    assert_eq!(exit["code"], 9, "{exit}");
    assert!(
        exit["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Disk limit reached"),
        "{exit}"
    );
    // The next run has its full quota again.
    let (out, exit) = run(&base, &s.id, &s.candidate, "bash", "head -c 15M /dev/zero > a && head -c 15M /dev/zero > b && head -c 15M /dev/zero > /tmp/c && echo fits").await;
    assert!(out.contains("fits"), "{out} {exit}");
}

#[tokio::test]
async fn no_cgroup_is_left_behind_after_a_hundred_runs() {
    if !bwrap() {
        return;
    }
    let server = TestServer::start_with(|c| c.execute.max_concurrent = 4).await;
    let base = server.url();
    let s = new_session(&base).await;
    // Groups of runs in progress elsewhere (other tests of this binary) are not these runs'.
    let before = interview_ide::sandbox::cgroups::live_groups();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (base, id, token) = (base.clone(), s.id.clone(), s.candidate.clone());
        // Some leave a child behind that outlives the program.
        let code = if i % 3 == 0 {
            "sleep 30 & echo started"
        } else {
            "echo hi"
        };
        tasks.push(tokio::spawn(async move {
            loop {
                let res = client()
                    .post(format!("{base}/api/sessions/{id}/execute"))
                    .bearer_auth(&token)
                    .json(&json!({"language": "bash", "code": code}))
                    .send()
                    .await
                    .unwrap();
                if res.status() == 429 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                assert_eq!(res.status(), 200);
                let text = res.text().await.unwrap();
                assert!(text.contains("event: exit"), "{text}");
                break;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let left: Vec<String> = interview_ide::sandbox::cgroups::live_groups()
        .into_iter()
        .filter(|g| g.starts_with("run-") && !before.contains(g))
        .collect();
    // Other tests of this binary may be running their own; none of these may remain, and
    // whatever remains must be another test's run in progress, gone a moment later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still: Vec<String> = interview_ide::sandbox::cgroups::live_groups()
        .into_iter()
        .filter(|g| left.contains(g))
        .collect();
    assert!(still.is_empty(), "cgroups left behind: {still:?}");
    assert_ne!(interview_ide::sandbox::cgroups::status().cgroups, "none");
}

/// The numbers of a `/proc/<pid>/status` line (`Uid:`, `Gid:`).
fn status_ids(pid: u32, field: &str) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect()
}

fn status_field(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Started as root (as `start.sh` and the container start it), the process that parses the
/// network's input becomes its own unprivileged user before it listens; only the sandbox
/// helper it started first keeps root, and candidate code still runs, as a sandbox uid.
#[tokio::test]
async fn the_server_that_reads_the_network_is_not_root() {
    if !bwrap() {
        return;
    }
    let Some(mut server) = crate::common::BinaryServer::start(&[]).await else {
        return;
    };
    let account = interview_ide::privileges::lookup("interview-ide").unwrap();
    let (base, pid) = (server.base.clone(), server.pid);

    // The listening process: the user's real, effective, saved and file-system ids, no capability.
    assert_eq!(
        status_ids(pid, "Uid:"),
        vec![account.uid; 4],
        "the HTTP process's uids"
    );
    assert_eq!(
        status_ids(pid, "Gid:"),
        vec![account.gid; 4],
        "the HTTP process's gids"
    );
    assert_eq!(status_field(pid, "CapEff:"), "0000000000000000");
    assert_eq!(status_field(pid, "CapPrm:"), "0000000000000000");
    // Its data is the user's: the database it writes.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(server.dir.path().join("db.sqlite"))
            .unwrap()
            .uid(),
        account.uid
    );
    // The helper: its one child, root.
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let helpers: Vec<u32> = children
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .filter(|c| {
            std::fs::read_to_string(format!("/proc/{c}/cmdline"))
                .unwrap_or_default()
                .contains("sandbox-helper")
        })
        .collect();
    assert_eq!(helpers.len(), 1, "one sandbox helper: {children}");
    assert_eq!(
        status_ids(helpers[0], "Uid:")[1],
        0,
        "the helper keeps root"
    );

    // Candidate code runs through the helper, as a sandbox uid in the server's group.
    let s = new_session(&base).await;
    let (out, exit) = run(
        &base,
        &s.id,
        &s.candidate,
        "bash",
        "echo uid=$(id -u) gid=$(id -g); echo hi > f && cat f",
    )
    .await;
    assert_eq!(exit["status"], "ok", "{out} {exit}");
    let uid: u32 = out
        .split("uid=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        uid >= interview_ide::sandbox::helper::FIRST_SANDBOX_UID,
        "a run's uid: {out}"
    );
    assert!(
        out.contains(&format!("gid={}", account.gid)) && out.contains("hi"),
        "{out}"
    );

    // The helper ends with the server.
    server.stop().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{}/status", helpers[0]))
        .is_ok_and(|s| !s.contains("State:\tZ"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the helper outlived the server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
