//! A document kept encoded ("packed") rather than as a live yrs `Doc`.
//!
//! A live `Doc` keeps each Yjs item as a struct of ~250 bytes with its content; encoded, the same
//! item takes ~25. Under interleaved typing in a thousand rooms the live documents were most of
//! the server's memory, so a room keeps its document packed: one encoded state (`base`) and the
//! updates applied since (`tail`). A client's update is appended to it without a `Doc` when the
//! update shows that a `Doc` would take it whole and as it is:
//! - every struct in it is new and follows what the document holds (no gap, no overlap, no skip);
//! - every item it refers to (left and right origin) is held or is an earlier item of the same
//!   client in the update, and no item names another item as its parent (only a `Doc` can tell
//!   whether that item is a type);
//! - it deletes only items that are held;
//! - nothing in it touches the server-owned map: no item of that map or next to one of its items,
//!   no deletion of one.
//!
//! Anything else (a server write, a read, an update outside those rules) unpacks the document into
//! a `Doc` first (see `Room`); the room packs it again once the server has not needed it for a
//! while. The tail is folded into the base through a `Doc` (so the base is always what yrs itself
//! encodes) once it holds `FOLD_EVERY` updates and an eighth of the base's size, or `FOLD_BYTES`:
//! a fold costs time in the document's size, so a large document folds less often.

use std::collections::HashMap;
use std::ops::Range;

use yrs::block::{
    BLOCK_GC_REF_NUMBER, BLOCK_SKIP_REF_NUMBER, HAS_ORIGIN, HAS_PARENT_SUB, HAS_RIGHT_ORIGIN,
    ItemContent,
};
use yrs::encoding::read::Read;
use yrs::updates::decoder::{Decode, Decoder, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, ID, ReadTxn, StateVector, Transact, Update};

/// When the tail is folded into the base (see the top of this module).
const FOLD_EVERY: usize = 64;
const FOLD_BYTES: usize = 64 * 1024;
/// Content type of a sub-document: never taken without a `Doc`.
const CONTENT_DOC: u8 = 9;

/// Sets of item ids: per client, sorted clock ranges that neither overlap nor touch.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Ids(HashMap<ClientID, Vec<Range<u32>>>);

impl Ids {
    pub fn insert(&mut self, client: ClientID, range: Range<u32>) {
        if range.is_empty() {
            return;
        }
        let ranges = self.0.entry(client).or_default();
        let first = ranges.partition_point(|r| r.end < range.start);
        let (mut start, mut end, mut last) = (range.start, range.end, first);
        while last < ranges.len() && ranges[last].start <= end {
            start = start.min(ranges[last].start);
            end = end.max(ranges[last].end);
            last += 1;
        }
        ranges.splice(first..last, std::iter::once(start..end));
    }

    pub fn contains(&self, id: &ID) -> bool {
        self.intersects(id.client, id.clock..id.clock + 1)
    }

    /// Whether any id of `range` is in the set.
    pub fn intersects(&self, client: ClientID, range: Range<u32>) -> bool {
        let Some(ranges) = self.0.get(&client) else {
            return false;
        };
        let i = ranges.partition_point(|r| r.end <= range.start);
        i < ranges.len() && ranges[i].start < range.end
    }

    /// Whether every id of `range` is in the set.
    pub fn covers(&self, client: ClientID, range: &Range<u32>) -> bool {
        let Some(ranges) = self.0.get(&client) else {
            return range.is_empty();
        };
        let i = ranges.partition_point(|r| r.end <= range.start);
        i < ranges.len() && ranges[i].start <= range.start && ranges[i].end >= range.end
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    fn ranges(&self) -> impl Iterator<Item = (ClientID, &Range<u32>)> {
        self.0
            .iter()
            .flat_map(|(client, ranges)| ranges.iter().map(move |r| (*client, r)))
    }
}

/// What an encoded update holds, read without building a `Doc`.
#[derive(Debug)]
struct Scanned {
    structs: Vec<Struct>,
    deletes: Ids,
}

#[derive(Debug)]
struct Struct {
    client: ClientID,
    clock: Range<u32>,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Gc,
    Skip,
    Item {
        origin: Option<ID>,
        right: Option<ID>,
        parent: Parent,
    },
}

#[derive(Debug)]
enum Parent {
    /// A root type, by name.
    Root(String),
    /// A type that is itself an item.
    Nested(ID),
    /// Not written: the parent of the item's left (or right) origin.
    Neighbour,
}

/// Reads an update (lib0 v1) as yrs' own decoder does (same fields, same lengths); None for one
/// that does not decode or holds a sub-document.
fn scan(data: &[u8]) -> Option<Scanned> {
    scan_v1(data).ok().flatten()
}

fn scan_v1(data: &[u8]) -> Result<Option<Scanned>, yrs::encoding::read::Error> {
    let mut d = DecoderV1::from(data);
    let mut structs = Vec::new();
    let clients: u32 = d.read_var()?;
    for _ in 0..clients {
        let count: u32 = d.read_var()?;
        let client = d.read_client()?;
        let mut clock: u32 = d.read_var()?;
        for _ in 0..count {
            let (len, kind) = match d.read_info()? {
                BLOCK_SKIP_REF_NUMBER => (d.read_var()?, Kind::Skip),
                BLOCK_GC_REF_NUMBER => (d.read_len()?, Kind::Gc),
                info => {
                    let origin = if info & HAS_ORIGIN != 0 {
                        Some(d.read_left_id()?)
                    } else {
                        None
                    };
                    let right = if info & HAS_RIGHT_ORIGIN != 0 {
                        Some(d.read_right_id()?)
                    } else {
                        None
                    };
                    let parent = if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
                        let parent = if d.read_parent_info()? {
                            Parent::Root(d.read_string()?.to_string())
                        } else {
                            Parent::Nested(d.read_left_id()?)
                        };
                        if info & HAS_PARENT_SUB != 0 {
                            d.read_string()?;
                        }
                        parent
                    } else {
                        Parent::Neighbour
                    };
                    if info & 0b1111 == CONTENT_DOC {
                        return Ok(None);
                    }
                    let content = ItemContent::decode(&mut d, info)?;
                    (
                        content.len_utf16(),
                        Kind::Item {
                            origin,
                            right,
                            parent,
                        },
                    )
                }
            };
            if len == 0 {
                // yrs refuses an empty skip or GC and drops an empty item without moving the clock.
                match kind {
                    Kind::Item { .. } => continue,
                    _ => return Ok(None),
                }
            }
            let end = clock
                .checked_add(len)
                .ok_or(yrs::encoding::read::Error::UnexpectedValue)?;
            structs.push(Struct {
                client,
                clock: clock..end,
                kind,
            });
            clock = end;
        }
    }
    let mut deletes = Ids::default();
    let clients: u32 = d.read_var()?;
    for _ in 0..clients {
        d.reset_ds_cur_val();
        let client = ClientID::new(d.read_var()?);
        let ranges: u32 = d.read_var()?;
        for _ in 0..ranges {
            let start = d.read_ds_clock()?;
            let len = d.read_ds_len()?;
            let end = start
                .checked_add(len)
                .ok_or(yrs::encoding::read::Error::UnexpectedValue)?;
            deletes.insert(client, start..end);
        }
    }
    Ok(Some(Scanned { structs, deletes }))
}

/// The items of `scanned` that belong to the root map `name`: an item with that root as parent,
/// or next to an item that belongs (in `known` or found here), which is where yrs takes such an
/// item's parent from. Repeated until nothing is added, as items may refer to later ones.
fn items_of_map(scanned: &Scanned, name: &str, known: &Ids) -> Ids {
    let mut found = Ids::default();
    loop {
        let mut grew = false;
        for s in &scanned.structs {
            let Kind::Item {
                origin,
                right,
                parent,
            } = &s.kind
            else {
                continue;
            };
            if found.covers(s.client, &s.clock) {
                continue;
            }
            let belongs = |id: &ID| known.contains(id) || found.contains(id);
            let of_map = match parent {
                Parent::Root(root) => root == name,
                Parent::Nested(id) => belongs(id),
                Parent::Neighbour => {
                    origin.as_ref().is_some_and(belongs) || right.as_ref().is_some_and(belongs)
                }
            };
            if of_map {
                found.insert(s.client, s.clock.clone());
                grew = true;
            }
        }
        if !grew {
            return found;
        }
    }
}

/// What became of an update offered to a packed document.
#[derive(Debug, PartialEq)]
pub enum Appended {
    /// Appended: it is the change to broadcast and store, as received.
    Applied,
    /// It holds nothing the document does not have.
    Nothing,
    /// Only a `Doc` can apply it.
    NeedsDoc,
}

pub struct Packed {
    /// The document as of the last fold: yrs' encoding of its whole state.
    base: Vec<u8>,
    /// Updates appended since, in order, end to end (one allocation rather than one each).
    tail: Vec<u8>,
    /// Where each update of `tail` ends.
    tail_ends: Vec<u32>,
    /// What base and tail hold: per client, the next clock.
    sv: StateVector,
    /// Items deleted so far, to tell a deletion already made from a new one.
    deleted: Ids,
    /// The server-owned root map's name, if the document has one.
    guard: Option<&'static str>,
    /// Items of that map; also GC'd ranges, which might once have been.
    guarded: Ids,
}

impl Packed {
    /// Packs a document. None when it holds structs waiting for missing ones (pending, or kept
    /// past a gap), or an item this module cannot read.
    pub fn pack(doc: &Doc, guard: Option<&'static str>) -> Option<Packed> {
        let txn = doc.transact();
        if txn.store().pending_update().is_some() || txn.store().pending_ds().is_some() {
            return None;
        }
        let base = shrunk(txn.encode_state_as_update_v1(&StateVector::default()));
        let sv = txn.state_vector();
        drop(txn);
        let scanned = scan(&base)?;
        if scanned.structs.iter().any(|s| matches!(s.kind, Kind::Skip)) {
            // yrs keeps structs that arrive before the ones they follow in its block store, past
            // a skipped range, and encodes them so. Its state vector stops at the gap, so ours
            // would too, and would stay behind the structs held past the gap once it is filled.
            return None;
        }
        let mut guarded = Ids::default();
        if let Some(name) = guard {
            guarded = items_of_map(&scanned, name, &Ids::default());
            for s in scanned
                .structs
                .iter()
                .filter(|s| matches!(s.kind, Kind::Gc))
            {
                guarded.insert(s.client, s.clock.clone());
            }
        }
        Some(Packed {
            base,
            tail: Vec::new(),
            tail_ends: Vec::new(),
            sv,
            deleted: scanned.deletes,
            guard,
            guarded,
        })
    }

    /// The document as a `Doc`: the base, then every update of the tail.
    pub fn unpack(&self) -> Doc {
        let doc = Doc::new();
        {
            let mut txn = doc.transact_mut();
            for data in std::iter::once(&self.base[..]).chain(self.tail_updates()) {
                // Everything here was checked when appended, so this should not fail; if yrs
                // fails or panics on one update anyway, that update is left out (and said), so
                // one bad update cannot make every later fold or read of the document fail.
                let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    Update::decode_v1(data)
                        .map_err(|e| e.to_string())
                        .and_then(|u| txn.apply_update(u).map_err(|e| e.to_string()))
                }))
                .unwrap_or_else(|_| Err("yrs panicked".to_string()));
                if let Err(error) = applied {
                    tracing::error!(%error, bytes = data.len(), "leaving out a packed document's update that does not apply");
                }
            }
        }
        doc
    }

    fn tail_updates(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.tail_ends.iter().copied());
        starts
            .zip(self.tail_ends.iter().copied())
            .map(|(start, end)| &self.tail[start as usize..end as usize])
    }

    pub fn state_vector(&self) -> &StateVector {
        &self.sv
    }

    /// The whole document as one update.
    pub fn state(&mut self) -> &[u8] {
        self.fold();
        &self.base
    }

    /// The part of the document a peer with state vector `sv` lacks.
    pub fn diff(&mut self, sv: &StateVector) -> Vec<u8> {
        self.fold();
        yrs::diff_updates_v1(&self.base, &sv.encode_v1()).unwrap_or_else(|_| self.base.clone())
    }

    /// Appends a client's update when the rules at the top of this module allow it.
    pub fn append(&mut self, data: &[u8]) -> Appended {
        let Some(scanned) = scan(data) else {
            return Appended::NeedsDoc;
        };
        // Where each client's structs end once this update is in.
        let mut next: HashMap<ClientID, u32> = HashMap::new();
        for s in &scanned.structs {
            let expected = next
                .get(&s.client)
                .copied()
                .unwrap_or_else(|| self.sv.get(&s.client));
            if matches!(s.kind, Kind::Skip) || s.clock.start != expected {
                return Appended::NeedsDoc;
            }
            if self.guard.is_some() && matches!(s.kind, Kind::Gc) {
                return Appended::NeedsDoc;
            }
            next.insert(s.client, s.clock.end);
        }
        let held_until = |client: &ClientID| {
            next.get(client)
                .copied()
                .unwrap_or_else(|| self.sv.get(client))
        };
        for s in &scanned.structs {
            if let Kind::Item {
                origin,
                right,
                parent,
            } = &s.kind
            {
                // What an item is placed next to exists before it: held already, or an earlier
                // item of its own client in this update. A Doc waits forever for a neighbour
                // that comes later (or is the item itself), and only a Doc sorts out items of
                // several clients that refer to each other within one update.
                let before = |id: &ID| {
                    id.clock < self.sv.get(&id.client)
                        || (id.client == s.client && id.clock < s.clock.start)
                };
                if matches!(parent, Parent::Nested(_))
                    || origin.as_ref().is_some_and(|id| !before(id))
                    || right.as_ref().is_some_and(|id| !before(id))
                {
                    return Appended::NeedsDoc;
                }
            }
        }
        if scanned
            .deletes
            .ranges()
            .any(|(client, r)| r.end > held_until(&client))
        {
            return Appended::NeedsDoc;
        }
        if let Some(name) = self.guard
            && (!items_of_map(&scanned, name, &self.guarded).is_empty()
                || scanned
                    .deletes
                    .ranges()
                    .any(|(client, r)| self.guarded.intersects(client, r.clone())))
        {
            return Appended::NeedsDoc;
        }
        let deletes_new = scanned
            .deletes
            .ranges()
            .any(|(client, r)| !self.deleted.covers(client, r));
        if scanned.structs.is_empty() && !deletes_new {
            return Appended::Nothing;
        }
        for (client, end) in next {
            self.sv.set_max(client, end);
        }
        for (client, r) in scanned.deletes.ranges() {
            self.deleted.insert(client, r.clone());
        }
        self.tail.extend_from_slice(data);
        self.tail_ends.push(self.tail.len() as u32);
        if (self.tail_ends.len() >= FOLD_EVERY && self.tail.len() >= self.base.len() / 8)
            || self.tail.len() >= FOLD_BYTES
        {
            self.fold();
        }
        Appended::Applied
    }

    /// Folds the tail into the base. The guarded set is kept as it is: appends never add to it.
    fn fold(&mut self) {
        if self.tail_ends.is_empty() {
            return;
        }
        let doc = self.unpack();
        let txn = doc.transact();
        self.base = shrunk(txn.encode_state_as_update_v1(&StateVector::default()));
        self.tail = Vec::new();
        self.tail_ends = Vec::new();
    }
}

/// yrs' encoder starts with a 1 KiB buffer, so a 30-byte edit comes back in a 1 KiB allocation.
/// Everything the room keeps (broadcast frames, pending updates, snapshots) is copied to an
/// allocation of its length: without it, those spare bytes were most of the server's memory
/// under load. A copy rather than an in-place shrink, so that the 1 KiB buffer is freed whole
/// and reused by the next encoding instead of leaving a hole beside a long-lived frame.
pub(super) fn shrunk(encoded: Vec<u8>) -> Vec<u8> {
    if encoded.capacity() - encoded.len() < 64 {
        encoded
    } else {
        encoded.as_slice().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{GetString, Map, Text, WriteTxn};

    /// A client's replica: what it sends for each change.
    struct Client(Doc);

    impl Client {
        fn new(id: u64) -> Client {
            Client(Doc::with_client_id(id))
        }
        fn sync_from(&self, doc: &Doc) {
            let sv = self.0.transact().state_vector();
            let update = doc.transact().encode_state_as_update_v1(&sv);
            self.0
                .transact_mut()
                .apply_update(Update::decode_v1(&update).unwrap())
                .unwrap();
        }
        fn change(&self, f: impl FnOnce(&mut yrs::TransactionMut)) -> Vec<u8> {
            let mut txn = self.0.transact_mut();
            f(&mut txn);
            txn.encode_update_v1()
        }
    }

    fn text(doc: &Doc, name: &str) -> String {
        let text = doc.get_or_insert_text(name);
        text.get_string(&doc.transact())
    }

    fn server_doc() -> Doc {
        let doc = Doc::with_client_id(1);
        {
            let meta = doc.get_or_insert_map("meta");
            let code = doc.get_or_insert_text("code");
            let mut txn = doc.transact_mut();
            meta.insert(&mut txn, "language", "python");
            code.insert(&mut txn, 0, "print(1)\n");
        }
        doc
    }

    /// The server's document packed (with `guard` as its server-owned map) and client 100 in sync.
    fn packed_with_client(server: &Doc, guard: Option<&'static str>) -> (Packed, Client) {
        let a = Client::new(100);
        a.sync_from(server);
        (Packed::pack(server, guard).unwrap(), a)
    }

    #[test]
    fn ids_merge_and_answer() {
        let c = ClientID::new(7);
        let mut ids = Ids::default();
        ids.insert(c, 10..20);
        ids.insert(c, 30..40);
        ids.insert(c, 20..30);
        assert_eq!(ids.0[&c], vec![10..40]);
        ids.insert(c, 0..5);
        assert!(ids.covers(c, &(12..40)) && !ids.covers(c, &(3..12)));
        assert!(ids.intersects(c, 4..6) && !ids.intersects(c, 5..10));
        assert!(ids.contains(&ID::new(c, 39)) && !ids.contains(&ID::new(c, 40)));
    }

    #[test]
    fn typing_is_appended_and_the_document_is_what_a_doc_makes_of_it() {
        let server = server_doc();
        let mut packed = Packed::pack(&server, Some("meta")).unwrap();
        let (a, b) = (Client::new(100), Client::new(200));
        a.sync_from(&server);
        b.sync_from(&server);
        for i in 0..150 {
            let (who, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
            let update = who.change(|txn| {
                let code = txn.get_or_insert_text("code");
                let len = code.len(txn);
                code.insert(txn, len, &format!("x{i} "));
                if i % 7 == 0 {
                    code.remove_range(txn, 0, 1);
                }
            });
            assert_eq!(packed.append(&update), Appended::Applied, "edit {i}");
            other
                .0
                .transact_mut()
                .apply_update(Update::decode_v1(&update).unwrap())
                .unwrap();
        }
        let doc = packed.unpack();
        assert_eq!(text(&doc, "code"), text(&a.0, "code"));
        assert_eq!(text(&b.0, "code"), text(&a.0, "code"));
        // A peer that has nothing gets everything; one that is up to date gets no structs.
        let fresh = Doc::new();
        fresh
            .transact_mut()
            .apply_update(Update::decode_v1(&packed.diff(&StateVector::default())).unwrap())
            .unwrap();
        assert_eq!(text(&fresh, "code"), text(&a.0, "code"));
        let nothing = Update::decode_v1(&packed.diff(&a.0.transact().state_vector())).unwrap();
        assert!(nothing.state_vector().is_empty());
    }

    #[test]
    fn a_repeated_update_or_deletion_is_nothing_new() {
        let server = server_doc();
        let (mut packed, a) = packed_with_client(&server, Some("meta"));
        let insert = a.change(|txn| txn.get_or_insert_text("code").insert(txn, 0, "abc"));
        let delete = a.change(|txn| txn.get_or_insert_text("code").remove_range(txn, 0, 2));
        assert_eq!(packed.append(&insert), Appended::Applied);
        assert_eq!(packed.append(&delete), Appended::Applied);
        // The same structs again overlap what is held: only a Doc sorts that out.
        assert_eq!(packed.append(&insert), Appended::NeedsDoc);
        // The same deletion again adds nothing (a sync reply carries the peer's whole delete set).
        let reply =
            a.0.transact()
                .encode_state_as_update_v1(&a.0.transact().state_vector());
        assert_eq!(packed.append(&reply), Appended::Nothing);
        assert_eq!(packed.append(&delete), Appended::Nothing);
    }

    #[test]
    fn anything_touching_the_server_map_needs_a_doc() {
        let server = server_doc();
        let (mut packed, a) = packed_with_client(&server, Some("meta"));
        // Overwriting a key: the new item's parent comes from the old value (its left origin).
        let overwrite = a.change(|txn| {
            txn.get_or_insert_map("meta")
                .insert(txn, "language", "javascript");
        });
        assert_eq!(packed.append(&overwrite), Appended::NeedsDoc);
        let new_key = a.change(|txn| {
            txn.get_or_insert_map("meta").insert(txn, "ended", true);
        });
        assert_eq!(packed.append(&new_key), Appended::NeedsDoc);
        // Deleting a key of the map.
        let b = Client::new(300);
        b.sync_from(&server);
        let removal = b.change(|txn| {
            txn.get_or_insert_map("meta").remove(txn, "language");
        });
        assert_eq!(packed.append(&removal), Appended::NeedsDoc);
        // The same document without a guarded map takes the overwrite.
        let mut unguarded = Packed::pack(&server, None).unwrap();
        assert_eq!(unguarded.append(&overwrite), Appended::Applied);
    }

    #[test]
    fn gaps_unknown_neighbours_nested_parents_and_bad_bytes_need_a_doc() {
        let server = server_doc();
        let (mut packed, a) = packed_with_client(&server, None);
        let first = a.change(|txn| txn.get_or_insert_text("code").insert(txn, 0, "a"));
        let second = a.change(|txn| txn.get_or_insert_text("code").insert(txn, 1, "b"));
        // The second without the first: a gap.
        assert_eq!(packed.append(&second), Appended::NeedsDoc);
        // Another client typing after an item the packed document does not hold.
        let b = Client::new(200);
        b.sync_from(&a.0);
        let after_unknown = b.change(|txn| txn.get_or_insert_text("code").insert(txn, 2, "c"));
        assert_eq!(packed.append(&after_unknown), Appended::NeedsDoc);
        assert_eq!(packed.append(&first), Appended::Applied);
        assert_eq!(packed.append(&second), Appended::Applied);
        assert_eq!(packed.append(&after_unknown), Appended::Applied);
        // An item inside a nested type names its parent by id.
        let nested = a.change(|txn| {
            let runs = txn.get_or_insert_array("runs");
            yrs::Array::push_back(&runs, txn, yrs::MapPrelim::default());
        });
        let inside = {
            let c = Client::new(400);
            c.sync_from(&a.0);
            c.0.transact_mut()
                .apply_update(Update::decode_v1(&nested).unwrap())
                .unwrap();
            c.change(|txn| {
                let runs = txn.get_or_insert_array("runs");
                let map: yrs::MapRef = yrs::Array::get(&runs, txn, 0).unwrap().cast().unwrap();
                map.insert(txn, "status", "done");
            })
        };
        assert_eq!(packed.append(&nested), Appended::Applied);
        assert_eq!(packed.append(&inside), Appended::NeedsDoc);
        assert_eq!(packed.append(&[1, 2, 3]), Appended::NeedsDoc);
        assert_eq!(text(&packed.unpack(), "code"), "abcprint(1)\n");
    }

    /// Three clients insert and delete at random places, each on a replica that lags behind
    /// (updates reach it in batches), in the server's order: the packed document, a `Doc` fed
    /// the same updates, and every client end with the same text, whatever path each update took.
    #[test]
    fn random_concurrent_editing_matches_a_doc() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut random = move |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as u32
        };
        for round in 0..20 {
            let server = server_doc();
            let reference = Doc::with_client_id(2);
            reference
                .transact_mut()
                .apply_update(
                    Update::decode_v1(
                        &server
                            .transact()
                            .encode_state_as_update_v1(&StateVector::default()),
                    )
                    .unwrap(),
                )
                .unwrap();
            let mut packed = Packed::pack(&server, Some("meta")).unwrap();
            let clients: Vec<Client> = (0..3).map(|i| Client::new(100 + i + round * 10)).collect();
            for c in &clients {
                c.sync_from(&server);
            }
            // What each client has not yet received, in the server's order.
            let mut inbox: Vec<Vec<Vec<u8>>> = vec![Vec::new(); clients.len()];
            let mut paths = (0, 0);
            for _ in 0..300 {
                let who = random(3) as usize;
                if random(3) == 0 {
                    for update in inbox[who].drain(..) {
                        clients[who]
                            .0
                            .transact_mut()
                            .apply_update(Update::decode_v1(&update).unwrap())
                            .unwrap();
                    }
                }
                let update = clients[who].change(|txn| {
                    let code = txn.get_or_insert_text("code");
                    let len = code.len(txn);
                    if len > 10 && random(4) == 0 {
                        let at = random(len - 5);
                        code.remove_range(txn, at, 1 + random(4));
                    } else {
                        code.insert(txn, random(len + 1), &format!("<{who}:{}>", random(1000)));
                    }
                });
                match packed.append(&update) {
                    Appended::Applied => paths.0 += 1,
                    Appended::Nothing => {}
                    // The server takes it through a Doc: what a Doc makes of it is appended as the
                    // room does once its document is live, so the packed copy follows along.
                    Appended::NeedsDoc => {
                        paths.1 += 1;
                        let doc = packed.unpack();
                        doc.transact_mut()
                            .apply_update(Update::decode_v1(&update).unwrap())
                            .unwrap();
                        packed = Packed::pack(&doc, Some("meta")).unwrap();
                    }
                }
                reference
                    .transact_mut()
                    .apply_update(Update::decode_v1(&update).unwrap())
                    .unwrap();
                for (i, inbox) in inbox.iter_mut().enumerate() {
                    if i != who {
                        inbox.push(update.clone());
                    }
                }
            }
            for (c, inbox) in clients.iter().zip(inbox) {
                for update in inbox {
                    c.0.transact_mut()
                        .apply_update(Update::decode_v1(&update).unwrap())
                        .unwrap();
                }
            }
            let expected = text(&reference, "code");
            assert_eq!(text(&packed.unpack(), "code"), expected, "round {round}");
            for c in &clients {
                assert_eq!(text(&c.0, "code"), expected, "round {round}");
            }
            // A newcomer syncing from the packed document gets the same.
            let fresh = Doc::new();
            fresh
                .transact_mut()
                .apply_update(Update::decode_v1(&packed.diff(&StateVector::default())).unwrap())
                .unwrap();
            assert_eq!(text(&fresh, "code"), expected);
            assert!(
                paths.0 > 250,
                "most edits are appended without a Doc ({paths:?})"
            );
        }
    }

    #[test]
    fn folding_keeps_the_document_and_the_guard() {
        let server = server_doc();
        let (mut packed, a) = packed_with_client(&server, Some("meta"));
        for i in 0..(FOLD_EVERY * 2 + 3) {
            let update = a.change(|txn| {
                txn.get_or_insert_text("code")
                    .insert(txn, 0, &i.to_string())
            });
            assert_eq!(packed.append(&update), Appended::Applied);
        }
        assert!(packed.tail_ends.len() < FOLD_EVERY);
        assert_eq!(text(&packed.unpack(), "code"), text(&a.0, "code"));
        let overwrite = a.change(|txn| {
            txn.get_or_insert_map("meta").insert(txn, "language", "go");
        });
        assert_eq!(packed.append(&overwrite), Appended::NeedsDoc);
    }

    #[test]
    fn a_large_document_folds_less_often() {
        let server = server_doc();
        server.get_or_insert_text("code").insert(
            &mut server.transact_mut(),
            0,
            &"x".repeat(80_000),
        );
        let (mut packed, a) = packed_with_client(&server, Some("meta"));
        let mut appended = 0;
        // 64 small edits are far less than an eighth of the document: no fold yet.
        while appended < FOLD_EVERY * 2 {
            let update = a.change(|txn| txn.get_or_insert_text("code").insert(txn, 0, "y"));
            assert_eq!(packed.append(&update), Appended::Applied);
            appended += 1;
        }
        assert_eq!(packed.tail_ends.len(), appended);
        // Once the tail reaches an eighth of the base, it folds.
        while !packed.tail_ends.is_empty() {
            let update = a.change(|txn| {
                txn.get_or_insert_text("code")
                    .insert(txn, 0, &"z".repeat(200))
            });
            assert_eq!(packed.append(&update), Appended::Applied);
        }
        assert_eq!(text(&packed.unpack(), "code"), text(&a.0, "code"));
    }

    /// The server's copy of a document, as the room keeps it: packed, or a live `Doc` while an
    /// update needs one (packed again as soon as it can be).
    enum Body {
        Packed(Box<Packed>),
        Live(Doc),
    }

    /// Everything a client can see of a document, to compare two of them.
    fn content(doc: &Doc) -> (String, yrs::Any, yrs::Any, yrs::Any) {
        use yrs::types::ToJson;
        let code = doc.get_or_insert_text("code");
        let meta = doc.get_or_insert_map("meta");
        let data = doc.get_or_insert_map("data");
        let list = doc.get_or_insert_array("list");
        let txn = doc.transact();
        (
            code.get_string(&txn),
            meta.to_json(&txn),
            data.to_json(&txn),
            list.to_json(&txn),
        )
    }

    fn apply(doc: &Doc, update: &[u8]) {
        doc.transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }

    fn whole(doc: &Doc) -> Vec<u8> {
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// One to three random changes by one client, as the update it sends: text typed (some of
    /// it outside the BMP, which counts twice in the lengths of encoded items) or deleted, keys of a map set or
    /// removed (now and then of the server-owned `meta`), array items pushed, inserted, removed,
    /// and maps nested in the array written to.
    fn random_change(client: &Doc, rng: &mut rand::rngs::StdRng) -> Vec<u8> {
        use rand::Rng;
        use yrs::{Array, ArrayRef, MapPrelim, MapRef};
        let code = client.get_or_insert_text("code");
        let meta = client.get_or_insert_map("meta");
        let data = client.get_or_insert_map("data");
        let list = client.get_or_insert_array("list");
        let mut txn = client.transact_mut();
        for _ in 0..rng.random_range(1..=3) {
            // Offsets given to a text count UTF-8 bytes (yrs' default `OffsetKind`): only
            // those between characters.
            let mut bounds = vec![0u32];
            for c in code.get_string(&txn).chars() {
                bounds.push(bounds.last().unwrap() + c.len_utf8() as u32);
            }
            match rng.random_range(0..100) {
                0..40 => {
                    let words = ["x", "abc", " ", "é", "😀", "\n", "zz😀é"];
                    let at = bounds[rng.random_range(0..bounds.len())];
                    code.insert(&mut txn, at, words[rng.random_range(0..words.len())]);
                }
                40..60 if bounds.len() > 1 => {
                    let from = rng.random_range(0..bounds.len() - 1);
                    let to = rng.random_range(from + 1..bounds.len().min(from + 6));
                    code.remove_range(&mut txn, bounds[from], bounds[to] - bounds[from]);
                }
                60..75 => {
                    let key = ["a", "b", "c", "d"][rng.random_range(0..4)];
                    if rng.random_bool(0.3) {
                        data.remove(&mut txn, key);
                    } else {
                        data.insert(&mut txn, key, rng.random_range(0..1000) as i64);
                    }
                }
                75..80 => {
                    meta.insert(&mut txn, "language", ["go", "rust"][rng.random_range(0..2)]);
                }
                80..92 => {
                    let n = list.len(&txn);
                    if n > 0 && rng.random_bool(0.3) {
                        list.remove(&mut txn, rng.random_range(0..n));
                    } else {
                        list.insert(
                            &mut txn,
                            rng.random_range(0..=n),
                            rng.random_range(0..9) as i64,
                        );
                    }
                }
                _ => {
                    let n = list.len(&txn);
                    let nested: Option<MapRef> = (0..n)
                        .filter_map(|i| list.get(&txn, i)?.cast::<MapRef>().ok())
                        .next();
                    match nested {
                        Some(map) if rng.random_bool(0.5) => {
                            map.insert(&mut txn, "status", rng.random_range(0..9) as i64);
                        }
                        _ => {
                            ArrayRef::push_back(&list, &mut txn, MapPrelim::default());
                        }
                    }
                }
            }
        }
        txn.encode_update_v1()
    }

    /// Random editing from three clients that lag behind one another, with and without garbage
    /// collection, and now and then an update that reaches the server late (after later ones of
    /// its client). The server takes each update as the room does (appended when `append`
    /// allows, else through a `Doc`), and a yrs `Doc` takes the same updates in the same order.
    /// After every step: `Applied` means that Doc took the update whole (nothing left pending)
    /// and `Nothing` that it changed nothing; every few steps and at the end, the packed document
    /// has the Doc's state vector and content, and so does a newcomer syncing from it; at the
    /// end every client syncing from it has what the Doc has. A failure names its seed.
    #[test]
    fn random_updates_through_packed_match_a_doc() {
        for seed in 0..48 {
            random_run(seed);
        }
    }

    fn random_run(seed: u64) {
        use rand::{Rng, SeedableRng};
        let rng = &mut rand::rngs::StdRng::seed_from_u64(seed);
        let gc = rng.random_bool(0.5);
        let doc = |id: u64| {
            Doc::with_options(yrs::Options {
                skip_gc: !gc,
                ..yrs::Options::with_client_id(ClientID::new(id))
            })
        };
        let server = server_doc();
        let reference = doc(2);
        apply(&reference, &whole(&server));
        let mut body = Body::Packed(Box::new(Packed::pack(&server, Some("meta")).unwrap()));
        let clients: Vec<Doc> = (0..3).map(|i| doc(100 + i)).collect();
        for c in &clients {
            apply(c, &whole(&server));
        }
        // What each client has not received yet, and what the server receives late.
        let mut inbox: Vec<Vec<Vec<u8>>> = vec![Vec::new(); clients.len()];
        let mut late: Vec<Vec<u8>> = Vec::new();
        let deliver = |body: &mut Body, update: &[u8], rng: &mut rand::rngs::StdRng, at: &str| {
            // (One transaction at a time: `content` takes its own.)
            let sv = reference.transact().state_vector();
            let before = content(&reference);
            apply(&reference, update);
            match body {
                Body::Packed(packed) => match packed.append(update) {
                    Appended::Applied => {
                        let txn = reference.transact();
                        assert!(
                            txn.store().pending_update().is_none()
                                && txn.store().pending_ds().is_none(),
                            "seed {seed} {at}: appended, but a Doc holds part of it back"
                        );
                        assert_eq!(
                            packed.state_vector(),
                            &txn.state_vector(),
                            "seed {seed} {at}"
                        );
                    }
                    Appended::Nothing => {
                        assert_eq!(reference.transact().state_vector(), sv, "seed {seed} {at}");
                        assert_eq!(content(&reference), before, "seed {seed} {at}");
                    }
                    Appended::NeedsDoc => {
                        let live = packed.unpack();
                        apply(&live, update);
                        *body = Body::Live(live);
                    }
                },
                Body::Live(live) => apply(live, update),
            }
            // The room packs its document again once it has not needed it for a while.
            if let Body::Live(live) = body
                && rng.random_bool(0.5)
                && let Some(packed) = Packed::pack(live, Some("meta"))
            {
                *body = Body::Packed(Box::new(packed));
            }
        };
        let check = |body: &mut Body, at: &str| {
            let expected = content(&reference);
            match body {
                Body::Live(live) => assert_eq!(content(live), expected, "seed {seed} {at}"),
                Body::Packed(packed) => {
                    assert_eq!(
                        packed.state_vector(),
                        &reference.transact().state_vector(),
                        "seed {seed} {at}"
                    );
                    assert_eq!(content(&packed.unpack()), expected, "seed {seed} {at}");
                    let newcomer = Doc::new();
                    apply(&newcomer, &packed.diff(&StateVector::default()));
                    assert_eq!(content(&newcomer), expected, "seed {seed} {at}: a newcomer");
                }
            }
        };
        for step in 0..150 {
            let at = format!("step {step}");
            let who = rng.random_range(0..clients.len());
            if rng.random_bool(0.3) {
                for update in inbox[who].drain(..) {
                    apply(&clients[who], &update);
                }
            }
            let update = random_change(&clients[who], rng);
            for (i, inbox) in inbox.iter_mut().enumerate() {
                if i != who {
                    inbox.push(update.clone());
                }
            }
            if rng.random_bool(0.05) {
                late.push(update);
            } else {
                deliver(&mut body, &update, rng, &at);
                if rng.random_bool(0.2) {
                    for update in std::mem::take(&mut late) {
                        deliver(&mut body, &update, rng, &at);
                    }
                }
            }
            if step % 10 == 9 {
                check(&mut body, &at);
            }
        }
        for update in std::mem::take(&mut late) {
            deliver(&mut body, &update, rng, "the end");
        }
        if let Body::Live(live) = &body {
            // Nothing is missing now: it packs.
            body = Body::Packed(Box::new(
                Packed::pack(live, Some("meta")).expect("packs once complete"),
            ));
        }
        check(&mut body, "the end");
        let Body::Packed(packed) = &mut body else {
            unreachable!()
        };
        for (c, inbox) in clients.iter().zip(&inbox) {
            // A client catching up from the server, whatever it still lacks.
            let sv = c.transact().state_vector();
            apply(c, &packed.diff(&sv));
            assert_eq!(
                content(c),
                content(&reference),
                "seed {seed}: a client catching up"
            );
            for update in inbox {
                apply(c, update);
            }
            assert_eq!(
                content(c),
                content(&reference),
                "seed {seed}: a client caught up"
            );
        }
    }

    /// An item placed next to itself (or next to a later item of its own client) is one a Doc
    /// waits for forever. Any client can send one; it is never appended.
    #[test]
    fn an_item_next_to_itself_needs_a_doc() {
        let server = server_doc();
        let mut packed = Packed::pack(&server, None).unwrap();
        // Client 100's first struct: the string "x", whose right origin is its own id 100#0.
        let string = 4;
        let update = [1, 1, 100, 0, HAS_RIGHT_ORIGIN | string, 100, 0, 1, b'x', 0];
        let doc = Doc::new();
        apply(&doc, &whole(&server));
        apply(&doc, &update);
        assert!(doc.transact().store().pending_update().is_some());
        assert_eq!(packed.append(&update), Appended::NeedsDoc);
        // Its left origin instead: the same.
        let update = [1, 1, 100, 0, HAS_ORIGIN | string, 100, 0, 1, b'x', 0];
        assert_eq!(packed.append(&update), Appended::NeedsDoc);
    }
}
