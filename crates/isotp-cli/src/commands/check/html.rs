//! `isotp check --html`: one self-contained HTML file (data, script and styles inline, nothing
//! fetched) that draws every conversation on a time axis.
//!
//! Memory and file size stay bounded on any recording: every frame counts in a per-conversation
//! histogram of [`BUCKETS`] time buckets (merged pairwise as the recording grows), the first
//! [`FRAME_LIMIT`] frames are kept one by one, and after that only the frames around each finding
//! ([`WINDOW`] either side, [`WINDOW_BUDGET`] in all). Findings and UDS exchanges are kept up to a
//! limit and counted beyond it.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};

use isotp_core::monitor::check::Finding;
use isotp_core::monitor::{Conversation, ConversationId, FrameRef, Observation, Party};
use isotp_core::uds::{Exchange, Outcome, UdsFinding};
use isotp_core::wire::{explain, AddressLength, PciView};

use crate::output::{push_json_string, JsonObject};

/// Time buckets of the overview, per conversation.
const BUCKETS: usize = 1000;
/// Frames kept one by one from the start of the recording.
const FRAME_LIMIT: usize = 50_000;
/// Frames kept before and after each finding past [`FRAME_LIMIT`].
const WINDOW: usize = 32;
/// Frames kept around findings in all.
const WINDOW_BUDGET: usize = 50_000;
/// Conversations drawn on their own; the others share one lane.
const CONVERSATION_LIMIT: usize = 256;
/// Conversation ids remembered with their lane.
const ID_CACHE_LIMIT: usize = 1 << 16;
/// Findings, and UDS exchanges, listed one by one.
const LIST_LIMIT: usize = 20_000;

/// The page; `/*DATA*/` becomes the recording's data.
const TEMPLATE: &str = include_str!("report.html");

/// A frame as the page draws it.
#[derive(Clone, Copy)]
struct Mark {
    index: u64,
    /// Microseconds since the recording's first frame.
    t: u64,
    conversation: u32,
    from: u32,
    /// 0 SF, 1 FF, 2 CF, 3 FC continue, 4 FC wait, 5 FC overflow, 6 malformed.
    kind: u8,
    /// SF/FF: the length; CF: the sequence number; FC: the block size.
    a: u32,
    /// FC: STmin in microseconds.
    b: u64,
}

/// The report, filled as the recording is checked.
pub struct Report {
    start: Option<u64>,
    last: u64,
    frames_total: u64,
    parties: Vec<String>,
    party_index: HashMap<Party, u32>,
    conversations: Vec<String>,
    conversation_index: HashMap<String, u32>,
    /// The lane of each conversation id seen (a conversation keeps its name while its id lasts).
    by_id: HashMap<ConversationId, u32>,
    counts: Vec<Vec<u32>>,
    /// Messages (single and first frames) per conversation.
    messages: Vec<u64>,
    bucket_us: u64,
    marks: Vec<Mark>,
    window_marks: usize,
    recent: VecDeque<Mark>,
    keep_next: usize,
    findings: Vec<String>,
    exchanges: Vec<String>,
    omitted_findings: u64,
    omitted_exchanges: u64,
}

/// A time in microseconds for a JSON field that uses -1 for none (saturating: 2^63 us is 292 000
/// years).
fn signed(micros: u64) -> i64 {
    i64::try_from(micros).unwrap_or(i64::MAX)
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report {
            start: None,
            last: 0,
            frames_total: 0,
            parties: Vec::new(),
            party_index: HashMap::new(),
            conversations: Vec::new(),
            conversation_index: HashMap::new(),
            by_id: HashMap::new(),
            counts: Vec::new(),
            messages: Vec::new(),
            bucket_us: 1000,
            marks: Vec::new(),
            window_marks: 0,
            recent: VecDeque::with_capacity(WINDOW),
            keep_next: 0,
            findings: Vec::new(),
            exchanges: Vec::new(),
            omitted_findings: 0,
            omitted_exchanges: 0,
        }
    }

    fn relative(&mut self, at: FrameRef) -> u64 {
        let t = at.time.as_micros();
        t.saturating_sub(*self.start.get_or_insert(t))
    }

    fn party(&mut self, p: Party) -> u32 {
        // Saturates: a recording with 2^32 parties would run out of memory long before.
        let next = u32::try_from(self.parties.len()).unwrap_or(u32::MAX);
        *self.party_index.entry(p).or_insert_with(|| {
            self.parties.push(p.to_string());
            next
        })
    }

    fn conversation(&mut self, c: &Conversation) -> u32 {
        if let Some(&i) = self.by_id.get(&c.id) {
            return i;
        }
        let i = self.named(c);
        // A cache: emptied rather than grown without end on a log of countless conversations.
        if self.by_id.len() >= ID_CACHE_LIMIT {
            self.by_id.clear();
        }
        self.by_id.insert(c.id, i);
        i
    }

    fn named(&mut self, c: &Conversation) -> u32 {
        let mut name = c.to_string();
        if !self.conversation_index.contains_key(&name)
            && self.conversations.len() >= CONVERSATION_LIMIT
        {
            name = "(other conversations)".to_string();
        }
        // At most CONVERSATION_LIMIT + 1.
        let next = u32::try_from(self.conversations.len()).unwrap_or(u32::MAX);
        if let Some(&i) = self.conversation_index.get(&name) {
            return i;
        }
        self.conversation_index.insert(name.clone(), next);
        self.conversations.push(name);
        self.counts.push(vec![0; BUCKETS]);
        self.messages.push(0);
        next
    }

    /// Counts a frame at `t` in its conversation's histogram, halving the resolution when the
    /// recording outgrows it.
    fn count(&mut self, conversation: u32, t: u64) {
        while t / self.bucket_us >= BUCKETS as u64 {
            for counts in &mut self.counts {
                for i in 0..BUCKETS / 2 {
                    counts[i] = counts[2 * i].saturating_add(counts[2 * i + 1]);
                }
                counts[BUCKETS / 2..].fill(0);
            }
            self.bucket_us *= 2;
        }
        if let Some(c) = self.counts.get_mut(conversation as usize) {
            // Below BUCKETS after the loop above.
            #[allow(clippy::cast_possible_truncation)]
            let b = (t / self.bucket_us) as usize;
            c[b] = c[b].saturating_add(1);
        }
    }

    /// A frame of the recording, as the monitor saw it.
    pub fn observe(&mut self, o: &Observation) {
        self.frames_total += 1;
        let t = self.relative(o.at);
        self.last = self.last.max(t);
        let (Some(c), Some(from)) = (o.conversation, o.from) else {
            return;
        };
        let conversation = self.conversation(&c);
        let from_index = self.party(from);
        self.count(conversation, t);
        let view = explain(
            o.frame.data(),
            AddressLength::from_prefix(from.address_byte),
        );
        let (kind, a, b) = match view.pci {
            PciView::SingleFrame { length, .. } => {
                (0, u32::try_from(length).unwrap_or(u32::MAX), 0)
            }
            PciView::FirstFrame { length, .. } => (1, length, 0),
            PciView::ConsecutiveFrame { sequence_number } => (2, u32::from(sequence_number), 0),
            PciView::FlowControl {
                flow_status,
                block_size,
                st_min,
            } => (
                3 + flow_status.min(3),
                u32::from(block_size.unwrap_or(0)),
                st_min.map_or(0, |s| {
                    u64::try_from(s.duration().as_micros()).unwrap_or(u64::MAX)
                }),
            ),
            _ => (7, 0, 0),
        };
        if kind <= 1 {
            self.messages[conversation as usize] += 1;
        }
        let kind = if view.problem.is_some() && kind == 7 {
            6
        } else {
            kind.min(6)
        };
        let mark = Mark {
            index: o.at.index,
            t,
            conversation,
            from: from_index,
            kind,
            a,
            b,
        };
        if self.marks.len() < FRAME_LIMIT {
            self.marks.push(mark);
        } else if self.keep_next > 0 && self.window_marks < WINDOW_BUDGET {
            self.keep_next -= 1;
            self.window_marks += 1;
            self.marks.push(mark);
        }
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(mark);
    }

    /// Keeps the frames around a finding: the recent ones and the next [`WINDOW`].
    fn keep_window(&mut self) {
        let last_kept = self.marks.last().map(|m| m.index);
        for m in &self.recent {
            if last_kept.is_some_and(|k| m.index <= k) || self.window_marks >= WINDOW_BUDGET {
                continue;
            }
            self.marks.push(*m);
            self.window_marks += 1;
        }
        self.keep_next = WINDOW;
    }

    fn listed(&mut self, json: String) {
        if self.findings.len() < LIST_LIMIT {
            self.findings.push(json);
        } else {
            self.omitted_findings += 1;
        }
        self.keep_window();
    }

    /// A finding of the ISO-TP checker.
    pub fn finding(&mut self, f: &Finding) {
        let json = self.finding_json(
            "iso-tp",
            f.conversation.to_string(),
            f.from,
            f.frame,
            f.since,
            &f.severity().to_string(),
            f.kind.name(),
            f.kind.timing(),
            &f.kind.to_string(),
        );
        self.listed(json);
    }

    /// A UDS finding.
    pub fn uds_finding(&mut self, f: &UdsFinding) {
        let pair = |p: Option<Party>| p.map_or_else(|| "?".to_string(), |p| p.to_string());
        let json = self.finding_json(
            "uds",
            format!("{} -> {}", pair(f.tester), pair(f.ecu)),
            f.ecu,
            f.frame,
            f.since,
            &f.severity().to_string(),
            f.kind.name(),
            f.kind.timing(),
            &f.kind.to_string(),
        );
        self.listed(json);
    }

    #[allow(clippy::too_many_arguments)]
    fn finding_json(
        &mut self,
        layer: &str,
        conversation: String,
        from: Option<Party>,
        frame: FrameRef,
        since: Option<FrameRef>,
        severity: &str,
        kind: &str,
        timing: Option<(std::time::Duration, std::time::Duration)>,
        detail: &str,
    ) -> String {
        let t = self.relative(frame);
        let mut j = JsonObject::new()
            .string("layer", layer)
            .string("conversation", &conversation)
            .opt_string("from", from.map(|p| p.to_string()).as_deref())
            .int("frame", frame.index + 1)
            .int("t", t)
            .string("severity", severity)
            .string("kind", kind)
            .string("detail", detail);
        if let Some(s) = since {
            let st = self.relative(s);
            j = j.int("since", s.index + 1).int("since_t", st);
        }
        if let Some((measured, limit)) = timing {
            j = j.micros("measured_us", measured).micros("limit_us", limit);
        }
        j.finish()
    }

    /// A UDS exchange.
    pub fn exchange(&mut self, x: &Exchange) {
        if self.exchanges.len() >= LIST_LIMIT {
            self.omitted_exchanges += 1;
            return;
        }
        let tester = self.party(x.tester);
        let ecu = x.ecu.map_or(-1, |e| i64::from(self.party(e)));
        let (req_first, req_last) = (self.relative(x.request.0), self.relative(x.request.1));
        let response = x
            .response
            .map(|(f, l)| (signed(self.relative(f)), signed(self.relative(l))));
        let (outcome, nrc) = match x.outcome {
            Outcome::Positive => ("positive", 0),
            Outcome::Negative(nrc) => ("negative", nrc),
            _ => ("unanswered", 0),
        };
        let name = crate::uds::describe(&[x.service]).unwrap_or_default();
        let json = JsonObject::new()
            .int("tester", u64::from(tester))
            .raw("ecu", &ecu.to_string())
            .int("service", u64::from(x.service))
            .string("name", &name)
            .int("frame", x.request.0.index + 1)
            .int("req_first", req_first)
            .int("req_last", req_last)
            .raw("resp_first", &response.map_or(-1, |r| r.0).to_string())
            .raw("resp_last", &response.map_or(-1, |r| r.1).to_string())
            .string("outcome", outcome)
            .int("nrc", u64::from(nrc))
            .int("pending", u64::from(x.pending))
            .raw(
                "p2_us",
                &x.p2
                    .map_or(-1, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
                    .to_string(),
            )
            .finish();
        self.exchanges.push(json);
    }

    /// Writes the page.
    pub fn write(&self, w: &mut impl Write, source: &str, uds: bool) -> io::Result<()> {
        let mut data = String::with_capacity(self.marks.len() * 40 + 4096);
        data.push_str("{\"source\":");
        push_json_string(&mut data, source);
        let list = |items: &[String]| format!("[{}]", items.join(","));
        let names = |items: &[String]| {
            let mut s = String::from("[");
            for (i, n) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                push_json_string(&mut s, n);
            }
            s.push(']');
            s
        };
        data.push_str(&format!(
            ",\"uds\":{uds},\"start_us\":{},\"span_us\":{},\"frames_total\":{},\"bucket_us\":{},\
             \"parties\":{},\"conversations\":{},\"findings\":{},\"findings_omitted\":{},\
             \"exchanges\":{},\"exchanges_omitted\":{},\"messages\":[{}],\"counts\":[",
            self.start.unwrap_or(0),
            self.last,
            self.frames_total,
            self.bucket_us,
            names(&self.parties),
            names(&self.conversations),
            list(&self.findings),
            self.omitted_findings,
            list(&self.exchanges),
            self.omitted_exchanges,
            self.messages
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ));
        let used =
            usize::try_from(self.last / self.bucket_us).map_or(BUCKETS, |b| b.saturating_add(1));
        for (i, counts) in self.counts.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            data.push('[');
            for (j, n) in counts.iter().take(used.min(BUCKETS)).enumerate() {
                if j > 0 {
                    data.push(',');
                }
                data.push_str(&n.to_string());
            }
            data.push(']');
        }
        data.push_str("],\"frames\":[");
        for (i, m) in self.marks.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            data.push_str(&format!(
                "[{},{},{},{},{},{},{}]",
                m.index + 1,
                m.t,
                m.conversation,
                m.from,
                m.kind,
                m.a,
                m.b
            ));
        }
        data.push_str("]}");
        // Nothing in the data may end the script element it sits in.
        let data = data.replace("</", "<\\/");
        let (head, tail) = TEMPLATE.split_once("/*DATA*/").unwrap_or((TEMPLATE, ""));
        w.write_all(head.as_bytes())?;
        w.write_all(data.as_bytes())?;
        w.write_all(tail.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotp_core::monitor::check::FindingKind;
    use isotp_core::monitor::{Discovery, Monitor, MonitorConfig, MonitorEvent};
    use isotp_core::{CanId, Frame, Instant};

    /// A report of `n` single frames 1 ms apart, with a finding every 10,000 frames.
    fn report_of(n: u64) -> Report {
        let mut settings = MonitorConfig::discovering(Discovery::Normal);
        settings.observe_frames = true;
        let mut monitor = Monitor::new(settings);
        let frame = Frame::new(CanId::standard(0x7E0).unwrap(), &[0x02, 0x3E, 0x00]).unwrap();
        let mut report = Report::new();
        for i in 0..n {
            monitor.handle_frame(&frame, Instant::from_millis(i));
            while let Some(e) = monitor.poll_event() {
                if let MonitorEvent::Frame(o) = e {
                    if i % 10_000 == 9_999 {
                        report.finding(&Finding {
                            kind: FindingKind::UnexpectedConsecutiveFrame,
                            conversation: o.conversation.unwrap(),
                            from: o.from,
                            frame: o.at,
                            since: None,
                        });
                    }
                    report.observe(&o);
                }
            }
        }
        report
    }

    #[test]
    fn a_long_recording_is_counted_whole_and_kept_in_part() {
        let report = report_of(295_000);
        assert_eq!(report.frames_total, 295_000);
        assert_eq!(
            report.counts[0].iter().map(|&c| u64::from(c)).sum::<u64>(),
            295_000
        );
        // The first frames (the finding on the last of them keeps the next ones too), then the
        // frames before and after each of the 24 findings past them.
        assert_eq!(report.marks.len(), FRAME_LIMIT + WINDOW + 24 * (2 * WINDOW));
        assert!(report.marks.windows(2).all(|w| w[0].index < w[1].index));
        assert_eq!(report.findings.len(), 29);
        let mut page = Vec::new();
        report.write(&mut page, "a.log", false).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("\"frames_total\":295000"));
        assert!(page.len() < 3_000_000, "{} bytes", page.len());
    }
}
