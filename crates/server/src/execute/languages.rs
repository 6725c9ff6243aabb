//! The languages that run on the server, and how: the source file, an optional compile step and
//! the run step, each an argv run inside the sandbox's folder (`/box`). The compilers and runtimes
//! are Debian packages (scripts/lib.sh `ensure_languages` installs them).

/// A server-side language.
pub struct ServerLanguage {
    pub id: &'static str,
    pub name: &'static str,
    /// The file the code is written to, in the run's folder.
    pub file: &'static str,
    /// Compiles the file (its diagnostics name the file and line); None for interpreted languages.
    pub compile: Option<&'static [&'static str]>,
    /// Runs the program. `{heap_mb}` is replaced by the heap a JVM may use, `{cpus}` (here and in
    /// `env`) by the cores a run may use.
    pub run: &'static [&'static str],
    /// Environment for both steps.
    pub env: &'static [(&'static str, &'static str)],
    /// Reserves far more address space than it uses (JVM, Go): no address-space limit where
    /// memory cgroups are missing.
    pub big_address_space: bool,
    /// /etc entries its tools read.
    pub etc: &'static [&'static str],
    /// The command whose presence in /usr/bin says its tools are installed.
    pub tool: &'static str,
    /// Runs in the browser for Run; the server runs it only for a question's tests (hidden
    /// tests never reach the browser).
    pub tests_only: bool,
}

pub const SERVER_LANGUAGES: &[ServerLanguage] = &[
    ServerLanguage {
        id: "c",
        name: "C",
        file: "main.c",
        compile: Some(&[
            "gcc", "-std=c17", "-O1", "-pipe", "-Wall", "-o", "main", "main.c", "-lm",
        ]),
        run: &["./main"],
        env: &[],
        big_address_space: false,
        etc: &[],
        tool: "gcc",
        tests_only: false,
    },
    ServerLanguage {
        id: "cpp",
        name: "C++",
        file: "main.cpp",
        compile: Some(&[
            "g++",
            "-std=c++17",
            "-O1",
            "-pipe",
            "-Wall",
            "-o",
            "main",
            "main.cpp",
        ]),
        run: &["./main"],
        env: &[],
        big_address_space: false,
        etc: &[],
        tool: "g++",
        tests_only: false,
    },
    ServerLanguage {
        id: "java",
        name: "Java",
        // The source launcher compiles in memory and runs in one JVM: one start instead of two.
        file: "Main.java",
        compile: None,
        run: &[
            "java",
            "-Xmx{heap_mb}m",
            "-Xss16m",
            "-XX:+UseSerialGC",
            "-XX:ActiveProcessorCount={cpus}",
            "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData",
            "-Xshare:auto",
            "Main.java",
        ],
        env: &[],
        big_address_space: true,
        etc: &["java-17-openjdk", "java-21-openjdk"],
        tool: "java",
        tests_only: false,
    },
    ServerLanguage {
        id: "go",
        name: "Go",
        file: "main.go",
        compile: Some(&["go", "build", "-o", "main", "main.go"]),
        run: &["./main"],
        env: &[
            ("GOCACHE", "/tmp/go-cache"),
            ("GOPATH", "/tmp/go"),
            ("CGO_ENABLED", "0"),
            ("GO111MODULE", "off"),
            ("GOTOOLCHAIN", "local"),
            ("GOMAXPROCS", "{cpus}"),
        ],
        big_address_space: true,
        etc: &[],
        tool: "go",
        tests_only: false,
    },
    ServerLanguage {
        id: "rust",
        name: "Rust",
        file: "main.rs",
        compile: Some(&[
            "rustc",
            "--edition",
            "2021",
            "-C",
            "debuginfo=0",
            "-o",
            "main",
            "main.rs",
        ]),
        run: &["./main"],
        env: &[],
        big_address_space: false,
        etc: &[],
        tool: "rustc",
        tests_only: false,
    },
    ServerLanguage {
        id: "ruby",
        name: "Ruby",
        file: "main.rb",
        compile: None,
        run: &["ruby", "main.rb"],
        env: &[],
        big_address_space: false,
        etc: &[],
        tool: "ruby",
        tests_only: false,
    },
    ServerLanguage {
        id: "bash",
        name: "Bash",
        file: "main.sh",
        compile: None,
        run: &["bash", "main.sh"],
        env: &[],
        big_address_space: false,
        etc: &[],
        tool: "bash",
        tests_only: false,
    },
    ServerLanguage {
        id: "sql",
        name: "SQL (SQLite)",
        file: "main.sql",
        compile: None,
        // An in-memory database per run, its input lines in the table `input(line)` (through cat:
        // the run's uid may not open /dev/stdin, a pipe the server made); the output
        // is sqlite3's default list mode (tests compare it); errors name the line ("Parse error
        // near line 3").
        run: &[
            "sqlite3",
            "-bail",
            "-batch",
            ":memory:",
            "CREATE TABLE input (line TEXT)",
            ".separator \u{1f}",
            ".import '|cat' input",
            ".separator |",
            ".read main.sql",
        ],
        env: &[],
        big_address_space: false,
        etc: &[],
        tool: "sqlite3",
        tests_only: false,
    },
    ServerLanguage {
        id: "python",
        name: "Python",
        file: "main.py",
        compile: None,
        run: &["python3", "-I", "main.py"],
        env: &[],
        big_address_space: false,
        etc: &[],
        tool: "python3",
        tests_only: true,
    },
    ServerLanguage {
        id: "javascript",
        name: "JavaScript",
        file: "main.js",
        compile: None,
        run: &["node", "main.js"],
        env: &[],
        big_address_space: true,
        etc: &[],
        tool: "node",
        tests_only: true,
    },
    ServerLanguage {
        id: "typescript",
        name: "TypeScript",
        file: "main.ts",
        // Types are stripped, not checked, as in the browser's Run: the tests judge the same program
        // the candidate ran. CommonJS, so `require('fs')` reads stdin as in JavaScript.
        compile: Some(&[
            "esbuild",
            "main.ts",
            "--outfile=main.js",
            "--format=cjs",
            "--platform=node",
            "--log-level=warning",
        ]),
        run: &["node", "main.js"],
        env: &[],
        big_address_space: true,
        etc: &[],
        tool: "esbuild",
        tests_only: true,
    },
];

/// A language whose Run happens on the server.
pub fn server_language(id: &str) -> Option<&'static ServerLanguage> {
    SERVER_LANGUAGES
        .iter()
        .find(|l| l.id == id && !l.tests_only)
}

/// A language whose tests the server can run (the server-side ones and the browser's three).
pub fn test_language(id: &str) -> Option<&'static ServerLanguage> {
    SERVER_LANGUAGES.iter().find(|l| l.id == id)
}

/// Ids of the languages that run on the server, for error messages and the languages list.
pub fn server_language_ids() -> Vec<String> {
    SERVER_LANGUAGES
        .iter()
        .filter(|l| !l.tests_only)
        .map(|l| l.id.to_string())
        .collect()
}

/// Ids of the languages whose tests the server runs.
pub fn test_language_ids() -> Vec<String> {
    SERVER_LANGUAGES.iter().map(|l| l.id.to_string()).collect()
}
