//! A Server-Sent Events parser (the WHATWG `text/event-stream` rules): bytes arrive in arbitrary
//! chunks; an event ends at a blank line. Handles `\n`, `\r\n` and `\r` line ends (also split
//! across chunks), multi-line `data:`, comments (`:`), a leading BOM, and the one optional space
//! after the colon. Field names other than `event`, `data`, `id` and `retry` are ignored.

/// One dispatched event. `event` is `None` when the stream did not name it (the default "message").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

#[derive(Default)]
pub struct SseParser {
    /// Bytes of the line being read (a line may arrive over several chunks).
    line: Vec<u8>,
    /// A `\r` ended the last chunk: a `\n` starting the next one belongs to it.
    after_cr: bool,
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; returns the events it completes, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in chunk {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut out),
                b'\r' => {
                    self.end_line(&mut out);
                    self.after_cr = true;
                }
                _ => self.line.push(b),
            }
        }
        out
    }

    /// Bytes held that do not form a complete event yet (the stream ended mid-event if non-empty).
    pub fn has_partial(&self) -> bool {
        !self.line.is_empty() || self.has_data || self.event.is_some()
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let mut line = std::mem::take(&mut self.line);
        if !self.started {
            self.started = true;
            if line.starts_with(&[0xEF, 0xBB, 0xBF]) {
                line.drain(..3);
            }
        }
        if line.is_empty() {
            // Blank line: dispatch. An event with no data is not dispatched (per the spec).
            if self.has_data {
                out.push(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data),
                    id: self.id.clone(),
                });
            }
            self.event = None;
            self.data.clear();
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            return; // comment (keep-alive)
        }
        let text = String::from_utf8_lossy(&line);
        let (field, value) = match text.find(':') {
            Some(i) => {
                let v = &text[i + 1..];
                (&text[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&text[..], ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        chunks.iter().flat_map(|c| p.feed(c)).collect()
    }

    #[test]
    fn events_split_anywhere_give_the_same_result() {
        let stream = "event: content_block_delta\ndata: {\"a\":1}\n\n: keep-alive\n\nevent: ping\ndata: {}\r\n\r\ndata: x\rdata: y\r\r".as_bytes();
        let whole = all(&[stream]);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].event.as_deref(), Some("content_block_delta"));
        assert_eq!(whole[0].data, "{\"a\":1}");
        assert_eq!(whole[1].event.as_deref(), Some("ping"));
        assert_eq!(
            whole[2],
            SseEvent {
                event: None,
                data: "x\ny".into(),
                id: None
            }
        );
        for split in 1..stream.len() {
            assert_eq!(
                all(&[&stream[..split], &stream[split..]]),
                whole,
                "split at {split}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(all(&bytes), whole, "byte by byte");
    }

    #[test]
    fn utf8_split_across_chunks_and_field_rules() {
        let text = "data:  two spaces é\ndata\nid: 7\nretry: 10\nfoo: bar\n\n".as_bytes();
        let i = text.iter().position(|&b| b == 0xC3).unwrap();
        let ev = all(&[&text[..i + 1], &text[i + 1..]]);
        assert_eq!(
            ev,
            vec![SseEvent {
                event: None,
                data: " two spaces é\n".into(),
                id: Some("7".into())
            }]
        );
    }

    #[test]
    fn event_without_data_is_not_dispatched_and_partial_is_reported() {
        let mut p = SseParser::new();
        assert!(p.feed(b"event: ping\n\n").is_empty());
        assert!(p.feed(b"\xEF\xBB\xBFdata: 1").is_empty());
        assert!(p.has_partial());
    }
}
