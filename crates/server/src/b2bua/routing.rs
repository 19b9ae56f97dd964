//! Which call a message belongs to: by dialog (Call-ID and our own tag, unique per leg
//! because we chose the tag) or by server transaction (CANCEL, transaction events).
//!
//! The table is read on the core task for every call-related message and written by
//! the call tasks as legs come and go; every operation is a few hash-map steps under
//! one mutex.

use std::collections::HashMap;

use ringfence_sip_proto::transaction::TxId;

use super::hooks::CallRef;

/// A leg's key: its Call-ID and the tag we chose for it (our To tag on the caller's
/// leg, our From tag on a callee leg).
pub(crate) fn dialog_key(call_id: &str, our_tag: &str) -> String {
    // Neither a Call-ID nor a tag can contain a line feed.
    format!("{call_id}\n{our_tag}")
}

struct Entry<S> {
    inbox: S,
    keys: Vec<String>,
}

/// Calls by id, dialog key and server transaction.
pub(crate) struct Table<S> {
    calls: HashMap<CallRef, Entry<S>>,
    dialogs: HashMap<String, CallRef>,
    txs: HashMap<TxId, CallRef>,
}

impl<S> Default for Table<S> {
    fn default() -> Self {
        Table { calls: HashMap::new(), dialogs: HashMap::new(), txs: HashMap::new() }
    }
}

impl<S: Clone> Table<S> {
    /// Adds a call with its inbox.
    pub fn insert_call(&mut self, call: CallRef, inbox: S) {
        self.calls.insert(call, Entry { inbox, keys: Vec::new() });
    }

    /// Routes dialog `key` to `call` (while the call exists). False if the call is gone.
    pub fn add_dialog(&mut self, call: CallRef, key: String) -> bool {
        let Some(e) = self.calls.get_mut(&call) else { return false };
        e.keys.push(key.clone());
        self.dialogs.insert(key, call);
        true
    }

    /// Routes server transaction `tx` to `call`.
    pub fn add_tx(&mut self, tx: TxId, call: CallRef) {
        self.txs.insert(tx, call);
    }

    /// Forgets `tx` (it terminated); returns the call it belonged to and its inbox.
    pub fn remove_tx(&mut self, tx: TxId) -> Option<(CallRef, S)> {
        let call = self.txs.remove(&tx)?;
        self.calls.get(&call).map(|e| (call, e.inbox.clone()))
    }

    /// The call owning dialog `key`.
    pub fn by_dialog(&self, key: &str) -> Option<(CallRef, S)> {
        let call = *self.dialogs.get(key)?;
        self.calls.get(&call).map(|e| (call, e.inbox.clone()))
    }

    /// The call owning server transaction `tx`.
    pub fn by_tx(&self, tx: TxId) -> Option<(CallRef, S)> {
        let call = *self.txs.get(&tx)?;
        self.calls.get(&call).map(|e| (call, e.inbox.clone()))
    }

    /// The inbox of `call`.
    pub fn inbox(&self, call: CallRef) -> Option<S> {
        self.calls.get(&call).map(|e| e.inbox.clone())
    }

    /// Removes `call` and its dialog keys. Its transactions are forgotten as they
    /// terminate.
    pub fn remove_call(&mut self, call: CallRef) {
        if let Some(e) = self.calls.remove(&call) {
            for k in e.keys {
                if self.dialogs.get(&k) == Some(&call) {
                    self.dialogs.remove(&k);
                }
            }
        }
    }

    /// Every call's inbox.
    pub fn inboxes(&self) -> Vec<(CallRef, S)> {
        self.calls.iter().map(|(c, e)| (*c, e.inbox.clone())).collect()
    }

    /// Calls held.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Dialog keys and transactions held (for leak checks).
    pub fn index_sizes(&self) -> (usize, usize) {
        (self.dialogs.len(), self.txs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(n: u64) -> TxId {
        // TxIds come from the layer; any started transaction gives one. Build one through
        // a layer so the test does not depend on the id's representation.
        use ringfence_sip_proto::transaction::{Peer, TransactionLayer, Transport};
        use ringfence_sip_types::Request;
        let mut layer = TransactionLayer::default();
        let mut last = None;
        for i in 0..n {
            let text = format!(
                "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{i}\r\n\
                 From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\n\
                 CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            );
            let req = Request::parse(text.as_bytes()).unwrap();
            let peer = Peer::new("192.0.2.1:5060".parse().unwrap(), Transport::Udp);
            last = Some(layer.start_client_transaction(std::time::Instant::now(), req, peer));
        }
        last.unwrap().unwrap()
    }

    #[test]
    fn routes_by_dialog_and_transaction_until_removed() {
        let mut t: Table<u32> = Table::default();
        let (a, b) = (CallRef(1), CallRef(2));
        t.insert_call(a, 10);
        t.insert_call(b, 20);
        assert!(t.add_dialog(a, dialog_key("cid-a", "tag-a")));
        assert!(t.add_dialog(a, dialog_key("cid-b", "tag-b")));
        assert!(!t.add_dialog(CallRef(9), dialog_key("x", "y")), "unknown call");
        let x = tx(1);
        t.add_tx(x, b);
        assert_eq!(t.by_dialog(&dialog_key("cid-b", "tag-b")), Some((a, 10)));
        assert_eq!(t.by_dialog(&dialog_key("cid-b", "other")), None);
        assert_eq!(t.by_tx(x), Some((b, 20)));
        t.remove_call(a);
        assert_eq!(t.by_dialog(&dialog_key("cid-a", "tag-a")), None);
        assert_eq!(t.index_sizes(), (0, 1));
        assert_eq!(t.remove_tx(x), Some((b, 20)));
        assert_eq!(t.index_sizes(), (0, 0));
        assert_eq!(t.len(), 1);
        assert_eq!(t.inbox(b), Some(20));
    }
}
