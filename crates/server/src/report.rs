//! The session report: one HTML file with everything inline (styles, content), no script, so it
//! opens offline and can be archived or attached to a hiring packet.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::store::{EventRow, ParticipantRow, SessionRow};
use crate::util::{escape_html as escape, rfc3339};

/// A timeline entry as the API returns it.
#[derive(Debug, Serialize)]
pub struct EventView {
    pub at: String,
    pub at_ms: i64,
    pub kind: String,
    pub actor: Option<String>,
    pub data: serde_json::Value,
}

impl From<EventRow> for EventView {
    fn from(e: EventRow) -> Self {
        EventView {
            at: rfc3339(e.at),
            at_ms: e.at,
            kind: e.kind,
            actor: e.actor,
            data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// One skill rated 1 (no hire) to 4 (strong hire), with a comment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    pub skill: String,
    pub score: u8,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    pub ratings: Vec<Rating>,
    #[serde(default)]
    pub summary: String,
}

pub struct ReportData<'a> {
    pub session: &'a SessionRow,
    pub participants: &'a [ParticipantRow],
    pub code: &'a str,
    pub runs: &'a [serde_json::Value],
    pub notes: &'a str,
    pub events: &'a [EventView],
    pub scorecard: &'a Scorecard,
}

const STYLE: &str = "body{font:14px/1.5 system-ui,sans-serif;background:#1e1e1e;color:#d4d4d4;margin:0;padding:24px 40px;max-width:1100px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #3c3c3c;padding-bottom:4px}\
pre{background:#252526;border:1px solid #3c3c3c;padding:12px;overflow:auto;font:13px/1.45 ui-monospace,monospace;white-space:pre-wrap}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #333;padding:4px 8px;text-align:left;vertical-align:top}\
.muted{color:#9d9d9d}.stderr{color:#f48771}.score{font-weight:600}.tag{display:inline-block;padding:0 6px;border-radius:3px;background:#333}";

pub fn render(d: &ReportData) -> String {
    let s = d.session;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} - interview report</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1><p class=\"muted\">Session {id} &middot; {lang} &middot; created {created}{ended}</p>",
        title = escape(&s.title),
        id = escape(&s.id),
        lang = escape(&s.language),
        created = rfc3339(s.created_at),
        ended = s
            .ended_at
            .map(|t| format!(" &middot; ended {}", rfc3339(t)))
            .unwrap_or_else(|| " &middot; still open".into()),
    );

    h.push_str("<h2>Participants</h2><table><tr><th>Name</th><th>Role</th><th>Joined</th></tr>");
    for p in d.participants {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            escape(&p.role),
            rfc3339(p.joined_at)
        );
    }
    h.push_str("</table>");

    h.push_str("<h2>Scorecard</h2>");
    if d.scorecard.ratings.is_empty() && d.scorecard.summary.is_empty() {
        h.push_str("<p class=\"muted\">Not filled in.</p>");
    } else {
        h.push_str("<table><tr><th>Skill</th><th>Score (1-4)</th><th>Comment</th></tr>");
        for r in &d.scorecard.ratings {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"score\">{}</td><td>{}</td></tr>",
                escape(&r.skill),
                r.score,
                escape(&r.comment)
            );
        }
        let _ = write!(h, "</table><p>{}</p>", escape(&d.scorecard.summary));
    }

    let _ = write!(h, "<h2>Final code</h2><pre>{}</pre>", escape(d.code));

    h.push_str("<h2>Code runs</h2>");
    if d.runs.is_empty() {
        h.push_str("<p class=\"muted\">No runs.</p>");
    }
    for run in d.runs {
        let field = |k: &str| {
            run.get(k)
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default()
        };
        let _ = write!(
            h,
            "<p><span class=\"tag\">{}</span> {} by {} &middot; {} ms</p><pre>",
            escape(&field("status")),
            escape(&field("language")),
            escape(&field("by")),
            escape(&field("duration_ms"))
        );
        if let Some(chunks) = run.get("output").and_then(|o| o.as_array()) {
            for chunk in chunks {
                let stream = chunk
                    .get("stream")
                    .and_then(|v| v.as_str())
                    .unwrap_or("stdout");
                let text = chunk.get("text").and_then(|v| v.as_str()).unwrap_or("");
                let class = if stream == "stderr" {
                    " class=\"stderr\""
                } else {
                    ""
                };
                let _ = write!(h, "<span{class}>{}</span>", escape(text));
            }
        }
        h.push_str("</pre>");
    }

    let _ = write!(
        h,
        "<h2>Interviewer notes</h2><pre>{}</pre>",
        if d.notes.is_empty() {
            "(none)".to_string()
        } else {
            escape(d.notes)
        }
    );

    // The last run of the recovery checks, if any: how the candidate's fix stood at the end.
    if let Some(run) = d.events.iter().rev().find(|e| e.kind == "chaos_checks") {
        let _ = write!(
            h,
            "<h2>Recovery checks</h2><p class=\"muted\">Last run at {}</p><table><tr><th>Scenario</th><th>Check</th><th>Result</th><th>Seen</th></tr>",
            escape(&run.at)
        );
        for c in run
            .data
            .get("checks")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            let text = |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let passed = c.get("passed").and_then(|v| v.as_bool()).unwrap_or(false);
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
                escape(&text("scenario")),
                escape(&text("title")),
                if passed { "passed" } else { "failed" },
                escape(&text("seen"))
            );
        }
        h.push_str("</table>");
    }

    h.push_str(
        "<h2>Timeline</h2><table><tr><th>Time</th><th>What</th><th>Who</th><th>Details</th></tr>",
    );
    for e in d.events {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            escape(&e.at),
            escape(&e.kind),
            escape(e.actor.as_deref().unwrap_or("")),
            escape(&e.data.to_string())
        );
    }
    h.push_str("</table></body></html>\n");
    h
}
