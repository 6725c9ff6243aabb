//! The question library: the starter library's questions, a session made from one (its starter
//! code, its description), tests run as both roles (hidden tests only for the interviewer, and
//! never in anything the candidate can fetch), the timeline.

use std::time::Duration;

use crate::common::{TestServer, api_key, create_session, http};
use serde_json::{Value, json};

/// A solution of each library question, in Python (the server runs tests for every language).
const SOLUTIONS: &[(&str, &str)] = &[
    (
        "binary-search",
        r#"import sys
d=sys.stdin.read().split(); n=int(d[0]); a=list(map(int,d[1:1+n])); t=int(d[1+n]); lo,hi=0,n-1; r=-1
while lo<=hi:
    m=(lo+hi)//2
    if a[m]==t: r=m; break
    if a[m]<t: lo=m+1
    else: hi=m-1
print(r)
"#,
    ),
    (
        "fibonacci",
        r#"n=int(input()); a,b=0,1
for _ in range(n): a,b=b,a+b
print(a)
"#,
    ),
    (
        "fizzbuzz",
        r#"n=int(input())
for i in range(1,n+1): print("FizzBuzz" if i%15==0 else "Fizz" if i%3==0 else "Buzz" if i%5==0 else i)
"#,
    ),
    (
        "maximum-subarray",
        r#"import sys
d=sys.stdin.read().split(); n=int(d[0]); a=list(map(int,d[1:1+n])); best=cur=a[0]
for x in a[1:]: cur=max(x,cur+x); best=max(best,cur)
print(best)
"#,
    ),
    (
        "reverse-words",
        r#"print(" ".join(reversed(input().split())))
"#,
    ),
    (
        "two-sum",
        r#"import sys
d=sys.stdin.read().split(); n=int(d[0]); a=list(map(int,d[1:1+n])); t=int(d[1+n]); seen={}
for i,x in enumerate(a):
    if t-x in seen: print(seen[t-x], i); break
    seen[x]=i
"#,
    ),
    (
        "valid-palindrome",
        r#"s=[c.lower() for c in input() if c.isalnum()]; print("true" if s==s[::-1] else "false")
"#,
    ),
    (
        "valid-parentheses",
        r#"import sys
s=sys.stdin.readline().strip(); st=[]; m={')':'(',']':'[','}':'{'}; ok=True
for c in s:
    if c in '([{': st.append(c)
    elif not st or st.pop()!=m[c]: ok=False; break
print("true" if ok and not st else "false")
"#,
    ),
];

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.questions.dir =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../questions")
    })
    .await
}

fn ready() -> bool {
    let ok = std::process::Command::new("bwrap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && std::path::Path::new("/usr/bin/python3").exists();
    if !ok {
        eprintln!("SKIPPED: tests need bubblewrap and python3 (./scripts/test.sh installs them)");
    }
    ok
}

async fn run_tests(
    base: &str,
    session: &str,
    token: &str,
    language: &str,
    code: &str,
) -> (u16, Value) {
    let res = client()
        .post(format!("{base}/api/sessions/{session}/tests"))
        .bearer_auth(token)
        .json(&json!({"language": language, "code": code}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_library_has_eight_questions_with_hidden_tests() {
    let server = server().await;
    let anonymous = http()
        .get(format!("{}/api/questions", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        401,
        "only signed-in people browse the library"
    );
    let list: Value = http()
        .get(format!("{}/api/questions", server.url()))
        .bearer_auth(api_key(&server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = list.as_array().unwrap();
    assert!(list.len() >= 8, "{list:?}");
    for q in list {
        assert!(
            q["tests"].as_u64().unwrap() >= 4 && q["hidden_tests"].as_u64().unwrap() >= 2,
            "{q}"
        );
        // The list never carries the tests themselves.
        assert!(q.get("description").is_none() && q["tests"].is_u64());
    }
    for (id, _) in SOLUTIONS {
        assert!(
            list.iter().any(|q| q["id"] == *id),
            "{id} is in the library"
        );
    }
}

#[tokio::test]
async fn every_question_passes_with_a_reference_solution() {
    if !ready() {
        return;
    }
    let server = server().await;
    let base = server.url();
    for (id, code) in SOLUTIONS {
        let s = create_session(&base, json!({"language": "python", "question": id})).await;
        let (status, report) = run_tests(&base, &s.id, &s.interviewer, "python", code).await;
        assert_eq!(status, 200, "{id}: {report}");
        assert_eq!(report["failed"], 0, "{id}: {report}");
        assert!(report["passed"].as_u64().unwrap() >= 4, "{id}: {report}");
    }
}

#[tokio::test]
async fn hidden_tests_stay_with_the_interviewer() {
    if !ready() {
        return;
    }
    let server = server().await;
    let base = server.url();
    let s = create_session(&base, json!({"language": "python", "question": "fizzbuzz"})).await;
    // Named after the question; the pad starts from its starter code.
    let session: Value = http()
        .get(format!("{base}/api/sessions/{}", s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["title"], "FizzBuzz");

    let get = |token: String| {
        let url = format!("{base}/api/sessions/{}/question", s.id);
        async move {
            http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let candidate_view = get(s.candidate.clone()).await;
    let interviewer_view = get(s.interviewer.clone()).await;
    assert!(
        candidate_view["description"]
            .as_str()
            .unwrap()
            .contains("Fizz")
    );
    assert!(
        candidate_view["starters"]["java"]
            .as_str()
            .unwrap()
            .contains("class Main")
    );
    let tests = |v: &Value| v["tests"].as_array().unwrap().clone();
    assert!(
        tests(&candidate_view).iter().all(|t| t["hidden"] == false),
        "{candidate_view}"
    );
    assert_eq!(tests(&candidate_view).len(), 2);
    assert_eq!(tests(&interviewer_view).len(), 4);
    // The hidden tests' content appears nowhere in what the candidate got.
    let hidden_input = tests(&interviewer_view)
        .iter()
        .find(|t| t["hidden"] == true && t["name"] == "n = 30")
        .unwrap()["expected"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !candidate_view.to_string().contains("n = 30")
            && !candidate_view
                .to_string()
                .contains(&hidden_input.replace('\n', "\\n"))
    );

    // A wrong solution: the candidate sees its visible tests fail, and only those.
    let wrong = "n = int(input())\nfor i in range(1, n + 1):\n    print(i)\n";
    let (status, report) = run_tests(&base, &s.id, &s.candidate, "python", wrong).await;
    assert_eq!(status, 200, "{report}");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r["hidden"] == false));
    assert_eq!(report["failed"], 2);
    assert_eq!(results[0]["actual"], "1\n2\n3\n4\n5\n");

    // The interviewer runs all four, in a compiled language too.
    let java = "import java.util.*;\nclass Main {\n    public static void main(String[] a) {\n        int n = new Scanner(System.in).nextInt();\n        for (int i = 1; i <= n; i++) System.out.println(i % 15 == 0 ? \"FizzBuzz\" : i % 3 == 0 ? \"Fizz\" : i % 5 == 0 ? \"Buzz\" : String.valueOf(i));\n    }\n}\n";
    let (status, report) = run_tests(&base, &s.id, &s.interviewer, "java", java).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["passed"], 4, "{report}");
    assert_eq!(
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["hidden"] == true)
            .count(),
        2
    );

    // A compile error fails every test with the compiler's message.
    let (_, report) = run_tests(
        &base,
        &s.id,
        &s.interviewer,
        "c",
        "int main(void) { return x; }\n",
    )
    .await;
    assert_eq!(report["failed"], 4);
    assert!(
        report["results"][0]["stderr"]
            .as_str()
            .unwrap()
            .contains("main.c:1"),
        "{report}"
    );

    // Both runs are on the timeline, pass/fail per test.
    let events: Value = http()
        .get(format!("{base}/api/sessions/{}/events", s.id))
        .bearer_auth(&s.interviewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let runs: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "tests_run")
        .collect();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["actor"], "candidate");
    assert_eq!(runs[1]["data"]["passed"], 4);

    // With execution off the candidate cannot run tests.
    let res = http()
        .patch(format!("{base}/api/sessions/{}", s.id))
        .bearer_auth(&s.interviewer)
        .json(&json!({"policy": {"execution_enabled": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, _) = run_tests(&base, &s.id, &s.candidate, "python", wrong).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn starter_follows_the_language_until_someone_types() {
    let server = server().await;
    let base = server.url();
    let s = create_session(&base, json!({"language": "python", "question": "two-sum"})).await;
    let mut peer =
        crate::common::Peer::connect(&server.ws_url(), &s.id, "main", &s.candidate).await;
    // The question's own starter: the input read, one function to write.
    peer.pump_until(crate::common::WAIT, |p| p.text().contains("def two_sum"))
        .await;
    assert!(peer.text().contains("def two_sum"), "{}", peer.text());
    let set = |lang: &str| {
        let (url, token, lang) = (
            format!("{base}/api/sessions/{}", s.id),
            s.candidate.clone(),
            lang.to_string(),
        );
        async move {
            http()
                .patch(url)
                .bearer_auth(token)
                .json(&json!({"language": lang}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(set("go").await, 200);
    assert!(
        peer.pump_until(crate::common::WAIT, |p| p.text().contains("func twoSum"))
            .await,
        "{}",
        peer.text()
    );
    peer.append("// my work\n").await;
    peer.pump(Duration::from_millis(300)).await;
    assert_eq!(set("rust").await, 200);
    peer.pump(Duration::from_millis(500)).await;
    assert!(
        peer.text().contains("// my work"),
        "typed code stays: {}",
        peer.text()
    );
    // A session without a question has none to show.
    let plain = crate::common::new_session(&base).await;
    let res = http()
        .get(format!("{base}/api/sessions/{}/question", plain.id))
        .bearer_auth(&plain.candidate)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), Value::Null);
}

#[tokio::test]
async fn the_operator_saves_a_question() {
    let server = TestServer::start_with(|c| c.server.admin_token = Some("op-secret".into())).await;
    let base = server.url();
    let put = |token: &str, body: Value| {
        let (url, token) = (
            format!("{base}/api/admin/questions/sum-two"),
            token.to_string(),
        );
        async move {
            http()
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let question = json!({
        "title": "Sum of two",
        "description": "Print **a + b**.",
        "starters": {"python": "a, b = map(int, input().split())\n"},
        "tests": [{"name": "small", "input": "1 2\n", "expected": "3\n"}, {"name": "big", "input": "1000000 2000000\n", "expected": "3000000\n", "hidden": true}],
    });
    assert_eq!(put("wrong", question.clone()).await, 401);
    assert_eq!(
        put("op-secret", json!({"title": "", "description": "x"})).await,
        400
    );
    assert_eq!(put("op-secret", question).await, 200);
    let list: Value = http()
        .get(format!("{base}/api/questions"))
        .bearer_auth(api_key(&base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|q| q["id"] == "sum-two" && q["hidden_tests"] == 1),
        "{list}"
    );
    let s = create_session(&base, json!({"language": "python", "question": "sum-two"})).await;
    let view: Value = http()
        .get(format!("{base}/api/sessions/{}/question", s.id))
        .bearer_auth(&s.candidate)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["title"], "Sum of two");
    assert_eq!(view["tests"].as_array().unwrap().len(), 1);
    assert_eq!(
        view["starters"]["python"],
        "a, b = map(int, input().split())\n"
    );
}

/// A member of a new team, signed in (its cookie), made by the test server's admin.
async fn member_of_new_team(base: &str, email: &str) -> String {
    let admin = api_key(base);
    let team: Value = http()
        .post(format!("{base}/api/admin/teams"))
        .bearer_auth(&admin)
        .json(&json!({"name": email}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invite: Value = http()
        .post(format!("{base}/api/admin/invites"))
        .bearer_auth(&admin)
        .json(&json!({"role": "interviewer", "team_id": team["id"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = invite["code"].as_str().unwrap();
    let res = http()
        .post(format!("{base}/api/auth/invites/{code}"))
        .json(&json!({"email": email, "name": email, "password": "a-long-enough-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    crate::common::sign_in(base, email, "a-long-enough-password").await
}

#[tokio::test]
async fn a_team_writes_its_own_questions_and_no_other_team_sees_them() {
    let server = server().await;
    let base = server.url();
    let ours = member_of_new_team(&base, "writer@example.com").await;
    let theirs = member_of_new_team(&base, "other@example.com").await;
    let call = |method: reqwest::Method, cookie: &str, path: &str, body: Option<Value>| {
        let mut req = http()
            .request(method, format!("{base}{path}"))
            .header("cookie", cookie)
            .header("origin", base.clone())
            .header("x-requested-with", "interview-ide");
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    let question = json!({
        "title": "Sum of a list",
        "description": "Print the **sum** of the numbers on the line.",
        "starters": {"python": "nums = list(map(int, input().split()))\nprint(0)\n", "go": ""},
        "tests": [
            {"name": "small", "input": "1 2 3\n", "expected": "6\n"},
            {"name": "negative", "input": "-5 5 -1\n", "expected": "-1\n", "hidden": true},
        ],
    });
    // Bad input is refused with what is wrong, and nothing is stored.
    let mut bad = question.clone();
    bad["tests"][1]["name"] = json!("small");
    let res = call(reqwest::Method::POST, &ours, "/api/questions", Some(bad))
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("two tests are named 'small'")
    );
    let res = call(
        reqwest::Method::POST,
        &ours,
        "/api/questions",
        Some(json!({"title": "x", "description": "", "starters": {"cobol": "x"}})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);

    let res = call(
        reqwest::Method::POST,
        &ours,
        "/api/questions",
        Some(question.clone()),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(id.starts_with("sum-of-a-list-"), "{id}");

    // Listed for the team after the library; whole (hidden test, own starters only) for the team.
    let list: Value = call(reqwest::Method::GET, &ours, "/api/questions", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 9, "the library's 8 and the team's");
    assert_eq!(list.last().unwrap()["id"], id.as_str());
    assert_eq!(list.last().unwrap()["owner"], "team");
    assert_eq!(list[0]["owner"], "library");
    let full: Value = call(
        reqwest::Method::GET,
        &ours,
        &format!("/api/questions/{id}"),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(full["tests"].as_array().unwrap().len(), 2);
    assert_eq!(
        full["starters"],
        json!({"python": "nums = list(map(int, input().split()))\nprint(0)\n"}),
        "an empty starter is no starter"
    );

    // Another team: not listed, not readable, not editable, not usable for a session.
    let list: Value = call(reqwest::Method::GET, &theirs, "/api/questions", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains(&id));
    assert_eq!(
        call(
            reqwest::Method::GET,
            &theirs,
            &format!("/api/questions/{id}"),
            None
        )
        .await
        .unwrap()
        .status(),
        404
    );
    assert_eq!(
        call(
            reqwest::Method::PUT,
            &theirs,
            &format!("/api/questions/{id}"),
            Some(question.clone())
        )
        .await
        .unwrap()
        .status(),
        404
    );
    assert_eq!(
        call(
            reqwest::Method::DELETE,
            &theirs,
            &format!("/api/questions/{id}"),
            None
        )
        .await
        .unwrap()
        .status(),
        404
    );
    let res = call(
        reqwest::Method::POST,
        &theirs,
        "/api/sessions",
        Some(json!({"language": "python", "question": id})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    // The library stays read-only.
    assert_eq!(
        call(
            reqwest::Method::PUT,
            &ours,
            "/api/questions/two-sum",
            Some(question.clone())
        )
        .await
        .unwrap()
        .status(),
        403
    );

    // The team edits it, and a session made from it runs its tests.
    let mut edited = question.clone();
    edited["title"] = json!("Sum of a line");
    assert_eq!(
        call(
            reqwest::Method::PUT,
            &ours,
            &format!("/api/questions/{id}"),
            Some(edited)
        )
        .await
        .unwrap()
        .status(),
        200
    );
    let res = call(
        reqwest::Method::POST,
        &ours,
        "/api/sessions",
        Some(json!({"language": "python", "question": id})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let s: Value = res.json().await.unwrap();
    let (sid, interviewer, candidate) = (
        s["id"].as_str().unwrap(),
        s["interviewer_token"].as_str().unwrap(),
        s["candidate_token"].as_str().unwrap(),
    );
    let view: Value = http()
        .get(format!("{base}/api/sessions/{sid}/question"))
        .bearer_auth(candidate)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["title"], "Sum of a line");
    assert_eq!(
        view["tests"].as_array().unwrap().len(),
        1,
        "the candidate gets the visible test only"
    );
    if ready() {
        let (status, report) = run_tests(
            &base,
            sid,
            interviewer,
            "python",
            "print(sum(map(int, input().split())))\n",
        )
        .await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(
            (report["passed"].as_u64(), report["failed"].as_u64()),
            (Some(2), Some(0)),
            "{report}"
        );
    }

    // Deleted: gone from the list and for new sessions; the session made from it keeps it.
    assert_eq!(
        call(
            reqwest::Method::DELETE,
            &ours,
            &format!("/api/questions/{id}"),
            None
        )
        .await
        .unwrap()
        .status(),
        204
    );
    let list: Value = call(reqwest::Method::GET, &ours, "/api/questions", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains(&id));
    let res = call(
        reqwest::Method::POST,
        &ours,
        "/api/sessions",
        Some(json!({"language": "python", "question": id})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    let view: Value = http()
        .get(format!("{base}/api/sessions/{sid}/question"))
        .bearer_auth(interviewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["tests"].as_array().unwrap().len(), 2);
}

/// Every starter of the library compiles and runs on every test's input in its language (it prints
/// a wrong answer: the candidate writes the one function it calls), so no candidate starts from a
/// broken program.
#[tokio::test]
async fn every_starter_of_the_library_runs_in_its_language() {
    if !ready() {
        return;
    }
    let server = server().await;
    let base = server.url();
    let mut failures = Vec::new();
    for (id, _) in SOLUTIONS {
        let s = create_session(&base, json!({"language": "python", "question": id})).await;
        let view: Value = http()
            .get(format!("{base}/api/sessions/{}/question", s.id))
            .bearer_auth(&s.interviewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let starters = view["starters"].as_object().unwrap();
        for language in [
            "python",
            "javascript",
            "typescript",
            "c",
            "cpp",
            "java",
            "go",
            "rust",
            "ruby",
            "bash",
        ] {
            let code = starters[language].as_str().unwrap();
            assert!(
                code.lines().count() > 3 && !code.contains("Parse the input"),
                "{id} has its own {language} starter"
            );
            let (status, report) = run_tests(&base, &s.id, &s.interviewer, language, code).await;
            assert_eq!(status, 200, "{id} {language}: {report}");
            for r in report["results"].as_array().unwrap() {
                if r["status"] != "ok" {
                    failures.push(format!(
                        "{id} {language} '{}': {} {} {}",
                        r["name"], r["status"], r["message"], r["stderr"]
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} starters did not run:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn typescript_tests_run_on_the_server() {
    if !ready() || !std::path::Path::new("/usr/bin/esbuild").exists() {
        eprintln!("SKIPPED: TypeScript tests need esbuild (./scripts/test.sh installs it)");
        return;
    }
    let server = server().await;
    let base = server.url();
    let s = create_session(
        &base,
        json!({"language": "typescript", "question": "two-sum"}),
    )
    .await;
    let solution = r#"const data: string[] = require('fs').readFileSync(0, 'utf8').trim().split(/\s+/);
const n = Number(data[0]);
const target = Number(data[1 + n]);

function twoSum(nums: number[], target: number): [number, number] {
  const seen = new Map<number, number>();
  for (let i = 0; i < nums.length; i++) {
    const j = seen.get(target - nums[i]);
    if (j !== undefined) return [j, i];
    seen.set(nums[i], i);
  }
  return [-1, -1];
}

const [i, j] = twoSum(data.slice(1, 1 + n).map(Number), target);
console.log(`${i} ${j}`);
"#;
    let (status, report) = run_tests(&base, &s.id, &s.interviewer, "typescript", solution).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    // A syntax error is a compile error with its line, as for any compiled language.
    let (_, report) = run_tests(
        &base,
        &s.id,
        &s.interviewer,
        "typescript",
        "const x: number = ;\n",
    )
    .await;
    let first = &report["results"][0];
    assert_eq!(first["passed"], false);
    assert!(
        first["stderr"].as_str().unwrap().contains("main.ts:1"),
        "{first}"
    );
}
