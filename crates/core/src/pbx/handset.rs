//! Playing a recording on the agent's desk phone (`call/handsetPlay`), as the
//! call log and the voicemail page both offer it: one request at a time, and
//! which item the phone played last.

/// The desk-phone playback of one page, keyed by its items' `K`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandsetPlayback<K> {
    /// The item being played on the desk phone (its request is in flight).
    pub pending: Option<K>,
    /// The item the desk phone played last.
    pub done: Option<K>,
}

impl<K> Default for HandsetPlayback<K> {
    fn default() -> Self {
        Self { pending: None, done: None }
    }
}

impl<K> HandsetPlayback<K> {
    /// The request for `key` left.
    pub fn start(&mut self, key: K) {
        self.pending = Some(key);
        self.done = None;
    }

    /// The PBX rings the desk phone with it.
    pub fn finish(&mut self) {
        self.done = self.pending.take();
    }

    /// The request failed: nothing is pending.
    pub fn fail(&mut self) {
        self.pending = None;
    }
}
