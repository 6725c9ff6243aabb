//! Server-side code runs (`POST /api/sessions/{id}/execute`), per language: hello world, stdin, a
//! compile error with its line, a runtime error, an infinite loop stopped at the time limit, a
//! memory hog stopped, a fork bomb contained, network refused, writing outside the sandbox
//! refused, and the server healthy afterwards. Plus the API's rules: roles and the execution
//! switch, unknown languages, the queue, the timeline.

use std::time::Duration;

use crate::common::{TestServer, http, new_session};
use serde_json::{Value, json};

/// One run as the SSE stream told it.
#[derive(Debug, Default)]
struct Run {
    events: Vec<String>,
    stdout: String,
    stderr: String,
    exit: Value,
}

impl Run {
    fn status(&self) -> &str {
        self.exit["status"].as_str().unwrap_or("")
    }
    fn message(&self) -> String {
        self.exit["message"].as_str().unwrap_or("").to_string()
    }
    fn all(&self) -> String {
        format!("{}{}{}", self.stdout, self.stderr, self.message())
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Compiling on a loaded machine is slow; the run's own limits stop it long before this.
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

async fn execute(base: &str, session: &str, token: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{base}/api/sessions/{session}/execute"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Runs code and reads the whole event stream.
async fn run(
    base: &str,
    session: &str,
    token: &str,
    language: &str,
    code: &str,
    stdin: &str,
) -> Run {
    let res = execute(
        base,
        session,
        token,
        json!({"language": language, "code": code, "stdin": stdin}),
    )
    .await;
    assert_eq!(
        res.status(),
        200,
        "execute {language}: {}",
        res.text().await.unwrap_or_default()
    );
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = res.text().await.unwrap();
    parse(&text)
}

fn parse(text: &str) -> Run {
    let mut run = Run::default();
    for block in text.split("\n\n") {
        let mut event = "";
        let mut data = String::new();
        for line in block.lines() {
            if let Some(e) = line.strip_prefix("event:") {
                event = e.trim();
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
        if event.is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        match event {
            "stdout" => run.stdout.push_str(v["text"].as_str().unwrap_or("")),
            "stderr" => run.stderr.push_str(v["text"].as_str().unwrap_or("")),
            "exit" => run.exit = v,
            _ => {}
        }
        run.events.push(event.to_string());
    }
    run
}

fn bwrap_ready() -> bool {
    let ok = std::process::Command::new("bwrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: server-side runs need bubblewrap (./scripts/test.sh installs it)");
    }
    ok
}

fn tool_ready(language: &str) -> bool {
    let tool = interview_ide::execute::server_language(language)
        .unwrap()
        .tool;
    let ok = ["/usr/bin", "/bin"]
        .iter()
        .any(|d| std::path::Path::new(d).join(tool).exists());
    if !ok {
        eprintln!("SKIPPED: {language} needs /usr/bin/{tool} (./scripts/test.sh installs it)");
    }
    ok
}

/// The programs of one language's checks. `PORT` is replaced by a port the host listens on.
struct Programs {
    language: &'static str,
    hello: &'static str,
    /// Reads a line, prints `got: <line>`.
    stdin: &'static str,
    /// An error on line 3; `compile_marker` is what the diagnostic says about where.
    compile_error: &'static str,
    compile_marker: &'static str,
    /// Fails at run time, non-zero exit; `runtime_marker` is in its error output.
    runtime_error: &'static str,
    runtime_marker: &'static str,
    infinite_loop: &'static str,
    memory_hog: &'static str,
    fork_bomb: &'static str,
    /// Prints `refused` when connecting to 127.0.0.1:PORT fails, `connected` otherwise.
    network: &'static str,
    /// Prints `refused` when writing /usr/iide-escape fails, `written` otherwise.
    write_outside: &'static str,
}

const C_NET: &str = r#"#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(PORT);
    a.sin_addr.s_addr = inet_addr("127.0.0.1");
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) { puts("refused"); return 0; }
    puts("connected");
    return 0;
}
"#;

const C_WRITE: &str = r#"#include <stdio.h>
int main(void) {
    FILE *f = fopen("/usr/iide-escape", "w");
    if (!f) { puts("refused"); return 0; }
    fputs("x", f);
    puts(fclose(f) == 0 ? "written" : "refused");
    return 0;
}
"#;

const LANGS: &[Programs] = &[
    Programs {
        language: "c",
        hello: "#include <stdio.h>\nint main(void) { puts(\"Hello, world!\"); return 0; }\n",
        stdin: "#include <stdio.h>\nint main(void) {\n  char b[100];\n  if (fgets(b, sizeof b, stdin)) printf(\"got: %s\", b);\n  return 0;\n}\n",
        compile_error: "#include <stdio.h>\nint main(void) {\n  int x = ;\n  return 0;\n}\n",
        compile_marker: "main.c:3",
        runtime_error: "#include <stdio.h>\n#include <stdlib.h>\nint main(void) { fprintf(stderr, \"boom\\n\"); abort(); }\n",
        runtime_marker: "boom",
        infinite_loop: "int main(void) { volatile int x = 0; for (;;) x++; }\n",
        memory_hog: "#include <stdlib.h>\n#include <string.h>\nint main(void) { for (;;) { char *p = malloc(1 << 20); if (!p) return 3; memset(p, 1, 1 << 20); } }\n",
        fork_bomb: "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n",
        network: C_NET,
        write_outside: C_WRITE,
    },
    Programs {
        language: "cpp",
        hello: "#include <iostream>\nint main() { std::cout << \"Hello, world!\" << std::endl; }\n",
        stdin: "#include <iostream>\n#include <string>\nint main() { std::string s; std::getline(std::cin, s); std::cout << \"got: \" << s << std::endl; }\n",
        compile_error: "#include <iostream>\nint main() {\n  int x = ;\n}\n",
        compile_marker: "main.cpp:3",
        runtime_error: "#include <stdexcept>\nint main() { throw std::runtime_error(\"boom\"); }\n",
        runtime_marker: "boom",
        infinite_loop: "int main() { volatile int x = 0; for (;;) x++; }\n",
        memory_hog: "#include <vector>\n#include <cstring>\nint main() { std::vector<char*> v; for (;;) { char *p = new char[1 << 20]; std::memset(p, 1, 1 << 20); v.push_back(p); } }\n",
        fork_bomb: "#include <unistd.h>\nint main() { for (;;) fork(); }\n",
        network: C_NET,
        write_outside: C_WRITE,
    },
    Programs {
        language: "java",
        hello: "class Main {\n    public static void main(String[] args) {\n        System.out.println(\"Hello, world!\");\n    }\n}\n",
        stdin: "import java.util.Scanner;\nclass Main {\n    public static void main(String[] args) {\n        System.out.println(\"got: \" + new Scanner(System.in).nextLine());\n    }\n}\n",
        compile_error: "class Main {\n    public static void main(String[] args) {\n        int x = ;\n    }\n}\n",
        compile_marker: "Main.java:3",
        runtime_error: "class Main {\n    public static void main(String[] args) {\n        throw new IllegalStateException(\"boom\");\n    }\n}\n",
        runtime_marker: "boom",
        infinite_loop: "class Main {\n    public static void main(String[] args) {\n        long x = 0;\n        while (true) x++;\n    }\n}\n",
        memory_hog: "import java.util.*;\nclass Main {\n    public static void main(String[] args) {\n        List<byte[]> l = new ArrayList<>();\n        while (true) l.add(new byte[1 << 20]);\n    }\n}\n",
        fork_bomb: "class Main {\n    public static void main(String[] args) throws Exception {\n        while (true) new ProcessBuilder(\"/bin/sh\", \"-c\", \"sleep 100\").start();\n    }\n}\n",
        network: "class Main {\n    public static void main(String[] args) {\n        try (var s = new java.net.Socket(\"127.0.0.1\", PORT)) { System.out.println(\"connected\"); }\n        catch (Exception e) { System.out.println(\"refused\"); }\n    }\n}\n",
        write_outside: "class Main {\n    public static void main(String[] args) {\n        try { java.nio.file.Files.writeString(java.nio.file.Path.of(\"/usr/iide-escape\"), \"x\"); System.out.println(\"written\"); }\n        catch (Exception e) { System.out.println(\"refused\"); }\n    }\n}\n",
    },
    Programs {
        language: "go",
        hello: "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"Hello, world!\")\n}\n",
        stdin: "package main\n\nimport (\n\t\"bufio\"\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\ts, _ := bufio.NewReader(os.Stdin).ReadString('\\n')\n\tfmt.Print(\"got: \" + s)\n}\n",
        compile_error: "package main\n\nfunc main() { x := }\n",
        compile_marker: "main.go:3",
        runtime_error: "package main\n\nfunc main() {\n\tpanic(\"boom\")\n}\n",
        runtime_marker: "boom",
        infinite_loop: "package main\n\nfunc main() {\n\tx := 0\n\tfor {\n\t\tx++\n\t}\n}\n",
        memory_hog: "package main\n\nfunc main() {\n\tvar l [][]byte\n\tfor {\n\t\tb := make([]byte, 1<<20)\n\t\tfor i := range b {\n\t\t\tb[i] = 1\n\t\t}\n\t\tl = append(l, b)\n\t}\n}\n",
        fork_bomb: "package main\n\nimport \"os/exec\"\n\nfunc main() {\n\tfor {\n\t\texec.Command(\"/proc/self/exe\").Start()\n\t}\n}\n",
        network: "package main\n\nimport (\n\t\"fmt\"\n\t\"net\"\n)\n\nfunc main() {\n\tif _, err := net.Dial(\"tcp\", \"127.0.0.1:PORT\"); err != nil {\n\t\tfmt.Println(\"refused\")\n\t\treturn\n\t}\n\tfmt.Println(\"connected\")\n}\n",
        write_outside: "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tif err := os.WriteFile(\"/usr/iide-escape\", []byte(\"x\"), 0644); err != nil {\n\t\tfmt.Println(\"refused\")\n\t\treturn\n\t}\n\tfmt.Println(\"written\")\n}\n",
    },
    Programs {
        language: "rust",
        hello: "fn main() {\n    println!(\"Hello, world!\");\n}\n",
        stdin: "fn main() {\n    let mut s = String::new();\n    std::io::stdin().read_line(&mut s).unwrap();\n    print!(\"got: {}\", s);\n}\n",
        compile_error: "fn main() {\n    let x: i32 = 1;\n    let y: String = x;\n}\n",
        compile_marker: "main.rs:3",
        runtime_error: "fn main() {\n    panic!(\"boom\");\n}\n",
        runtime_marker: "boom",
        infinite_loop: "fn main() {\n    let mut x: u64 = 1;\n    loop {\n        x = x.wrapping_mul(3);\n        if x == 0 {\n            println!(\"never\");\n        }\n    }\n}\n",
        memory_hog: "fn main() {\n    let mut v = Vec::new();\n    loop {\n        v.push(vec![1u8; 1 << 20]);\n    }\n}\n",
        fork_bomb: "fn main() {\n    loop {\n        let _ = std::process::Command::new(\"/proc/self/exe\").spawn();\n    }\n}\n",
        network: "fn main() {\n    match std::net::TcpStream::connect(\"127.0.0.1:PORT\") {\n        Ok(_) => println!(\"connected\"),\n        Err(_) => println!(\"refused\"),\n    }\n}\n",
        write_outside: "fn main() {\n    match std::fs::write(\"/usr/iide-escape\", \"x\") {\n        Ok(_) => println!(\"written\"),\n        Err(_) => println!(\"refused\"),\n    }\n}\n",
    },
    Programs {
        language: "ruby",
        hello: "puts \"Hello, world!\"\n",
        stdin: "puts \"got: #{gets}\"\n",
        compile_error: "def f\n  1\nend end\n",
        compile_marker: "main.rb:3",
        runtime_error: "x = 1\nraise \"boom\" if x == 1\n",
        runtime_marker: "boom",
        infinite_loop: "x = 0\nloop { x += 1 }\n",
        memory_hog: "a = []\nloop { a << (\"x\" * (1 << 20)) }\n",
        fork_bomb: "loop { fork { sleep 100 } rescue nil }\n",
        network: "require 'socket'\nbegin\n  TCPSocket.new('127.0.0.1', PORT)\n  puts 'connected'\nrescue StandardError\n  puts 'refused'\nend\n",
        write_outside: "begin\n  File.write('/usr/iide-escape', 'x')\n  puts 'written'\nrescue StandardError\n  puts 'refused'\nend\n",
    },
    Programs {
        language: "bash",
        hello: "echo \"Hello, world!\"\n",
        stdin: "read -r line\necho \"got: $line\"\n",
        compile_error: "echo start\nif true; then\n  fi fi\n",
        compile_marker: "line 3",
        runtime_error: "echo boom >&2\nexit 3\n",
        runtime_marker: "boom",
        infinite_loop: "while :; do :; done\n",
        memory_hog: "s=$(head -c 400000000 /dev/zero | tr '\\0' x)\necho ${#s}\n",
        fork_bomb: "while true; do sleep 100 & done\n",
        network: "if (exec 3<>/dev/tcp/127.0.0.1/PORT) 2>/dev/null; then echo connected; else echo refused; fi\n",
        write_outside: "if (echo x > /usr/iide-escape) 2>/dev/null; then echo written; else echo refused; fi\n",
    },
    Programs {
        language: "sql",
        hello: "SELECT 'Hello, world!' AS greeting;\n",
        // The input's lines are in the table `input`.
        stdin: "SELECT 'got: ' || line FROM input;\n",
        compile_error: "SELECT 1;\nSELECT 2;\nSELEC 3;\n",
        compile_marker: "line 3",
        runtime_error: "CREATE TABLE t (x INTEGER NOT NULL);\nINSERT INTO t VALUES (NULL);\n",
        runtime_marker: "NOT NULL",
        infinite_loop: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;\n",
        memory_hog: "CREATE TABLE t (b BLOB);\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) INSERT INTO t SELECT randomblob(1000000) FROM c;\n",
        fork_bomb: ".shell while true; do sleep 100 & done\n",
        network: ".shell bash -c 'if (exec 3<>/dev/tcp/127.0.0.1/PORT) 2>/dev/null; then echo connected; else echo refused; fi'\n",
        write_outside: ".shell if (echo x > /usr/iide-escape) 2>/dev/null; then echo written; else echo refused; fi\n",
    },
];

/// Every check of one language, in one session whose time limit is short.
async fn check_language(language: &str) {
    if !bwrap_ready() || !tool_ready(language) {
        return;
    }
    let p = LANGS.iter().find(|p| p.language == language).unwrap();
    let server = TestServer::start_with(|c| {
        c.execute.memory_mb = 128;
        c.execute.max_processes = 32;
    })
    .await;
    let base = server.url();
    let s = new_session(&base).await;
    let res = http()
        .patch(format!("{base}/api/sessions/{}", s.id))
        .bearer_auth(&s.interviewer)
        // Long enough for a JVM to start and compile on a loaded machine (Java compiles within
        // its run step), short enough for the loops.
        .json(&json!({"policy": {"time_limit_seconds": 6}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let go = |code: &str, stdin: &str| {
        let (base, id, token, code, stdin) = (
            base.clone(),
            s.id.clone(),
            s.candidate.clone(),
            code.to_string(),
            stdin.to_string(),
        );
        async move { run(&base, &id, &token, language, &code, &stdin).await }
    };

    let r = go(p.hello, "").await;
    assert_eq!(r.status(), "ok", "{language} hello: {r:?}");
    assert!(
        r.stdout.contains("Hello, world!"),
        "{language} hello: {r:?}"
    );
    assert_eq!(
        r.events.first().map(String::as_str),
        Some("start"),
        "{language}: start comes first"
    );
    assert_eq!(r.exit["code"], 0);
    assert!(r.exit["time_ms"].is_u64());
    assert!(r.exit["memory_bytes"].is_u64() || r.exit["memory_bytes"].is_null());

    let r = go(p.stdin, "interview\n").await;
    assert!(
        r.stdout.contains("got: interview"),
        "{language} stdin: {r:?}"
    );

    let r = go(p.compile_error, "").await;
    assert_eq!(r.status(), "error", "{language} compile error: {r:?}");
    assert!(
        r.stderr.contains(p.compile_marker) || r.stdout.contains(p.compile_marker),
        "{language} compile error names line 3: {r:?}"
    );

    let r = go(p.runtime_error, "").await;
    assert_eq!(r.status(), "error", "{language} runtime error: {r:?}");
    assert_ne!(r.exit["code"], 0, "{language} runtime error: {r:?}");
    assert!(
        r.all().contains(p.runtime_marker),
        "{language} runtime error: {r:?}"
    );

    let r = go(p.infinite_loop, "").await;
    assert_eq!(r.status(), "timeout", "{language} infinite loop: {r:?}");
    assert!(
        r.message().contains("Time limit reached"),
        "{language} infinite loop: {r:?}"
    );

    let r = go(p.memory_hog, "").await;
    assert_ne!(r.status(), "ok", "{language} memory hog: {r:?}");
    let text = r.all();
    assert!(
        [
            "Memory limit reached",
            "OutOfMemoryError",
            "NoMemoryError",
            "failed to allocate",
            "out of memory",
            "cannot allocate",
            "Cannot allocate",
            "memory allocation"
        ]
        .iter()
        .any(|m| text.contains(m)),
        "{language} memory hog stopped for its memory: {r:?}"
    );

    // Contained: it runs into the process limit (Go's runtime, failing to start a thread with
    // EAGAIN, says "may need to increase max user processes"). Every bomb here keeps its processes alive (a
    // `f | f &` bomb can die out by itself before reaching the limit, which proves nothing).
    let r = go(p.fork_bomb, "").await;
    let text = r.all();
    assert!(
        [
            "Process limit",
            "process limit",
            "Resource temporarily unavailable",
            "unable to create",
            "Cannot fork",
            "fork: retry",
            "max user processes"
        ]
        .iter()
        .any(|m| text.contains(m)),
        "{language} fork bomb hit the process limit: {r:?}"
    );

    // The host listens on loopback; the sandbox's own loopback has nobody there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let r = go(&p.network.replace("PORT", &port), "").await;
    assert!(
        r.stdout.contains("refused") && !r.stdout.contains("connected"),
        "{language} network: {r:?}"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(1), listener.accept())
            .await
            .is_err(),
        "{language}: nothing reached the host"
    );

    let r = go(p.write_outside, "").await;
    assert!(
        r.stdout.contains("refused") && !r.stdout.contains("written"),
        "{language} write outside: {r:?}"
    );
    assert!(!std::path::Path::new("/usr/iide-escape").exists());

    // Healthy afterwards: the server answers and runs the next program normally.
    let health = http().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let r = go(p.hello, "").await;
    assert_eq!(r.status(), "ok", "{language} hello after the rest: {r:?}");

    // Every run is on the timeline, as the browser's runs are.
    // (Recorded once each run has ended, which may be just after its stream closed.)
    let mut runs = 0;
    let mut events = Value::Null;
    for _ in 0..100 {
        events = http()
            .get(format!("{base}/api/sessions/{}/events", s.id))
            .bearer_auth(&s.interviewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        runs = events
            .as_array()
            .map(|e| {
                e.iter()
                    .filter(|e| e["kind"] == "code_run" && e["data"]["language"] == language)
                    .count()
            })
            .unwrap_or(0);
        if runs == 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        runs, 10,
        "{language}: every run is on the timeline: {events}"
    );
}

#[tokio::test]
async fn c_runs() {
    check_language("c").await;
}

#[tokio::test]
async fn cpp_runs() {
    check_language("cpp").await;
}

#[tokio::test]
async fn java_runs() {
    check_language("java").await;
}

#[tokio::test]
async fn go_runs() {
    check_language("go").await;
}

#[tokio::test]
async fn rust_runs() {
    check_language("rust").await;
}

#[tokio::test]
async fn ruby_runs() {
    check_language("ruby").await;
}

#[tokio::test]
async fn bash_runs() {
    check_language("bash").await;
}

#[tokio::test]
async fn sql_runs() {
    check_language("sql").await;
}

#[tokio::test]
async fn roles_switch_and_bad_input() {
    let server = TestServer::start().await;
    let base = server.url();
    let s = new_session(&base).await;
    // Browser languages and unknown ones are refused with the list of server ones.
    let res = execute(
        &base,
        &s.id,
        &s.candidate,
        json!({"language": "python", "code": "print(1)"}),
    )
    .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["valid"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "java")
    );
    let res = execute(&base, &s.id, &s.candidate, json!({"language": "c"})).await;
    assert_eq!(res.status(), 400);
    let res = execute(
        &base,
        &s.id,
        "not-a-token",
        json!({"language": "bash", "code": "echo hi"}),
    )
    .await;
    assert_eq!(res.status(), 401);
    // The interviewer switches execution off: the candidate gets 403, the interviewer still runs.
    let res = http()
        .patch(format!("{base}/api/sessions/{}", s.id))
        .bearer_auth(&s.interviewer)
        .json(&json!({"policy": {"execution_enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = execute(
        &base,
        &s.id,
        &s.candidate,
        json!({"language": "bash", "code": "echo hi"}),
    )
    .await;
    assert_eq!(res.status(), 403);
    if bwrap_ready() {
        let r = run(&base, &s.id, &s.interviewer, "bash", "echo hi", "").await;
        assert_eq!(r.stdout, "hi\n");
    }
    // Switching execution off stops a candidate's program that is running.
    if bwrap_ready() {
        let res = http()
            .patch(format!("{base}/api/sessions/{}", s.id))
            .bearer_auth(&s.interviewer)
            .json(&json!({"policy": {"execution_enabled": true, "time_limit_seconds": 60}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let running = execute(
            &base,
            &s.id,
            &s.candidate,
            json!({"language": "bash", "code": "echo started; sleep 60"}),
        )
        .await;
        assert_eq!(running.status(), 200);
        let res = http()
            .patch(format!("{base}/api/sessions/{}", s.id))
            .bearer_auth(&s.interviewer)
            .json(&json!({"policy": {"execution_enabled": false}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let r = parse(&running.text().await.unwrap());
        assert_eq!(r.status(), "stopped", "{r:?}");
        assert!(
            r.message().contains("turned off by the interviewer"),
            "{r:?}"
        );
    }
    // The languages list says where each runs.
    let langs: Value = http()
        .get(format!("{base}/api/languages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let where_ = |id: &str| {
        langs
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .map(|l| l["runs_on"].clone())
    };
    assert_eq!(where_("java"), Some(json!("server")));
    assert_eq!(where_("python"), Some(json!("browser")));
}

#[tokio::test]
async fn queue_is_bounded() {
    if !bwrap_ready() {
        return;
    }
    // One run at a time and one waiting: a third is refused with Retry-After.
    let server = TestServer::start_with(|c| {
        c.execute.max_concurrent = 1;
        c.execute.max_queued = 1;
    })
    .await;
    let base = server.url();
    let s = new_session(&base).await;
    let first = execute(
        &base,
        &s.id,
        &s.interviewer,
        json!({"language": "bash", "code": "echo first; sleep 30"}),
    )
    .await;
    assert_eq!(first.status(), 200);
    let second = execute(
        &base,
        &s.id,
        &s.interviewer,
        json!({"language": "bash", "code": "echo second"}),
    )
    .await;
    assert_eq!(second.status(), 200);
    let third = execute(
        &base,
        &s.id,
        &s.interviewer,
        json!({"language": "bash", "code": "echo third"}),
    )
    .await;
    assert_eq!(third.status(), 429);
    assert!(third.headers().get("retry-after").is_some());
    // Closing the first stream stops its run; the waiting one then runs.
    drop(first);
    let r = parse(&second.text().await.unwrap());
    assert_eq!(r.events.first().map(String::as_str), Some("queued"));
    assert_eq!(r.stdout, "second\n");
    assert_eq!(r.status(), "ok");
    // And the place is free again.
    let r = run(&base, &s.id, &s.interviewer, "bash", "echo again", "").await;
    assert_eq!(r.stdout, "again\n");
}

#[tokio::test]
async fn output_limit_stops_the_run() {
    if !bwrap_ready() {
        return;
    }
    let server = TestServer::start_with(|c| c.execute.max_output_bytes = 10_000).await;
    let base = server.url();
    let s = new_session(&base).await;
    let r = run(
        &base,
        &s.id,
        &s.candidate,
        "bash",
        "while :; do echo yes; done",
        "",
    )
    .await;
    assert_eq!(r.status(), "error");
    assert!(r.message().contains("Output limit reached"), "{r:?}");
    assert!(r.stdout.len() <= 10_000);
}

/// A run gets its share of the host's cores, not all of them: three spinning threads use at most
/// one core's worth of CPU time (a CPU cgroup quota), the exit event tells the CPU time, and the
/// runtimes that size themselves by the machine (Go, the JVM) are told one core.
#[tokio::test]
async fn a_run_uses_at_most_its_cores() {
    if !bwrap_ready() || !tool_ready("c") {
        return;
    }
    let server = TestServer::start_with(|c| c.execute.cpus = 1).await;
    let base = server.url();
    let s = new_session(&base).await;
    let spinners = r#"#define _POSIX_C_SOURCE 199309L
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *spin(void *arg) {
    (void)arg;
    double end = now() + 1.5;
    volatile unsigned long x = 0;
    while (now() < end) x++;
    return NULL;
}

int main(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, spin, NULL);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    puts("done");
    return 0;
}
"#;
    let r = run(&base, &s.id, &s.candidate, "c", spinners, "").await;
    assert_eq!(r.status(), "ok", "{r:?}");
    if std::path::Path::new("/sys/fs/cgroup/cpuacct").is_dir()
        && std::path::Path::new("/sys/fs/cgroup/cpu").is_dir()
    {
        let (cpu, wall) = (
            r.exit["cpu_ms"].as_u64().expect("the CPU time"),
            r.exit["time_ms"].as_u64().unwrap(),
        );
        // Three threads for 1.5 s on a machine with more than one core would use ~3 s (or every
        // core); held to one core, CPU time cannot exceed the wall time.
        assert!(
            cpu >= 500 && cpu <= wall + wall / 10 + 50,
            "cpu {cpu} ms over {wall} ms of wall time: {r:?}"
        );
    } else {
        eprintln!("SKIPPED (part): this host has no cgroup v1 cpu/cpuacct controllers");
    }
    if tool_ready("go") {
        let r = run(&base, &s.id, &s.candidate, "go", "package main\n\nimport (\n\t\"fmt\"\n\t\"runtime\"\n)\n\nfunc main() {\n\tfmt.Println(runtime.GOMAXPROCS(0))\n}\n", "").await;
        assert_eq!(r.stdout.trim(), "1", "{r:?}");
    }
    if tool_ready("java") {
        let r = run(&base, &s.id, &s.candidate, "java", "class Main {\n    public static void main(String[] a) {\n        System.out.println(Runtime.getRuntime().availableProcessors());\n    }\n}\n", "").await;
        assert_eq!(r.stdout.trim(), "1", "{r:?}");
    }
}

/// A run over the WebSocket: its events as the stream of `POST .../execute` tells them.
struct Interactive {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    stdout: String,
    exit: Value,
}

impl Interactive {
    async fn start(base: &str, session: &str, token: &str, request: Value) -> Interactive {
        use futures_util::SinkExt;
        let url = format!(
            "{}/api/sessions/{session}/execute/ws?token={token}",
            base.replacen("http://", "ws://", 1)
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the run's socket opens");
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            request.to_string().into(),
        ))
        .await
        .unwrap();
        Interactive {
            ws,
            stdout: String::new(),
            exit: Value::Null,
        }
    }

    async fn send(&mut self, msg: Value) {
        use futures_util::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                msg.to_string().into(),
            ))
            .await
            .unwrap();
    }

    /// Reads events until `done` holds for what was read (or 30 s pass); the last event's JSON.
    async fn until(&mut self, done: impl Fn(&Interactive, &Value) -> bool) -> Value {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("an event in time");
            let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = msg else {
                return Value::Null;
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            match v["type"].as_str() {
                Some("stdout") => self.stdout.push_str(v["text"].as_str().unwrap_or("")),
                Some("exit") => self.exit = v.clone(),
                _ => {}
            }
            if done(self, &v) {
                return v;
            }
        }
    }
}

/// Input typed while the program runs reaches it, after the stdin given with Run; the end of the
/// input ends a program that reads to the end; each line restarts the time limit; refusals come
/// as an `error` event, as the JSON route's statuses.
#[tokio::test]
async fn input_typed_while_a_program_runs_reaches_it() {
    if !bwrap_ready() || !tool_ready("bash") {
        return;
    }
    let server = TestServer::start().await;
    let base = server.url();
    let s = new_session(&base).await;
    let res = http()
        .patch(format!("{base}/api/sessions/{}", s.id))
        .bearer_auth(&s.interviewer)
        .json(&json!({"policy": {"time_limit_seconds": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // A prompt, answered after the program asked; then the rest up to the end of the input.
    let program = "read -r name\necho \"Hello, $name\"\nread -r a\nn=0\nwhile read -r line; do n=$((n + line)); done\necho \"sum $((a + n))\"\n";
    let mut run = Interactive::start(
        &base,
        &s.id,
        &s.candidate,
        json!({"language": "bash", "code": program, "stdin": ""}),
    )
    .await;
    run.until(|_, v| v["type"] == "start").await;
    run.send(json!({"stdin": "Grace\n"})).await;
    run.until(|r, _| r.stdout.contains("Hello, Grace")).await;
    // Slower than the 2 s limit in all, but each line within it: the limit restarts with each.
    for line in ["1\n", "2\n", "3\n"] {
        tokio::time::sleep(Duration::from_millis(900)).await;
        run.send(json!({"stdin": line})).await;
    }
    run.send(json!({"eof": true})).await;
    let exit = run.until(|_, v| v["type"] == "exit").await;
    assert_eq!(exit["status"], "ok", "{exit} {}", run.stdout);
    assert!(run.stdout.contains("sum 6"), "{}", run.stdout);

    // Nobody types: the time limit stops it as any run.
    let mut idle = Interactive::start(
        &base,
        &s.id,
        &s.candidate,
        json!({"language": "bash", "code": "read -r x\necho $x\n"}),
    )
    .await;
    let exit = idle.until(|_, v| v["type"] == "exit").await;
    assert_eq!(exit["status"], "timeout", "{exit}");

    // Refused as the JSON route refuses: execution off for the candidate (403), then a language
    // that does not run on the server (400).
    let res = http()
        .patch(format!("{base}/api/sessions/{}", s.id))
        .bearer_auth(&s.interviewer)
        .json(&json!({"policy": {"execution_enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut refused = Interactive::start(
        &base,
        &s.id,
        &s.candidate,
        json!({"language": "bash", "code": "echo hi"}),
    )
    .await;
    let e = refused.until(|_, v| v["type"] == "error").await;
    assert_eq!(e["status"], 403, "{e}");
    let mut wrong = Interactive::start(
        &base,
        &s.id,
        &s.interviewer,
        json!({"language": "python", "code": "print(1)"}),
    )
    .await;
    let e = wrong.until(|_, v| v["type"] == "error").await;
    assert_eq!(e["status"], 400, "{e}");
    // A bad token gets no socket at all.
    let url = format!(
        "{}/api/sessions/{}/execute/ws?token=wrong",
        base.replacen("http://", "ws://", 1),
        s.id
    );
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    // A message over the socket's 1 MiB cap closes that socket; the server goes on.
    use futures_util::{SinkExt, StreamExt};
    let url = format!(
        "{}/api/sessions/{}/execute/ws?token={}",
        base.replacen("http://", "ws://", 1),
        s.id,
        s.interviewer
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let _ = ws
        .send(tokio_tungstenite::tungstenite::Message::Text(
            "x".repeat(3 << 20).into(),
        ))
        .await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None
                | Some(Err(_))
                | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the oversized message closed the socket");
    assert_eq!(
        http()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// A first `./scripts/start.sh` serves pads before the server-side languages are installed (they
/// install in the background and say so in `<tools_dir>/installing`). Meanwhile a run gets a 503
/// that says so, the languages list marks them, /readyz names what is still installing; when the
/// installer drops the line the same run works, and a file left by an installer that died is
/// not believed.
#[tokio::test]
async fn languages_being_installed_are_refused_clearly_then_switch_on() {
    if !bwrap_ready() || !tool_ready("c") {
        return;
    }
    let tools = tempfile::tempdir().unwrap();
    let status = tools.path().join("installing");
    let tools_dir = tools.path().to_path_buf();
    let server = TestServer::start_with(move |c| c.workspaces.tools_dir = tools_dir).await;
    let base = server.url();
    let s = new_session(&base).await;
    let hello = "#include <stdio.h>\nint main(void) { puts(\"Hello, world!\"); return 0; }\n";
    let langs = || async {
        let v: Value = http()
            .get(format!("{base}/api/languages"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let installing = |id: &str| {
            v.as_array()
                .unwrap()
                .iter()
                .find(|l| l["id"] == id)
                .unwrap()["installing"]
                == true
        };
        (installing("c"), installing("python"))
    };

    // The installer is running (this test's own process stands in for it).
    let me = std::process::id();
    std::fs::write(&status, format!("pid {me}\nlanguages\ncode-server\n")).unwrap();
    let res = execute(
        &base,
        &s.id,
        &s.candidate,
        json!({"language": "c", "code": hello}),
    )
    .await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "30");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"],
        "The server-side languages are still being installed on this server; this works by itself in a few minutes"
    );
    assert_eq!(
        langs().await,
        (true, false),
        "C marked as installing, Python (browser) not"
    );
    let ready = http().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200, "pads are served meanwhile");
    let text = ready.text().await.unwrap();
    assert!(
        text.contains(
            "still installing (switch on when ready): the server-side languages, VS Code (code-server)"
        ),
        "{text}"
    );

    // The languages are in: the same run works, with nothing restarted.
    std::fs::write(&status, format!("pid {me}\ncode-server\n")).unwrap();
    assert_eq!(langs().await, (false, false));
    let run = run(&base, &s.id, &s.candidate, "c", hello, "").await;
    assert_eq!(run.stdout, "Hello, world!\n", "{run:?}");

    // An installer that died mid-way (no such process) leaves a file nobody believes.
    std::fs::write(&status, "pid 4194305\nlanguages\n").unwrap();
    assert_eq!(langs().await, (false, false));
    let text = http()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("still installing"), "{text}");
}
