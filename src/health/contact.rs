//! What a node has seen of its database: when it last answered, whether its latest calls
//! failed, which calls are still waiting for an answer, and since when contact has been
//! unbroken. Pure bookkeeping on instants the caller passes, so tests drive it on virtual time.
//!
//! Contact breaks when a call fails with a database error, or when a call waits longer than the
//! stall limit (a connection that hangs without closing). It resumes at the first answer after
//! that. The reaper reads it ([`Contact::reap_gate`]): leases that expired while this node could
//! not see the database are not evidence that their owners died.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// Whether the reaper may treat expired leases as lost now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReapGate {
    /// Contact has been unbroken long enough: an expired lease means its owner stopped
    /// renewing while this node watched.
    Open,
    /// Contact resumed recently: owners get until `until` (a lease period after the
    /// resumption) to renew before their runs are recovered.
    Grace { resumed_at: DateTime<Utc>, until: DateTime<Utc> },
    /// The database is failing or a call has been waiting too long: nothing can be judged.
    Broken,
}

#[derive(Debug, Clone)]
struct Failing {
    since: DateTime<Utc>,
    error: String,
}

/// A ticket for a call in flight, from [`Contact::call_started`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallTicket(u64);

/// What [`Contact::answered`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Contact was unbroken and stays so.
    Steady,
    /// This answer ended a break (failures, or a stall this very call waited through).
    Resumed,
}

#[derive(Debug, Clone)]
pub struct Contact {
    stall_after: chrono::Duration,
    last_answer: Option<DateTime<Utc>>,
    failing: Option<Failing>,
    /// Start of the current unbroken contact; `None` while broken and before the first answer.
    unbroken_since: Option<DateTime<Utc>>,
    /// The latest resumption after a break (a first answer at start is not one).
    resumed_at: Option<DateTime<Utc>>,
    /// Breaks so far: whoever must act after each (renew leases first) remembers the count.
    breaks: u64,
    /// Calls waiting for an answer, by ticket, with their start.
    waiting: BTreeMap<CallTicket, DateTime<Utc>>,
    next_ticket: u64,
    errors: u64,
    reconnects: u64,
}

impl Contact {
    pub fn new(stall_after: std::time::Duration) -> Contact {
        Contact {
            stall_after: chrono::Duration::from_std(stall_after).unwrap_or(chrono::Duration::MAX),
            last_answer: None,
            failing: None,
            unbroken_since: None,
            resumed_at: None,
            breaks: 0,
            waiting: BTreeMap::new(),
            next_ticket: 0,
            errors: 0,
            reconnects: 0,
        }
    }

    pub fn call_started(&mut self, now: DateTime<Utc>) -> CallTicket {
        let ticket = CallTicket(self.next_ticket);
        self.next_ticket += 1;
        self.waiting.insert(ticket, now);
        ticket
    }

    /// The call was dropped before it ended (its loop stopped): it says nothing.
    pub fn call_abandoned(&mut self, ticket: CallTicket) {
        self.waiting.remove(&ticket);
    }

    /// The database answered the call at `now`.
    pub fn answered(&mut self, ticket: CallTicket, now: DateTime<Utc>) -> Answer {
        let started = self.waiting.remove(&ticket).unwrap_or(now);
        self.last_answer = Some(self.last_answer.map_or(now, |last| last.max(now)));
        // A call that waited through a stall: contact was broken while it waited, unless
        // another call waiting through the same stall answered first and resumed it.
        let resumed_lately = self.resumed_at.is_some_and(|at| at >= now - self.stall_after);
        if now - started > self.stall_after && !resumed_lately {
            self.break_contact();
        }
        match self.unbroken_since {
            Some(_) => Answer::Steady,
            None if self.failing.is_none() && self.resumed_at.is_none() && self.breaks == 0 => {
                // The first answer of this process: contact starts, nothing resumes.
                self.unbroken_since = Some(now);
                Answer::Steady
            }
            None => {
                self.failing = None;
                self.unbroken_since = Some(now);
                self.resumed_at = Some(now);
                self.reconnects += 1;
                Answer::Resumed
            }
        }
    }

    /// The call failed with a database error at `now`.
    pub fn failed(&mut self, ticket: CallTicket, now: DateTime<Utc>, error: &str) {
        self.waiting.remove(&ticket);
        self.errors += 1;
        self.break_contact();
        match self.failing.as_mut() {
            Some(failing) => failing.error = error.to_owned(),
            None => self.failing = Some(Failing { since: now, error: error.to_owned() }),
        }
    }

    fn break_contact(&mut self) {
        if self.unbroken_since.take().is_some() || self.breaks == 0 {
            self.breaks += 1;
        }
    }

    /// How many times contact broke so far.
    pub fn breaks(&self) -> u64 {
        self.breaks
    }

    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// How many times contact resumed after a break.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    pub fn last_answer(&self) -> Option<DateTime<Utc>> {
        self.last_answer
    }

    /// Since when the database has been failing, and its latest error.
    pub fn failing(&self) -> Option<(DateTime<Utc>, &str)> {
        self.failing.as_ref().map(|failing| (failing.since, failing.error.as_str()))
    }

    /// The start of the call that has been waiting longest, if any.
    pub fn oldest_waiting(&self) -> Option<DateTime<Utc>> {
        self.waiting.values().min().copied()
    }

    /// Whether a call has been waiting longer than the stall limit at `now`.
    pub fn stalled(&self, now: DateTime<Utc>) -> bool {
        self.oldest_waiting().is_some_and(|started| now - started > self.stall_after)
    }

    /// Whether leases that expired before `now` may be recovered, for leases of `lease`. Only a
    /// lease period of unbroken contact after a break makes an expired lease evidence that its
    /// owner stopped: during the break the owner could not renew either.
    pub fn reap_gate(&self, now: DateTime<Utc>, lease: std::time::Duration) -> ReapGate {
        if self.failing.is_some() || self.stalled(now) || self.unbroken_since.is_none() {
            return ReapGate::Broken;
        }
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        match self.resumed_at {
            Some(resumed_at) if now < resumed_at + lease => {
                ReapGate::Grace { resumed_at, until: resumed_at + lease }
            }
            _ => ReapGate::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const STALL: Duration = Duration::from_secs(10);
    const LEASE: Duration = Duration::from_secs(30);

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn answer(contact: &mut Contact, started: i64, ended: i64) -> Answer {
        let ticket = contact.call_started(at(started));
        contact.answered(ticket, at(ended))
    }

    fn fail(contact: &mut Contact, when: i64) {
        let ticket = contact.call_started(at(when));
        contact.failed(ticket, at(when), "connection refused");
    }

    #[test]
    fn a_fresh_node_reaps_at_once() {
        let mut contact = Contact::new(STALL);
        assert_eq!(contact.reap_gate(at(0), LEASE), ReapGate::Broken, "never answered yet");
        assert_eq!(answer(&mut contact, 0, 0), Answer::Steady);
        assert_eq!(contact.reap_gate(at(1), LEASE), ReapGate::Open);
        assert_eq!((contact.breaks(), contact.reconnects()), (0, 0));
    }

    #[test]
    fn after_an_outage_owners_get_a_lease_period_from_the_reconnection() {
        let mut contact = Contact::new(STALL);
        answer(&mut contact, 0, 0);
        fail(&mut contact, 5);
        fail(&mut contact, 6);
        assert_eq!(contact.reap_gate(at(7), LEASE), ReapGate::Broken);
        assert_eq!(contact.failing(), Some((at(5), "connection refused")));
        assert_eq!(contact.breaks(), 1, "one outage, one break");
        assert_eq!(answer(&mut contact, 50, 50), Answer::Resumed);
        assert_eq!(contact.failing(), None);
        let grace = ReapGate::Grace { resumed_at: at(50), until: at(80) };
        assert_eq!(contact.reap_gate(at(50), LEASE), grace);
        assert_eq!(contact.reap_gate(at(79), LEASE), grace);
        assert_eq!(contact.reap_gate(at(80), LEASE), ReapGate::Open);
        assert_eq!((contact.errors(), contact.reconnects()), (2, 1));
    }

    #[test]
    fn a_call_waiting_past_the_stall_limit_breaks_contact_until_it_answers() {
        let mut contact = Contact::new(STALL);
        answer(&mut contact, 0, 0);
        let hung = contact.call_started(at(1));
        // Another call that started later and answered quickly does not hide the hung one.
        answer(&mut contact, 9, 9);
        assert_eq!(contact.reap_gate(at(10), LEASE), ReapGate::Open, "waiting 9 s: not yet");
        assert!(contact.stalled(at(12)));
        assert_eq!(contact.reap_gate(at(12), LEASE), ReapGate::Broken);
        // The stall ends: the call answers 39 s after it started.
        assert_eq!(contact.answered(hung, at(40)), Answer::Resumed);
        assert_eq!(
            contact.reap_gate(at(41), LEASE),
            ReapGate::Grace { resumed_at: at(40), until: at(70) }
        );
        assert_eq!(contact.reconnects(), 1);
    }

    #[test]
    fn calls_stuck_in_one_stall_make_one_break() {
        let mut contact = Contact::new(STALL);
        answer(&mut contact, 0, 0);
        let stuck: Vec<CallTicket> =
            (1..5).map(|second| contact.call_started(at(second))).collect();
        let answers: Vec<Answer> =
            stuck.iter().map(|call| contact.answered(*call, at(30))).collect();
        assert_eq!(answers, [Answer::Resumed, Answer::Steady, Answer::Steady, Answer::Steady]);
        assert_eq!((contact.breaks(), contact.reconnects()), (1, 1));
        // A later stall is a break of its own.
        assert_eq!(answer(&mut contact, 31, 60), Answer::Resumed);
        assert_eq!((contact.breaks(), contact.reconnects()), (2, 2));
    }

    #[test]
    fn a_slow_answer_is_a_break_even_when_nothing_watched_it_waiting() {
        let mut contact = Contact::new(STALL);
        answer(&mut contact, 0, 0);
        assert_eq!(answer(&mut contact, 1, 20), Answer::Resumed);
        assert_eq!(contact.breaks(), 1);
        assert_eq!(answer(&mut contact, 21, 22), Answer::Steady);
    }

    #[test]
    fn a_node_that_starts_while_the_database_is_away_waits_a_lease_period_too() {
        let mut contact = Contact::new(STALL);
        fail(&mut contact, 0);
        assert_eq!(answer(&mut contact, 5, 5), Answer::Resumed);
        assert_eq!(
            contact.reap_gate(at(6), LEASE),
            ReapGate::Grace { resumed_at: at(5), until: at(35) }
        );
    }

    #[test]
    fn an_abandoned_call_says_nothing() {
        let mut contact = Contact::new(STALL);
        answer(&mut contact, 0, 0);
        let dropped = contact.call_started(at(1));
        contact.call_abandoned(dropped);
        assert_eq!(contact.reap_gate(at(30), LEASE), ReapGate::Open);
    }
}
