//! The question library: questions with a Markdown description, starter code per language and
//! tests (an input fed to the program's stdin and the output expected on its stdout), each visible
//! to the candidate or hidden. The server's own library is the `questions/` folder (one TOML file
//! per question), stored at start and read-only; each team also writes questions of its own
//! (`owner_team_id`), which no other team sees.
//!
//! Tests run on the server, in the code-run sandbox, for every language (Python and JavaScript
//! too, whose Run happens in the browser): hidden tests never leave the server, and only the
//! interviewer runs them or sees them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::execute::{Executor, test_language, test_language_ids};
use crate::ids::SessionId;
use crate::sessions::{Caller, Role};
use crate::store::{QuestionRow, Store, StoreError};
use crate::util::now_ms;

#[derive(Debug, thiserror::Error)]
pub enum QuestionError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many code runs are waiting; try again in {0} s")]
    Busy(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, QuestionError>;

/// One test: the program reads `input` and must print `expected` (trailing spaces and blank
/// lines at the end do not count).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestCase {
    pub name: String,
    #[serde(default)]
    pub input: String,
    pub expected: String,
    #[serde(default)]
    pub hidden: bool,
}

/// A question file of the library.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionFile {
    title: String,
    description: String,
    /// Starter code by language; a language without one gets `starter_template`.
    #[serde(default)]
    starters: BTreeMap<String, String>,
    #[serde(default)]
    tests: Vec<TestCase>,
}

/// A question as saved through the API: what a library file holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub starters: BTreeMap<String, String>,
    #[serde(default)]
    pub tests: Vec<TestCase>,
}

/// Whose a question is: the server's library (read-only) or the caller's team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    Library,
    Team,
}

/// A question as listed (no tests, no starters).
#[derive(Debug, Serialize)]
pub struct QuestionSummary {
    pub id: String,
    pub title: String,
    pub tests: usize,
    pub hidden_tests: usize,
    pub owner: Owner,
    pub updated_at: i64,
}

/// A question whole, for the interviewers who may use it (hidden tests included, starters only
/// where the question has its own).
#[derive(Debug, Serialize)]
pub struct QuestionFull {
    pub id: String,
    pub title: String,
    pub description: String,
    pub starters: BTreeMap<String, String>,
    pub tests: Vec<TestCase>,
    pub owner: Owner,
    pub updated_at: i64,
}

/// A session's question as a participant sees it: the candidate gets the visible tests only.
#[derive(Debug, Serialize)]
pub struct QuestionView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub starters: BTreeMap<String, String>,
    pub tests: Vec<TestCase>,
    /// How many tests only the interviewer runs.
    pub hidden_tests: usize,
}

/// One test's result. The candidate only ever gets results of visible tests.
#[derive(Debug, Serialize)]
pub struct TestResult {
    pub name: String,
    pub hidden: bool,
    pub passed: bool,
    /// The run's status (`ok`, `error`, `timeout`...).
    pub status: String,
    pub time_ms: u64,
    pub input: String,
    pub expected: String,
    pub actual: String,
    pub stderr: String,
    pub message: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TestReport {
    pub language: String,
    pub passed: usize,
    pub failed: usize,
    pub results: Vec<TestResult>,
}

#[derive(Clone)]
pub struct Questions {
    store: Store,
    executor: Arc<Executor>,
}

impl Questions {
    pub fn new(store: Store, executor: Arc<Executor>) -> Questions {
        Questions { store, executor }
    }

    /// Stores the library folder's questions (new ones added, changed ones updated).
    pub async fn load_library(&self, dir: &Path) -> anyhow::Result<usize> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            tracing::info!(dir = %dir.display(), "no question library folder");
            return Ok(0);
        };
        let mut files: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        let now = now_ms();
        for path in &files {
            let id = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let text = std::fs::read_to_string(path)?;
            let q: QuestionFile = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("question {}: {e}", path.display()))?;
            let row = QuestionRow {
                id,
                title: q.title,
                description: q.description,
                starters: serde_json::to_string(&q.starters)?,
                tests: serde_json::to_string(&q.tests)?,
                owner_team_id: None,
                created_by: None,
                created_at: now,
                updated_at: now,
                deleted_at: None,
            };
            self.store.upsert_question(&row).await?;
        }
        Ok(files.len())
    }

    /// Saves a question of the server's library (new, or replacing the one with that id).
    pub async fn save(&self, id: &str, q: QuestionInput) -> Result<()> {
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(QuestionError::Invalid(
                "a question id is 1..=64 characters of a-z, 0-9 and -".into(),
            ));
        }
        if self
            .store
            .question(id)
            .await?
            .is_some_and(|q| q.owner_team_id.is_some())
        {
            return Err(QuestionError::Conflict(format!(
                "'{id}' is a team's question, not the library's"
            )));
        }
        let row = row_of(id.to_string(), validated(q)?, None, None);
        Ok(self.store.upsert_question(&row).await?)
    }

    /// The questions `team_id` may use: the server's library, then the team's own.
    pub async fn list(&self, team_id: &str) -> Result<Vec<QuestionSummary>> {
        let mut list: Vec<QuestionSummary> = self
            .store
            .list_questions(team_id)
            .await?
            .into_iter()
            .map(|q| {
                let tests = tests_of(&q);
                QuestionSummary {
                    tests: tests.len(),
                    hidden_tests: tests.iter().filter(|t| t.hidden).count(),
                    owner: owner_of(&q),
                    updated_at: q.updated_at,
                    id: q.id,
                    title: q.title,
                }
            })
            .collect();
        list.sort_by_key(|q| q.owner == Owner::Team);
        Ok(list)
    }

    /// A question whole (hidden tests included), for an interviewer of a team that may use it.
    pub async fn get(&self, team_id: &str, id: &str) -> Result<QuestionFull> {
        let q = self.visible(team_id, id).await?;
        Ok(QuestionFull {
            owner: owner_of(&q),
            starters: starters_of(&q),
            tests: tests_of(&q),
            id: q.id,
            title: q.title,
            description: q.description,
            updated_at: q.updated_at,
        })
    }

    /// A new question of the caller's team; its id is made from its title.
    pub async fn create(&self, team_id: &str, user_id: &str, q: QuestionInput) -> Result<String> {
        let q = validated(q)?;
        let mut row = row_of(String::new(), q, Some(team_id), Some(user_id));
        // Never an upsert: an id that is taken (another team's, by chance) is drawn again.
        for _ in 0..5 {
            row.id = format!(
                "{}-{:06x}",
                slug(&row.title),
                rand::random::<u32>() & 0xff_ffff
            );
            if self.store.insert_question(&row).await? {
                return Ok(row.id);
            }
        }
        Err(QuestionError::Conflict(
            "could not find a free id for the question; try again".into(),
        ))
    }

    /// Replaces a question of the caller's team (the library's are read-only: copy one to change it).
    pub async fn update(&self, team_id: &str, id: &str, q: QuestionInput) -> Result<()> {
        let q = validated(q)?;
        self.team_owned(
            team_id,
            id,
            "the server's library questions are read-only: make a copy for your team to change one",
        )
        .await?;
        if !self
            .store
            .update_team_question(team_id, &row_of(id.to_string(), q, Some(team_id), None))
            .await?
        {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// Deletes a question of the caller's team; sessions made from it keep it.
    pub async fn delete(&self, team_id: &str, id: &str) -> Result<()> {
        self.team_owned(
            team_id,
            id,
            "the server's library questions cannot be deleted",
        )
        .await?;
        if !self
            .store
            .delete_team_question(team_id, id, now_ms())
            .await?
        {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// Refuses `id` unless it is `team_id`'s own: the library's with `library_refusal` (403).
    async fn team_owned(&self, team_id: &str, id: &str, library_refusal: &str) -> Result<()> {
        match owner_of(&self.visible(team_id, id).await?) {
            Owner::Team => Ok(()),
            Owner::Library => Err(QuestionError::Forbidden(library_refusal.into())),
        }
    }

    /// The question if `team_id` may use it; another team's is as unknown as a missing one.
    async fn visible(&self, team_id: &str, id: &str) -> Result<QuestionRow> {
        match self.store.question(id).await? {
            Some(q)
                if q.deleted_at.is_none()
                    && q.owner_team_id.as_deref().is_none_or(|t| t == team_id) =>
            {
                Ok(q)
            }
            _ => Err(not_found(id)),
        }
    }

    /// The title of a question and its starter in a language, for a session made from it.
    pub async fn start(
        &self,
        team_id: &str,
        id: &str,
        language: &str,
    ) -> Result<Option<(String, String)>> {
        let q = match self.visible(team_id, id).await {
            Ok(q) => q,
            Err(QuestionError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let starter = starters_of(&q)
            .remove(language)
            .unwrap_or_else(|| starter_template(language));
        Ok(Some((q.title, starter)))
    }

    /// For a session made from a question: its starters in the languages `from` and `to`.
    pub async fn starters_for(
        &self,
        session_id: &SessionId,
        from: &str,
        to: &str,
    ) -> Result<Option<(String, String)>> {
        let Some(q) = self.store.session_question(session_id).await? else {
            return Ok(None);
        };
        let mut starters = starters_of(&q);
        let mut take = |l: &str| starters.remove(l).unwrap_or_else(|| starter_template(l));
        Ok(Some((take(from), take(to))))
    }

    /// The session's question for this caller (hidden tests only for the interviewer); None when
    /// the session was not made from one.
    pub async fn for_session(&self, caller: &Caller) -> Result<Option<QuestionView>> {
        let Some(q) = self.store.session_question(&caller.session.id).await? else {
            return Ok(None);
        };
        let tests = tests_of(&q);
        let hidden_tests = tests.iter().filter(|t| t.hidden).count();
        let mut starters = starters_of(&q);
        for lang in crate::sessions::LANGUAGES {
            if lang.id != "plaintext" {
                starters
                    .entry(lang.id.to_string())
                    .or_insert_with(|| starter_template(lang.id));
            }
        }
        let tests = tests
            .into_iter()
            .filter(|t| caller.role == Role::Interviewer || !t.hidden)
            .collect();
        Ok(Some(QuestionView {
            id: q.id,
            title: q.title,
            description: q.description,
            starters,
            tests,
            hidden_tests,
        }))
    }

    /// Runs the session question's tests on `code`: the visible ones for the candidate, all of
    /// them for the interviewer.
    pub async fn run_tests(
        &self,
        caller: &Caller,
        language: &str,
        code: &str,
    ) -> Result<TestReport> {
        if caller.session.ended_at.is_some() {
            return Err(QuestionError::Conflict("the session has ended".into()));
        }
        let lang = test_language(language).ok_or_else(|| {
            QuestionError::Invalid(format!("tests run for: {}", test_language_ids().join(", ")))
        })?;
        let q = self
            .store
            .session_question(&caller.session.id)
            .await?
            .ok_or_else(|| QuestionError::NotFound("this session has no question".into()))?;
        let tests: Vec<TestCase> = tests_of(&q)
            .into_iter()
            .filter(|t| caller.role == Role::Interviewer || !t.hidden)
            .collect();
        if tests.is_empty() {
            return Ok(TestReport {
                language: language.into(),
                passed: 0,
                failed: 0,
                results: Vec::new(),
            });
        }
        let ticket = self
            .executor
            .admit()
            .map_err(|b| QuestionError::Busy(b.retry_after_secs))?;
        let inputs: Vec<String> = tests.iter().map(|t| t.input.clone()).collect();
        let limit = Duration::from_secs(caller.session.policy.time_limit_seconds.max(1) as u64);
        let runs = self
            .executor
            .run_batch(ticket, lang, code, &inputs, limit)
            .await;
        let results: Vec<TestResult> = tests
            .into_iter()
            .zip(runs)
            .map(|(t, r)| TestResult {
                passed: r.outcome.status == "ok" && same_output(&r.stdout, &t.expected),
                status: r.outcome.status.to_string(),
                time_ms: r.outcome.time_ms,
                actual: r.stdout,
                stderr: r.stderr,
                message: r.outcome.message,
                name: t.name,
                hidden: t.hidden,
                input: t.input,
                expected: t.expected,
            })
            .collect();
        let passed = results.iter().filter(|r| r.passed).count();
        Ok(TestReport {
            language: language.into(),
            passed,
            failed: results.len() - passed,
            results,
        })
    }
}

fn owner_of(q: &QuestionRow) -> Owner {
    if q.owner_team_id.is_some() {
        Owner::Team
    } else {
        Owner::Library
    }
}

fn not_found(id: &str) -> QuestionError {
    QuestionError::NotFound(format!(
        "no question '{}'",
        id.chars().take(100).collect::<String>()
    ))
}

/// What makes a question usable, checked on every save.
fn validated(mut q: QuestionInput) -> Result<QuestionInput> {
    let invalid = |m: String| Err(QuestionError::Invalid(m));
    q.title = q.title.trim().to_string();
    if q.title.is_empty() || q.title.chars().count() > 200 {
        return invalid("title must be 1..=200 characters".into());
    }
    if q.description.chars().count() > 20_000 {
        return invalid("description must be at most 20,000 characters".into());
    }
    if q.tests.len() > 50
        || q.tests
            .iter()
            .any(|t| t.name.trim().is_empty() || t.name.chars().count() > 200)
    {
        return invalid("at most 50 tests, each with a name of 1..=200 characters".into());
    }
    if let Some(t) = q
        .tests
        .iter()
        .find(|t| t.input.len() > MAX_TEXT_BYTES || t.expected.len() > MAX_TEXT_BYTES)
    {
        return invalid(format!(
            "test '{}': input and expected output must be at most 64 KiB each",
            t.name
        ));
    }
    let mut names = std::collections::HashSet::new();
    if let Some(t) = q.tests.iter().find(|t| !names.insert(t.name.trim())) {
        return invalid(format!("two tests are named '{}'", t.name.trim()));
    }
    if let Some(lang) = q
        .starters
        .keys()
        .find(|l| crate::sessions::language(l).is_none())
    {
        return invalid(format!("unknown language '{lang}' in starters"));
    }
    if let Some((lang, _)) = q
        .starters
        .iter()
        .find(|(_, code)| code.len() > MAX_TEXT_BYTES)
    {
        return invalid(format!("the {lang} starter must be at most 64 KiB"));
    }
    // An empty starter means "none": the language's template is used.
    q.starters.retain(|_, code| !code.trim().is_empty());
    Ok(q)
}

const MAX_TEXT_BYTES: usize = 64 * 1024;

fn row_of(
    id: String,
    q: QuestionInput,
    team_id: Option<&str>,
    user_id: Option<&str>,
) -> QuestionRow {
    let now = now_ms();
    QuestionRow {
        id,
        title: q.title,
        description: q.description,
        starters: serde_json::to_string(&q.starters).unwrap_or_default(),
        tests: serde_json::to_string(&q.tests).unwrap_or_default(),
        owner_team_id: team_id.map(str::to_string),
        created_by: user_id.map(str::to_string),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

/// `Two Sum (hard)` -> `two-sum-hard`: readable ids in links and logs.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "question".into()
    } else {
        out
    }
}

fn tests_of(q: &QuestionRow) -> Vec<TestCase> {
    serde_json::from_str(&q.tests).unwrap_or_default()
}

fn starters_of(q: &QuestionRow) -> BTreeMap<String, String> {
    serde_json::from_str(&q.starters).unwrap_or_default()
}

/// Outputs match when they do line by line, ignoring trailing spaces and trailing blank lines.
pub fn same_output(actual: &str, expected: &str) -> bool {
    let norm = |s: &str| {
        let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
        let end = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(0, |i| i + 1);
        lines[..end].join("\n")
    };
    norm(actual) == norm(expected)
}

/// The starter of a language for a question that has none of its own: read the whole input,
/// hand it to `solve`, print what it returns. The candidate writes `solve`.
pub fn starter_template(language: &str) -> String {
    match language {
        "python" => "import sys\n\n\ndef solve(data: str) -> str:\n    # Parse the input and return the answer.\n    return \"\"\n\n\nprint(solve(sys.stdin.read()))\n",
        "javascript" => "const data = require('fs').readFileSync(0, 'utf8');\n\nfunction solve(data) {\n  // Parse the input and return the answer.\n  return '';\n}\n\nconsole.log(solve(data));\n",
        "typescript" => "function solve(data: string): string {\n  // Parse the input and return the answer.\n  return '';\n}\n",
        "c" => "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\nint main(void) {\n    // Read the input with scanf and print the answer.\n    return 0;\n}\n",
        "cpp" => "#include <bits/stdc++.h>\nusing namespace std;\n\nint main() {\n    // Read the input from cin and print the answer.\n    return 0;\n}\n",
        "java" => "import java.util.*;\n\nclass Main {\n    public static void main(String[] args) {\n        Scanner in = new Scanner(System.in);\n        // Read the input and print the answer.\n    }\n}\n",
        "go" => "package main\n\nimport (\n\t\"bufio\"\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tin := bufio.NewReader(os.Stdin)\n\t// Read the input (fmt.Fscan(in, &x)) and print the answer.\n\t_ = in\n\tfmt.Print(\"\")\n}\n",
        "rust" => "use std::io::Read;\n\nfn solve(data: &str) -> String {\n    // Parse the input and return the answer.\n    let _ = data;\n    String::new()\n}\n\nfn main() {\n    let mut data = String::new();\n    std::io::stdin().read_to_string(&mut data).unwrap();\n    println!(\"{}\", solve(&data));\n}\n",
        "ruby" => "def solve(data)\n  # Parse the input and return the answer.\n  \"\"\nend\n\nputs solve($stdin.read)\n",
        "bash" => "# Read the input from stdin and print the answer.\nwhile read -r line; do\n  :\ndone\n",
        "sql" => "-- Write the query.\n",
        _ => "",
    }
    .to_string()
}
