//! A `text/event-stream` parser following the W3C rules: lines end in `\n`, `\r\n` or `\r`;
//! a line starting with `:` is a comment; `data:` lines of one event are joined with `\n`; a
//! blank line ends the event; one leading space after the colon is dropped; unknown fields are
//! ignored. Bytes are fed as they arrive; an event larger than the limit is an error, so a
//! misbehaving server cannot make the client buffer without bound.

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` (empty for the default `message` type).
    pub event: String,
    /// `id:` of this event, if it had one.
    pub id: Option<String>,
    pub data: String,
}

/// Incremental parser.
#[derive(Debug)]
pub struct SseParser {
    buf: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    current: SseEvent,
    has_data: bool,
    max_event: usize,
}

impl SseParser {
    /// A parser refusing events (and lines) larger than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        Self {
            buf: Vec::new(),
            after_cr: false,
            current: SseEvent::default(),
            has_data: false,
            max_event,
        }
    }

    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<Vec<SseEvent>, String> {
        let mut out = Vec::new();
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' | b'\r' => {
                    self.buf.extend_from_slice(&bytes[start..i]);
                    let line = std::mem::take(&mut self.buf);
                    if let Some(ev) = self.line(&line)? {
                        out.push(ev);
                    }
                    if bytes[i] == b'\r' {
                        if bytes.get(i + 1) == Some(&b'\n') {
                            i += 1;
                        } else if i + 1 == bytes.len() {
                            self.after_cr = true;
                        }
                    }
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        self.buf.extend_from_slice(&bytes[start..]);
        if self.buf.len() + self.current.data.len() > self.max_event {
            return Err(format!("an event larger than {} bytes", self.max_event));
        }
        Ok(out)
    }

    fn line(&mut self, line: &[u8]) -> Result<Option<SseEvent>, String> {
        if line.is_empty() {
            if !self.has_data {
                self.current = SseEvent {
                    id: None,
                    ..SseEvent::default()
                };
                return Ok(None);
            }
            self.has_data = false;
            return Ok(Some(std::mem::take(&mut self.current)));
        }
        if line.first() == Some(&b':') {
            return Ok(None);
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
                if self.current.data.len() > self.max_event {
                    return Err(format!("an event larger than {} bytes", self.max_event));
                }
            }
            "event" => self.current.event = value.to_owned(),
            "id" if !value.contains('\0') => self.current.id = Some(value.to_owned()),
            _ => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new(1 << 20);
        chunks.iter().flat_map(|c| p.feed(c).unwrap()).collect()
    }

    #[test]
    fn follows_the_w3c_rules() {
        let evs = all(&[b": keep-alive\n\nid: 1\ndata: {\"a\":\r\ndata: 1}\r\n\r\nevent: error\ndata:x\rid: 2\r", b"\n\r\n"]);
        assert_eq!(evs.len(), 2, "{evs:?}");
        assert_eq!(
            evs[0],
            SseEvent {
                event: String::new(),
                id: Some("1".into()),
                data: "{\"a\":\n1}".into()
            }
        );
        assert_eq!(
            evs[1],
            SseEvent {
                event: "error".into(),
                id: Some("2".into()),
                data: "x".into()
            }
        );
        // split anywhere, even inside a line ending
        let whole = b"data: hello\r\n\r\ndata: world\n\n";
        for cut in 0..whole.len() {
            let evs = all(&[&whole[..cut], &whole[cut..]]);
            let data: Vec<&str> = evs.iter().map(|e| e.data.as_str()).collect();
            assert_eq!(data, ["hello", "world"], "cut at {cut}");
        }
    }

    #[test]
    fn large_events_pass_and_oversized_ones_are_refused() {
        let big = format!("data: {}\n\n", "x".repeat(3 << 20));
        let mut p = SseParser::new(8 << 20);
        let evs = p.feed(big.as_bytes()).unwrap();
        assert_eq!(evs[0].data.len(), 3 << 20);
        let mut small = SseParser::new(1024);
        assert!(small.feed(big.as_bytes()).is_err());
    }
}
