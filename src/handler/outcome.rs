//! How a run ended, and the bounded text buffers that keep its output small.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::text_enum::text_enum;

/// Most bytes of output kept per run, marker included: the last ones for commands, the first
/// ones of an HTTP response body.
pub const OUTPUT_LIMIT: usize = 8 * 1024;
/// Most bytes of error text kept per run, marker included (the first ones).
pub const ERROR_LIMIT: usize = 2 * 1024;

/// How a run ended. The names match the final states of a run (`crate::run::RunStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Succeeded,
    Failed,
    /// The timeout elapsed and the work was stopped.
    TimedOut,
    /// The cancellation token fired and the work was stopped.
    Cancelled,
}

text_enum!(OutcomeStatus, "status", {
    Succeeded => "succeeded",
    Failed => "failed",
    TimedOut => "timed_out",
    Cancelled => "cancelled",
});

/// What the engine records about a finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: OutcomeStatus,
    /// The process's exit code, when it exited (rather than being killed by a signal).
    pub exit_code: Option<i32>,
    /// The HTTP response status, when a response arrived.
    pub http_status: Option<u16>,
    /// At most [`OUTPUT_LIMIT`] bytes. For commands, the tail of stdout and stderr as they
    /// interleaved, each stderr line prefixed with `[stderr] `; for HTTP, the head of the
    /// response body. Cut text is marked by `…[N bytes truncated]` where the cut is.
    pub output: String,
    /// What went wrong, in words, at most [`ERROR_LIMIT`] bytes: `exit status 3`,
    /// `killed by signal 9 (SIGKILL)`, `timed out after 30s`, `HTTP 503 Service Unavailable`,
    /// `connection refused: http://127.0.0.1:9/x`. `None` on success.
    pub error: Option<String>,
    /// From the start of the work to its end, including any grace period after a timeout.
    pub duration: Duration,
}

impl Outcome {
    /// A success with `output`; for in-process handlers (the executor fills in the duration).
    pub fn succeeded(output: impl Into<String>) -> Self {
        Outcome::new(OutcomeStatus::Succeeded, output.into(), None)
    }

    /// A failure saying what went wrong; for in-process handlers.
    pub fn failed(error: impl Into<String>) -> Self {
        Outcome::new(OutcomeStatus::Failed, String::new(), Some(error.into()))
    }

    pub(crate) fn new(status: OutcomeStatus, output: String, error: Option<String>) -> Self {
        Outcome {
            status,
            exit_code: None,
            http_status: None,
            output,
            error,
            duration: Duration::ZERO,
        }
    }

    pub fn is_success(&self) -> bool {
        self.status == OutcomeStatus::Succeeded
    }

    /// Enforces [`OUTPUT_LIMIT`] (keeping the tail) and [`ERROR_LIMIT`] (keeping the head).
    pub(crate) fn bounded(mut self) -> Self {
        if self.output.len() > OUTPUT_LIMIT {
            let mut tail = TailBuffer::new(OUTPUT_LIMIT);
            tail.push(self.output.as_bytes());
            self.output = tail.render();
        }
        if let Some(error) = &self.error {
            if error.len() > ERROR_LIMIT {
                self.error =
                    Some(head_text(error.as_bytes(), ERROR_LIMIT, Some(error.len() as u64)));
            }
        }
        self
    }
}

/// The last `limit` bytes of a stream, and how many bytes went by in total. Memory stays at
/// `limit` bytes however much is pushed.
#[derive(Debug, Clone)]
pub struct TailBuffer {
    limit: usize,
    bytes: VecDeque<u8>,
    total: u64,
}

impl TailBuffer {
    pub fn new(limit: usize) -> Self {
        TailBuffer { limit, bytes: VecDeque::with_capacity(limit.min(64 * 1024)), total: 0 }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        let chunk = &chunk[chunk.len().saturating_sub(self.limit)..];
        let overflow = (self.bytes.len() + chunk.len()).saturating_sub(self.limit);
        self.bytes.drain(..overflow);
        self.bytes.extend(chunk);
    }

    /// Bytes pushed so far, including those no longer kept.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept bytes as text of at most `limit` bytes. When anything was cut, the text starts
    /// with `…[N bytes truncated]` (N counts the bytes of the stream not shown) and then resumes
    /// at a character boundary. Invalid UTF-8 becomes U+FFFD.
    pub fn render(&self) -> String {
        let (front, back) = self.bytes.as_slices();
        let kept = [front, back].concat();
        tail_text(&kept, self.total, self.limit)
    }
}

/// Renders `kept`, the last bytes of a stream of `total` bytes, in at most `limit` bytes.
fn tail_text(kept: &[u8], total: u64, limit: usize) -> String {
    let unseen = total - kept.len() as u64;
    let mut start = 0;
    loop {
        if unseen + start as u64 > 0 {
            // Resume at a character boundary: skip at most three continuation bytes.
            let skip = kept[start..].iter().take(3).take_while(|&&b| is_continuation(b)).count();
            start += skip;
        }
        let dropped = unseen + start as u64;
        let marker = if dropped > 0 { marker(dropped) } else { String::new() };
        let text = String::from_utf8_lossy(&kept[start..]);
        let length = marker.len() + text.len();
        if length <= limit || start == kept.len() {
            return marker + &text;
        }
        // Valid text shrinks byte for byte; a replaced byte (U+FFFD) takes three.
        let excess = length - limit;
        let step = if matches!(text, Cow::Borrowed(_)) { excess } else { excess.div_ceil(3) };
        start = (start + step).min(kept.len());
    }
}

/// The first bytes of `bytes` as text of at most `limit` bytes. `total` is the length of the
/// whole text when known (at least `bytes.len()`); `None` means more followed, amount unknown.
/// When cut, the text ends with `…[N bytes truncated]`, or `…[truncated]` without a total.
pub(crate) fn head_text(bytes: &[u8], limit: usize, total: Option<u64>) -> String {
    if total.is_some_and(|total| total <= bytes.len() as u64) {
        let text = String::from_utf8_lossy(bytes);
        if text.len() <= limit {
            return text.into_owned();
        }
    }
    let mut end = bytes.len().min(limit);
    loop {
        end = char_boundary_before(bytes, end);
        let marker = match total {
            Some(total) => marker(total - end as u64),
            None => "…[truncated]".to_owned(),
        };
        let text = String::from_utf8_lossy(&bytes[..end]);
        let length = text.len() + marker.len();
        if length <= limit || end == 0 {
            return text.into_owned() + &marker;
        }
        let excess = length - limit;
        let step = if matches!(text, Cow::Borrowed(_)) { excess } else { excess.div_ceil(3) };
        end -= step.min(end);
    }
}

/// `end`, moved back so that `bytes[..end]` does not end in the middle of a character.
fn char_boundary_before(bytes: &[u8], end: usize) -> usize {
    if end >= bytes.len() || !is_continuation(bytes[end]) {
        return end;
    }
    // `bytes[end]` continues a character: cut before that character's lead byte.
    let mut cut = end;
    while cut > 0 && end - cut < 3 && is_continuation(bytes[cut]) {
        cut -= 1;
    }
    if is_continuation(bytes[cut]) {
        end // Not valid UTF-8 anyway; it will be replaced.
    } else {
        cut
    }
}

fn marker(dropped: u64) -> String {
    format!("…[{dropped} bytes truncated]")
}

fn is_continuation(byte: u8) -> bool {
    byte & 0b1100_0000 == 0b1000_0000
}

/// `30s`, `1.5s` or `250ms`: how long a timeout or grace was, for messages.
pub(crate) fn human_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_text_and_json() {
        for &status in OutcomeStatus::ALL {
            assert_eq!(status.as_str().parse::<OutcomeStatus>().unwrap(), status);
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{status}\""));
        }
        assert!("timedout".parse::<OutcomeStatus>().is_err());
    }

    #[test]
    fn short_output_is_kept_whole() {
        let mut tail = TailBuffer::new(64);
        tail.push(b"hello ");
        tail.push("wörld\n".as_bytes());
        assert_eq!(tail.render(), "hello wörld\n");
        assert_eq!(tail.total(), 13);
    }

    #[test]
    fn long_output_keeps_the_tail_with_a_marker_within_the_limit() {
        let mut tail = TailBuffer::new(60);
        for line in 0..1000 {
            tail.push(format!("line {line}\n").as_bytes());
        }
        let text = tail.render();
        assert!(text.len() <= 60, "{} bytes: {text:?}", text.len());
        assert!(text.starts_with("…["), "{text:?}");
        assert!(text.ends_with("line 998\nline 999\n"), "{text:?}");
        let dropped: u64 =
            text["…[".len()..].split(' ').next().unwrap().parse().expect("a byte count");
        let shown = text.len() - text.find(']').unwrap() - 1;
        assert_eq!(dropped + shown as u64, tail.total(), "marker counts exactly what is hidden");
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // 'é' is two bytes, '€' three, '𝄞' four: for every limit and alignment, the rendered
        // tail is valid text without replacement characters and ends with the stream's end.
        let stream = "aé€𝄞".repeat(40);
        for limit in 30..60 {
            for chunk in [1, 2, 3, 7] {
                let mut tail = TailBuffer::new(limit);
                for piece in stream.as_bytes().chunks(chunk) {
                    tail.push(piece);
                }
                let text = tail.render();
                assert!(text.len() <= limit, "limit {limit}: {text:?}");
                assert!(!text.contains('\u{FFFD}'), "limit {limit}: {text:?}");
                let body = &text[text.find(']').unwrap() + 1..];
                assert!(stream.ends_with(body), "limit {limit}: {text:?}");
                let dropped: u64 = text["…[".len()..].split(' ').next().unwrap().parse().unwrap();
                assert_eq!(dropped + body.len() as u64, stream.len() as u64);
            }
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_but_stays_within_the_limit() {
        let mut tail = TailBuffer::new(32);
        tail.push(&[0xFF; 100]);
        let text = tail.render();
        assert!(text.len() <= 32, "{text:?}");
        assert!(text.starts_with("…[") && text.ends_with('\u{FFFD}'), "{text:?}");
    }

    #[test]
    fn head_text_cuts_at_a_character_boundary_and_counts_when_it_can() {
        assert_eq!(head_text(b"short", 64, Some(5)), "short");
        assert_eq!(head_text(b"short", 64, None), "short…[truncated]");
        let long = "é".repeat(100);
        for limit in 30..50 {
            let text = head_text(long.as_bytes(), limit, Some(long.len() as u64));
            assert!(text.len() <= limit, "{text:?}");
            assert!(!text.contains('\u{FFFD}'), "limit {limit}: {text:?}");
            let (shown, marker) = text.split_at(text.find('…').unwrap());
            assert!(long.starts_with(shown));
            assert_eq!(marker, format!("…[{} bytes truncated]", long.len() - shown.len()));
        }
        // Only the first bytes were read: the total is unknown.
        let text = head_text(&long.as_bytes()[..41], 30, None);
        assert!(text.ends_with("…[truncated]") && text.len() <= 30, "{text:?}");
        assert!(!text.contains('\u{FFFD}'), "{text:?}");
    }

    #[test]
    fn outcome_bounds_output_and_error() {
        let outcome = Outcome {
            output: "x".repeat(OUTPUT_LIMIT * 3),
            error: Some("e".repeat(ERROR_LIMIT * 3)),
            ..Outcome::failed("")
        }
        .bounded();
        assert!(outcome.output.len() <= OUTPUT_LIMIT && outcome.output.starts_with("…["));
        let error = outcome.error.unwrap();
        assert!(error.len() <= ERROR_LIMIT && error.starts_with("eee") && error.ends_with(']'));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(30)), "30s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
    }
}
