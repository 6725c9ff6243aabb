//! Server-side code runs: a program in one of `languages::SERVER_LANGUAGES`, compiled (if the
//! language is) and run in a fresh bubblewrap sandbox per run, with the workspace sandbox's
//! guarantees (no network, read-only system, a user of its own, its own folder and /tmp only) and
//! limits per run: wall time, CPU, memory, processes, output size, file size. Runs beyond the
//! configured capacity wait in a bounded queue; past it, `admit` refuses.
//!
//! A run reports what happens as `RunEvent`s on a channel; dropping the receiver stops the run.

pub mod languages;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::config::ExecuteConfig;
use crate::sandbox::Io;
pub use languages::{
    SERVER_LANGUAGES, ServerLanguage, server_language, server_language_ids, test_language,
    test_language_ids,
};

/// Where the run's folder is inside the sandbox.
const BOX: &str = "/box";
/// Run uids: each concurrent run gets its own, so a per-uid process limit bounds each run alone.
const FIRST_UID: u32 = 1_300_000;
const UIDS: u32 = 50_000;

/// What a run reports, in order: `Started` (once it has a slot), output as it comes, then `Exit`.
#[derive(Debug, Clone)]
pub enum RunEvent {
    Queued { ahead: usize },
    Started,
    Stdout(String),
    Stderr(String),
    Exit(Outcome),
}

/// How a run ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// `ok`, `error` (compile error, non-zero exit, a limit other than time), `timeout`, `stopped`.
    pub status: &'static str,
    /// The program's exit code (128 + signal when a signal ended it); None if it never ran.
    pub code: Option<i32>,
    /// Which step ended the run: `compile` or `run`.
    pub step: &'static str,
    /// Wall time of the run step (the compile step's is in `compile_ms`).
    pub time_ms: u64,
    pub compile_ms: Option<u64>,
    /// Peak memory of the run step, where the host measures it (memory cgroups).
    pub memory_bytes: Option<u64>,
    /// CPU time of the run step (all its threads), where the host measures it (cpuacct cgroups).
    pub cpu_ms: Option<u64>,
    /// Bytes of output (stdout and stderr) the program wrote, up to the limit.
    pub output_bytes: u64,
    /// Why the platform stopped it, in words, when it did (a limit, the caller leaving).
    pub message: Option<String>,
}

/// One run to do.
pub struct Job {
    pub language: &'static ServerLanguage,
    pub code: String,
    pub stdin: String,
    /// More input while the program runs (interactive runs): each text is written to its stdin
    /// as it comes, and the input ends when the sender is dropped. None: `stdin` is all of it.
    pub more_stdin: Option<mpsc::Receiver<String>>,
    /// The session's time limit for the run step (for an interactive run, counted from the last
    /// input, so time spent waiting for the person at the keyboard is not the program's).
    pub time_limit: Duration,
    /// Cancelled when the run must stop for a reason of the session's (execution switched off).
    pub cancel: tokio_util::sync::CancellationToken,
}

/// A place in line, held from admission until the run ends.
pub struct Ticket {
    executor: Arc<Executor>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.executor.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The queue is full: try again after this many seconds.
#[derive(Debug)]
pub struct Busy {
    pub retry_after_secs: u64,
}

pub struct Executor {
    config: ExecuteConfig,
    root: PathBuf,
    slots: Arc<Semaphore>,
    /// Runs running or waiting.
    admitted: AtomicUsize,
    next: AtomicU32,
    /// Numbers the steps' limit groups.
    next_group: std::sync::atomic::AtomicU64,
    as_root: bool,
    /// Whether each run gets a size-limited tmpfs of its own (mounting needs root).
    disk_quota: bool,
    helper: crate::sandbox::Helper,
}

impl Executor {
    pub async fn new(
        config: ExecuteConfig,
        helper: crate::sandbox::Helper,
    ) -> anyhow::Result<Arc<Executor>> {
        std::fs::create_dir_all(&config.runs_dir)?;
        // The sandbox mounts the run's folder: the path must be absolute.
        let root = std::fs::canonicalize(&config.runs_dir)?;
        // Each run's own uid must reach its folder inside this one (but not list the others).
        std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o711))?;
        // Folders of runs cut short by a crash (an hour old: another server may share the folder).
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                let old = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(3600)));
                if old {
                    // A crashed server's run folders are still mounted tmpfs.
                    crate::sandbox::Scratch::unmount(&helper, &e.file_name().to_string_lossy())
                        .await;
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let as_root = crate::sandbox::can_switch_uid();
        let disk_quota = crate::sandbox::Scratch::works(&helper).await;
        if !disk_quota {
            tracing::warn!(
                "runs get no disk quota (a size-limited tmpfs per run needs root): only the per-file limit applies"
            );
        }
        Ok(Arc::new(Executor {
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            admitted: AtomicUsize::new(0),
            next: AtomicU32::new(0),
            next_group: Default::default(),
            as_root,
            disk_quota,
            helper,
            root,
            config,
        }))
    }

    pub fn config(&self) -> &ExecuteConfig {
        &self.config
    }

    /// A place for one more run, or Busy when the running and queued runs fill every place.
    pub fn admit(self: &Arc<Self>) -> Result<Ticket, Busy> {
        let capacity = self.config.max_concurrent.max(1) + self.config.max_queued;
        let taken = self.admitted.fetch_add(1, Ordering::AcqRel);
        if taken >= capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            // A rough wait: the queue ahead, a few seconds per run per slot.
            let per_slot = taken / self.config.max_concurrent.max(1);
            return Err(Busy {
                retry_after_secs: (per_slot as u64 * 2).clamp(1, 60),
            });
        }
        Ok(Ticket {
            executor: self.clone(),
        })
    }

    /// Starts the job: events on the receiver (dropping it stops the run), the outcome on the
    /// oneshot once it has ended (also when the receiver was dropped).
    pub fn start(
        self: &Arc<Self>,
        ticket: Ticket,
        job: Job,
    ) -> (mpsc::Receiver<RunEvent>, oneshot::Receiver<Outcome>) {
        let (tx, rx) = mpsc::channel(64);
        let (done_tx, done_rx) = oneshot::channel();
        let this = self.clone();
        tokio::spawn(async move {
            let outcome = this.run(job, &tx).await;
            let _ = tx.send(RunEvent::Exit(outcome.clone())).await;
            let _ = done_tx.send(outcome);
            drop(ticket);
        });
        (rx, done_rx)
    }

    async fn run(&self, mut job: Job, tx: &mpsc::Sender<RunEvent>) -> Outcome {
        let waiting = self.slots.available_permits() == 0;
        if waiting {
            let ahead = self
                .admitted
                .load(Ordering::Acquire)
                .saturating_sub(self.config.max_concurrent.max(1) + 1);
            let _ = tx.send(RunEvent::Queued { ahead }).await;
        }
        let permit = tokio::select! {
            p = self.slots.clone().acquire_owned() => p,
            _ = tx.closed() => return Outcome::stopped_before_start(),
        };
        let Ok(_permit) = permit else {
            return Outcome::stopped_before_start();
        };
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{n}", crate::util::new_id());
        let dir = self.root.join(&name);
        let uid = FIRST_UID + n % UIDS;
        let more_stdin = job.more_stdin.take();
        let scratch = self.scratch(&name, &dir, uid).await;
        let result = match &scratch {
            Ok(_) => self.run_in(&dir, &name, uid, &job, more_stdin, tx).await,
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        if let Ok(Some(s)) = scratch {
            s.release().await;
        }
        let _ = tokio::fs::remove_dir_all(&dir).await;
        match result {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(error = %e, "code run could not be started");
                let _ = tx
                    .send(RunEvent::Stderr(format!(
                        "The run could not be started: {e}\n"
                    )))
                    .await;
                Outcome {
                    status: "error",
                    code: None,
                    step: "run",
                    time_ms: 0,
                    compile_ms: None,
                    memory_bytes: None,
                    cpu_ms: None,
                    output_bytes: 0,
                    message: None,
                }
            }
        }
    }

    async fn run_in(
        &self,
        dir: &Path,
        name: &str,
        uid: u32,
        job: &Job,
        more_stdin: Option<mpsc::Receiver<String>>,
        tx: &mpsc::Sender<RunEvent>,
    ) -> std::io::Result<Outcome> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join(job.language.file), &job.code)?;
        if self.as_root {
            for p in [dir.to_path_buf(), dir.join(job.language.file)] {
                std::os::unix::fs::chown(&p, Some(uid), Some(uid))?;
            }
        }
        if tx.send(RunEvent::Started).await.is_err() {
            return Ok(Outcome::stopped_before_start());
        }
        let mut output = OutputBudget {
            left: self.config.max_output_bytes,
            used: 0,
        };
        let mut compile_ms = None;
        if let Some(compile) = job.language.compile {
            let limits = self.compile_limits();
            let argv: Vec<String> = compile.iter().map(|s| s.to_string()).collect();
            let step = self
                .step(
                    dir,
                    &format!("{name}-compile"),
                    uid,
                    job.language,
                    &argv,
                    "",
                    None,
                    &limits,
                    &mut output,
                    tx,
                    &job.cancel,
                )
                .await?;
            compile_ms = Some(step.time_ms);
            if step.ended != Ended::Exited(0) {
                let mut outcome = step.outcome("compile", &limits, &output, &self.config);
                outcome.compile_ms = compile_ms;
                outcome.time_ms = 0;
                if matches!(step.ended, Ended::TimedOut) {
                    outcome.message = Some(format!(
                        "Compiling took longer than {} s and was stopped.",
                        limits.wall.as_secs()
                    ));
                    outcome.status = "error";
                }
                return Ok(outcome);
            }
        }
        let limits = self.run_limits(job.time_limit);
        let argv = self.run_argv(job.language);
        let step = self
            .step(
                dir,
                &format!("{name}-run"),
                uid,
                job.language,
                &argv,
                &job.stdin,
                more_stdin,
                &limits,
                &mut output,
                tx,
                &job.cancel,
            )
            .await?;
        let mut outcome = step.outcome("run", &limits, &output, &self.config);
        outcome.compile_ms = compile_ms;
        Ok(outcome)
    }

    /// The run's folder: a size-limited tmpfs (with /tmp inside it) where the server can mount
    /// one, so the run's writes in all are bounded; unmounted when the guard drops.
    async fn scratch(
        &self,
        name: &str,
        dir: &Path,
        uid: u32,
    ) -> std::io::Result<Option<crate::sandbox::Scratch>> {
        std::fs::create_dir_all(dir)?;
        if !self.disk_quota {
            return Ok(None);
        }
        crate::sandbox::Scratch::mount(&self.helper, name, self.config.disk_mb.max(1) << 20, uid)
            .await
            .map(Some)
    }

    fn compile_limits(&self) -> StepLimits {
        StepLimits {
            wall: Duration::from_secs(self.config.compile_seconds.max(1)),
            memory_bytes: self.config.compile_memory_mb.max(64) << 20,
            max_processes: self.config.max_processes.max(8) * 4,
            cpus: self.config.cpus.max(1),
        }
    }

    fn run_limits(&self, wall: Duration) -> StepLimits {
        StepLimits {
            wall,
            memory_bytes: self.config.memory_mb.max(16) << 20,
            max_processes: self.config.max_processes.max(4),
            cpus: self.config.cpus.max(1),
        }
    }

    /// The run step's command: a JVM's heap is 5/8 of the memory limit.
    fn run_argv(&self, lang: &ServerLanguage) -> Vec<String> {
        let heap_mb = (self.config.memory_mb.max(64) * 5 / 8).to_string();
        lang.run
            .iter()
            .map(|s| {
                s.replace("{heap_mb}", &heap_mb)
                    .replace("{cpus}", &self.config.cpus.max(1).to_string())
            })
            .collect()
    }

    /// One sandboxed process: stdin written, stdout and stderr streamed, limits watched.
    #[allow(clippy::too_many_arguments)]
    async fn step(
        &self,
        dir: &Path,
        group: &str,
        uid: u32,
        lang: &ServerLanguage,
        argv: &[String],
        stdin: &str,
        more_stdin: Option<mpsc::Receiver<String>>,
        limits: &StepLimits,
        output: &mut OutputBudget,
        tx: &mpsc::Sender<RunEvent>,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> std::io::Result<Step> {
        let cg_limits = crate::sandbox::Limits {
            memory_bytes: limits.memory_bytes,
            processes: limits.max_processes,
            cpu_percent: u64::from(limits.cpus) * 100,
        };
        // A name of its own per step (a batch runs the same step once per input), so removing
        // one group in the background never races making the next.
        let seq = self.next_group.fetch_add(1, Ordering::Relaxed);
        let cgroup = crate::sandbox::group(&self.helper, &format!("run-{group}-{seq}"), &cg_limits)
            .await
            .map_err(std::io::Error::other)?;
        // With a pids cgroup, it refuses first (and counts what it refused, for the message);
        // the per-uid limit stays as a backstop. Without a memory cgroup, an address-space limit
        // still stops a memory hog (not for runtimes that reserve far more than they use).
        let rlimits = crate::sandbox::Rlimits {
            processes: if cgroup.is_some() {
                limits.max_processes * 2
            } else {
                limits.max_processes
            },
            file_bytes: self.config.max_file_mb.max(1) << 20,
            open_files: 1024,
            cpu_seconds: Some(limits.wall.as_secs() + 1),
            address_space: (cgroup.is_none() && !lang.big_address_space)
                .then(|| limits.memory_bytes.saturating_mul(2)),
        };
        let jail = crate::sandbox::Jail {
            hostname: "sandbox".into(),
            new_session: true,
            extra_etc: lang.etc.iter().map(|s| s.to_string()).collect(),
            mounts: mounts(dir, lang, limits.cpus, self.disk_quota),
            argv: argv.to_vec(),
            uid,
            group: cgroup.as_ref().map(|g| g.name().to_string()),
            rlimits,
        };
        let started = Instant::now();
        let mut child = jail
            .spawn(&self.helper, Io::Piped, Io::Piped, Io::Piped)
            .await?;
        // The input is written in the background: a program that never reads it must not block us.
        // Each later input (interactive runs) restarts the time limit.
        let fed = Arc::new(tokio::sync::Notify::new());
        if let Some(mut pipe) = child.stdin.take() {
            let input = stdin.as_bytes().to_vec();
            let fed = fed.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                if pipe.write_all(&input).await.is_err() {
                    return;
                }
                let Some(mut more) = more_stdin else { return };
                while let Some(text) = more.recv().await {
                    fed.notify_one();
                    if pipe.write_all(text.as_bytes()).await.is_err() || pipe.flush().await.is_err()
                    {
                        return;
                    }
                }
                // Dropping the pipe ends the program's input.
            });
        }
        let mut stdout = child.stdout.take().map(Utf8Reader::new);
        let mut stderr = child.stderr.take().map(Utf8Reader::new);
        let deadline = tokio::time::sleep(limits.wall);
        tokio::pin!(deadline);
        let cancelled = cancel.cancelled();
        tokio::pin!(cancelled);
        let mut stop: Option<Ended> = None;
        let status = loop {
            tokio::select! {
                chunk = read_some(&mut stdout), if stdout.is_some() => match chunk {
                    Some(text) => {
                        if !output.take(&text, RunEvent::Stdout, tx).await { stop = Some(Ended::OutputLimit); break None }
                    }
                    None => stdout = None,
                },
                chunk = read_some(&mut stderr), if stderr.is_some() => match chunk {
                    Some(text) => {
                        if !output.take(&text, RunEvent::Stderr, tx).await { stop = Some(Ended::OutputLimit); break None }
                    }
                    None => stderr = None,
                },
                status = child.wait(), if stdout.is_none() && stderr.is_none() => break status.ok(),
                _ = &mut deadline => { stop = Some(Ended::TimedOut); break None }
                _ = fed.notified() => deadline.as_mut().reset(tokio::time::Instant::now() + limits.wall),
                _ = tx.closed() => { stop = Some(Ended::Stopped); break None }
                _ = &mut cancelled => { stop = Some(Ended::Cancelled); break None }
            }
        };
        let time_ms = started.elapsed().as_millis() as u64;
        let ended = match (stop, status) {
            (Some(reason), _) => {
                // Killing bubblewrap kills the sandbox's init (--die-with-parent) and with it
                // every process of the run's namespace.
                child.start_kill();
                let _ = child.wait().await;
                reason
            }
            (None, Some(status)) => Ended::Exited(exit_code(status)),
            (None, None) => Ended::Exited(-1),
        };
        let stats = match &cgroup {
            Some(g) => g.stats().await,
            None => Default::default(),
        };
        // Whatever is left in it (a child still dying) is killed and the group removed without
        // holding the run's place in the queue.
        if let Some(g) = cgroup {
            tokio::spawn(g.remove());
        }
        let disk_full = self.disk_quota && crate::sandbox::scratch_full(dir);
        Ok(Step {
            ended,
            time_ms,
            stats,
            disk_full,
        })
    }
}

/// A program's result on one input (tests): what it printed and how it ended.
#[derive(Debug, Clone)]
pub struct BatchRun {
    pub outcome: Outcome,
    pub stdout: String,
    pub stderr: String,
}

impl Executor {
    /// Compiles `code` once and runs it on each input in turn (a question's tests), in one
    /// place of the queue. A compile error is every input's result.
    pub async fn run_batch(
        self: &Arc<Self>,
        ticket: Ticket,
        language: &'static ServerLanguage,
        code: &str,
        inputs: &[String],
        time_limit: Duration,
    ) -> Vec<BatchRun> {
        let _ticket = ticket;
        let Ok(_permit) = self.slots.clone().acquire_owned().await else {
            return Vec::new();
        };
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{n}", crate::util::new_id());
        let dir = self.root.join(&name);
        let uid = FIRST_UID + n % UIDS;
        let scratch = self.scratch(&name, &dir, uid).await;
        let result = match &scratch {
            Ok(_) => {
                self.batch_in(&dir, &name, uid, language, code, inputs, time_limit)
                    .await
            }
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        if let Ok(Some(s)) = scratch {
            s.release().await;
        }
        let _ = tokio::fs::remove_dir_all(&dir).await;
        result.unwrap_or_else(|e| {
            tracing::error!(error = %e, "test run could not be started");
            let failed = BatchRun {
                outcome: Outcome {
                    status: "error",
                    code: None,
                    step: "run",
                    time_ms: 0,
                    compile_ms: None,
                    memory_bytes: None,
                    cpu_ms: None,
                    output_bytes: 0,
                    message: Some(format!("The run could not be started: {e}")),
                },
                stdout: String::new(),
                stderr: String::new(),
            };
            vec![failed; inputs.len()]
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn batch_in(
        &self,
        dir: &Path,
        name: &str,
        uid: u32,
        lang: &'static ServerLanguage,
        code: &str,
        inputs: &[String],
        time_limit: Duration,
    ) -> std::io::Result<Vec<BatchRun>> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join(lang.file), code)?;
        if self.as_root {
            for p in [dir.to_path_buf(), dir.join(lang.file)] {
                std::os::unix::fs::chown(&p, Some(uid), Some(uid))?;
            }
        }
        let mut compile_ms = None;
        if let Some(compile) = lang.compile {
            let limits = self.compile_limits();
            let argv: Vec<String> = compile.iter().map(|s| s.to_string()).collect();
            let mut output = OutputBudget {
                left: self.config.max_output_bytes,
                used: 0,
            };
            let (tx, collected) = collector();
            let step = self
                .step(
                    dir,
                    &format!("{name}-compile"),
                    uid,
                    lang,
                    &argv,
                    "",
                    None,
                    &limits,
                    &mut output,
                    &tx,
                    &tokio_util::sync::CancellationToken::new(),
                )
                .await?;
            drop(tx);
            let (stdout, stderr) = collected.await.unwrap_or_default();
            compile_ms = Some(step.time_ms);
            if step.ended != Ended::Exited(0) {
                let mut outcome = step.outcome("compile", &limits, &output, &self.config);
                outcome.compile_ms = compile_ms;
                outcome.time_ms = 0;
                return Ok(vec![
                    BatchRun {
                        outcome,
                        stdout,
                        stderr
                    };
                    inputs.len()
                ]);
            }
        }
        let limits = self.run_limits(time_limit);
        let argv = self.run_argv(lang);
        let mut results = Vec::with_capacity(inputs.len());
        for input in inputs {
            let mut output = OutputBudget {
                left: self.config.max_output_bytes,
                used: 0,
            };
            let (tx, collected) = collector();
            let step = self
                .step(
                    dir,
                    &format!("{name}-run"),
                    uid,
                    lang,
                    &argv,
                    input,
                    None,
                    &limits,
                    &mut output,
                    &tx,
                    &tokio_util::sync::CancellationToken::new(),
                )
                .await?;
            drop(tx);
            let (stdout, stderr) = collected.await.unwrap_or_default();
            let mut outcome = step.outcome("run", &limits, &output, &self.config);
            outcome.compile_ms = compile_ms;
            results.push(BatchRun {
                outcome,
                stdout,
                stderr,
            });
        }
        Ok(results)
    }
}

/// A channel whose events are gathered into (stdout, stderr) by a task, for runs nobody watches live.
fn collector() -> (
    mpsc::Sender<RunEvent>,
    tokio::task::JoinHandle<(String, String)>,
) {
    let (tx, mut rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        let (mut out, mut err) = (String::new(), String::new());
        while let Some(ev) = rx.recv().await {
            match ev {
                RunEvent::Stdout(t) => out.push_str(&t),
                RunEvent::Stderr(t) => err.push_str(&t),
                _ => {}
            }
        }
        (out, err)
    });
    (tx, task)
}

impl Outcome {
    fn stopped_before_start() -> Outcome {
        Outcome {
            status: "stopped",
            code: None,
            step: "run",
            time_ms: 0,
            compile_ms: None,
            memory_bytes: None,
            cpu_ms: None,
            output_bytes: 0,
            message: Some("Stopped before the program started.".into()),
        }
    }
}

struct StepLimits {
    wall: Duration,
    memory_bytes: u64,
    max_processes: u64,
    /// Cores the step may use at once (a CPU cgroup quota); runtimes that size themselves by the
    /// machine's cores (Go, the JVM) are told this count.
    cpus: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Exited(i32),
    TimedOut,
    OutputLimit,
    Stopped,
    Cancelled,
}

struct Step {
    ended: Ended,
    time_ms: u64,
    stats: crate::sandbox::cgroups::Stats,
    /// The run's tmpfs was full when the step ended.
    disk_full: bool,
}

impl Step {
    /// The outcome of the step that ended the run, with the message for a limit it hit.
    fn outcome(
        &self,
        step: &'static str,
        limits: &StepLimits,
        output: &OutputBudget,
        config: &ExecuteConfig,
    ) -> Outcome {
        let mb = |b: u64| b >> 20;
        let (status, code, message) = match self.ended {
            Ended::Exited(0) => ("ok", Some(0), None),
            Ended::Exited(code) => {
                let message = if self.stats.oom_kills > 0 {
                    Some(format!(
                        "Memory limit reached: the program used more than {} MB and was stopped.",
                        mb(limits.memory_bytes)
                    ))
                } else if self.stats.pids_refused > 0 {
                    Some(format!(
                        "Process limit reached: the program tried to start more than {} processes or threads.",
                        limits.max_processes
                    ))
                } else if code == 128 + libc::SIGXCPU {
                    Some(format!(
                        "CPU time limit reached ({} s): the program was stopped.",
                        limits.wall.as_secs() + 1
                    ))
                } else if self.disk_full {
                    Some(format!(
                        "Disk limit reached: a run may write at most {} MB in all (its folder and /tmp).",
                        config.disk_mb.max(1)
                    ))
                } else if code == 128 + libc::SIGXFSZ {
                    Some(format!(
                        "File size limit reached: a file may hold at most {} MB.",
                        config.max_file_mb.max(1)
                    ))
                } else {
                    None
                };
                ("error", Some(code), message)
            }
            Ended::TimedOut => {
                let mut m = format!(
                    "Time limit reached: the program ran for {} and was stopped.",
                    seconds(limits.wall)
                );
                if self.stats.pids_refused > 0 {
                    m.push_str(&format!(
                        " It also hit the process limit ({}).",
                        limits.max_processes
                    ));
                }
                ("timeout", None, Some(m))
            }
            Ended::OutputLimit => (
                "error",
                None,
                Some(format!(
                    "Output limit reached: a run may print at most {} KB; the program was stopped.",
                    config.max_output_bytes >> 10
                )),
            ),
            Ended::Stopped => ("stopped", None, Some("Stopped.".into())),
            Ended::Cancelled => (
                "stopped",
                None,
                Some("Code execution was turned off by the interviewer.".into()),
            ),
        };
        let cpu_ms = self.stats.cpu_ns.map(|ns| ns / 1_000_000);
        Outcome {
            status,
            code,
            step,
            time_ms: self.time_ms,
            compile_ms: None,
            memory_bytes: self.stats.peak_memory,
            cpu_ms,
            output_bytes: output.used,
            message,
        }
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{} s", s as u64)
    } else {
        format!("{s:.1} s")
    }
}

/// How much more output a run may print.
struct OutputBudget {
    left: u64,
    used: u64,
}

impl OutputBudget {
    /// Sends what fits; false once the limit is reached (the run is then stopped).
    async fn take(
        &mut self,
        text: &str,
        event: fn(String) -> RunEvent,
        tx: &mpsc::Sender<RunEvent>,
    ) -> bool {
        let size = text.len() as u64;
        if size <= self.left {
            self.left -= size;
            self.used += size;
            let _ = tx.send(event(text.to_string())).await;
            return true;
        }
        let mut cut = self.left as usize;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut > 0 {
            let _ = tx.send(event(text[..cut].to_string())).await;
        }
        self.used += cut as u64;
        self.left = 0;
        false
    }
}

/// Reads a pipe as text, never splitting a UTF-8 character between two chunks.
struct Utf8Reader<R> {
    inner: R,
    pending: Vec<u8>,
}

impl<R: tokio::io::AsyncRead + Unpin> Utf8Reader<R> {
    fn new(inner: R) -> Self {
        Utf8Reader {
            inner,
            pending: Vec::new(),
        }
    }

    async fn next(&mut self) -> Option<String> {
        let mut buf = [0u8; 8192];
        loop {
            let n = self.inner.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                if self.pending.is_empty() {
                    return None;
                }
                return Some(
                    String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned(),
                );
            }
            self.pending.extend_from_slice(&buf[..n]);
            // Keep an incomplete character at the end for the next read.
            let valid = match std::str::from_utf8(&self.pending) {
                Ok(_) => self.pending.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => self.pending.len(),
            };
            if valid == 0 {
                continue;
            }
            let rest = self.pending.split_off(valid);
            let text =
                String::from_utf8_lossy(&std::mem::replace(&mut self.pending, rest)).into_owned();
            return Some(text);
        }
    }
}

async fn read_some<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut Option<Utf8Reader<R>>,
) -> Option<String> {
    match reader {
        Some(r) => r.next().await,
        None => std::future::pending().await,
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// The run's own part of the sandbox (the common part is `crate::sandbox`'s): the run's folder
/// as the only writable place besides /tmp, which is a folder of the same size-limited tmpfs
/// when the server could mount one (`disk_quota`), else a small tmpfs of its own.
fn mounts(dir: &Path, lang: &ServerLanguage, cpus: u32, disk_quota: bool) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut push = |xs: &[&str]| a.extend(xs.iter().map(|s| s.to_string()));
    push(&["--bind", &dir.display().to_string(), BOX]);
    if disk_quota {
        push(&["--bind", &dir.join(".tmp").display().to_string(), "/tmp"]);
    } else {
        push(&["--size", &(64u64 << 20).to_string(), "--tmpfs", "/tmp"]);
    }
    push(&["--remount-ro", "/"]);
    push(&["--chdir", BOX]);
    let cpus = cpus.to_string();
    for (k, v) in [
        ("HOME", BOX),
        ("LANG", "C.UTF-8"),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("TMPDIR", "/tmp"),
    ]
    .iter()
    .chain(lang.env)
    {
        push(&["--setenv", k, &v.replace("{cpus}", &cpus)]);
    }
    a
}
