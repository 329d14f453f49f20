//! The streaming squash: tar entries of each layer, in order, applied to an index of paths.
//! Only metadata is kept per entry; file content is read only for files a [`Collector`] wants,
//! bounded per file and in total, and dropped as soon as a later entry deletes or replaces it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read};
use std::sync::Arc;

use crate::digest::Digest;
use crate::fs::{
    Anomaly, AnomalyKind, Collected, Collector, EntryKind, EntryMeta, FileContent, Filesystem,
    Squashed, hardlink_target,
};
use crate::path::{file_name, join, normalize, parent};
use crate::record::{Analysis, AnalysisKey, EntryHead, LayerRecord, RecordedEntry};
use crate::{ImageError, Limits};

const OPAQUE: &str = ".wh..wh..opq";
const WHITEOUT: &str = ".wh.";

struct Capture<T> {
    output: Arc<T>,
    /// the layer whose tar entry held the bytes
    layer: usize,
    /// bytes counted against the total budget (0 for hardlink copies of a capture)
    weight: u64,
}

// by hand: the output is shared, so it need not be `Clone` itself
impl<T> Clone for Capture<T> {
    fn clone(&self) -> Self {
        Self {
            output: Arc::clone(&self.output),
            layer: self.layer,
            weight: self.weight,
        }
    }
}

/// The state of a squash between two layers, without its collector: a squash of another image
/// whose first layers are the same (same content, same layer digests, same collector and
/// limits) starts from it instead of applying those layers again.
pub(crate) struct Snapshot<O> {
    fs: Filesystem,
    captures: HashMap<String, Capture<O>>,
    captured_total: u64,
    entries_seen: u64,
    pending_links: BTreeMap<String, (usize, String)>,
    analyzed_empty: BTreeSet<(usize, String)>,
    digests: Vec<Option<Arc<Digest>>>,
}

impl<O> Snapshot<O> {
    /// The entries of the squashed view held (what a snapshot weighs).
    pub(crate) fn entries(&self) -> usize {
        self.fs.entries.len()
    }
}

/// Why a layer stream stopped early, beyond plain I/O errors.
pub(crate) enum Stop {
    Io(io::Error),
    Image(ImageError),
    /// a replayed record has no result for a file the collector wants here (another context):
    /// the layer must be read from its blob
    Hole,
}

/// Where the content of a wanted file comes from: the tar entry being read, or the results a
/// layer record kept for it.
enum Content<'a, O> {
    Stream(&'a mut dyn Read),
    Replay(&'a [Analysis<O>]),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// The state of a squash in progress.
pub(crate) struct Squasher<'c, C: Collector> {
    fs: Filesystem,
    captures: HashMap<String, Capture<C::Output>>,
    captured_total: u64,
    entries_seen: u64,
    limits: Limits,
    collector: &'c C,
    /// hardlinks whose content must be read in a second pass: link path → (layer, target path)
    pending_links: BTreeMap<String, (usize, String)>,
    /// files the collector read and kept nothing of (a hardlink to one needs no second pass)
    analyzed_empty: BTreeSet<(usize, String)>,
    digests: Vec<Option<Arc<Digest>>>,
    /// the entries of the layer being read, with the collector's results, when recording
    recording: Option<Vec<RecordedEntry<C::Output>>>,
}

impl<'c, C: Collector> Squasher<'c, C> {
    pub(crate) fn new(limits: &Limits, collector: &'c C) -> Self {
        let fs = Filesystem {
            max_symlink_hops: limits.max_symlink_hops,
            ..Filesystem::default()
        };
        Self {
            fs,
            captures: HashMap::new(),
            captured_total: 0,
            entries_seen: 0,
            limits: limits.clone(),
            collector,
            pending_links: BTreeMap::new(),
            analyzed_empty: BTreeSet::new(),
            digests: Vec::new(),
            recording: None,
        }
    }

    /// The state after the layers applied so far (none being recorded). Every field is named:
    /// a field added to the squash must be said to be part of its state or not.
    pub(crate) fn snapshot(&self) -> Snapshot<C::Output> {
        let Self {
            fs,
            captures,
            captured_total,
            entries_seen,
            limits: _,
            collector: _,
            pending_links,
            analyzed_empty,
            digests,
            recording: _,
        } = self;
        Snapshot {
            fs: fs.clone(),
            captures: captures.clone(),
            captured_total: *captured_total,
            entries_seen: *entries_seen,
            pending_links: pending_links.clone(),
            analyzed_empty: analyzed_empty.clone(),
            digests: digests.clone(),
        }
    }

    /// A squash standing where `snapshot` was taken, to go on with the next layers.
    pub(crate) fn resume(
        limits: &Limits,
        collector: &'c C,
        snapshot: &Snapshot<C::Output>,
    ) -> Self {
        let Snapshot {
            fs,
            captures,
            captured_total,
            entries_seen,
            pending_links,
            analyzed_empty,
            digests,
        } = snapshot;
        Self {
            fs: fs.clone(),
            captures: captures.clone(),
            captured_total: *captured_total,
            entries_seen: *entries_seen,
            limits: limits.clone(),
            collector,
            pending_links: pending_links.clone(),
            analyzed_empty: analyzed_empty.clone(),
            digests: digests.clone(),
            recording: None,
        }
    }

    /// Records the entries of the next layer read (see [`Squasher::take_recording`]).
    pub(crate) fn start_recording(&mut self) {
        self.recording = Some(Vec::new());
    }

    /// The entries recorded since [`Squasher::start_recording`]; recording stops.
    pub(crate) fn take_recording(&mut self) -> Vec<RecordedEntry<C::Output>> {
        self.recording.take().unwrap_or_default()
    }

    fn set_digest(&mut self, layer: usize, digest: &Option<Arc<Digest>>) {
        while self.digests.len() <= layer {
            self.digests.push(None);
        }
        if let Some(slot) = self.digests.get_mut(layer) {
            slot.clone_from(digest);
        }
    }

    fn count_entry(&mut self, layer_name: &str) -> Result<(), Stop> {
        self.entries_seen += 1;
        if self.entries_seen > self.limits.max_entries {
            return Err(Stop::Image(ImageError::TooManyEntries {
                layer: layer_name.to_owned(),
                limit: self.limits.max_entries,
            }));
        }
        Ok(())
    }

    fn anomaly(&mut self, layer: usize, path: &str, kind: AnomalyKind) {
        if self.fs.anomalies.len() >= self.limits.max_anomalies {
            self.fs.anomalies_dropped += 1;
            return;
        }
        let mut cut = path.len().min(256);
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        let path = path.get(..cut).unwrap_or("").to_owned();
        self.fs.anomalies.push(Anomaly { layer, path, kind });
    }

    /// Reads one layer's tar stream to its end-of-archive marker.
    pub(crate) fn layer<R: Read>(
        &mut self,
        layer: usize,
        digest: Option<Arc<Digest>>,
        layer_name: &str,
        reader: R,
    ) -> Result<R, Stop> {
        self.set_digest(layer, &digest);
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries()? {
            let mut entry = entry?;
            self.count_entry(layer_name)?;
            let head = head_of(&entry);
            if let Some(recording) = self.recording.as_mut() {
                recording.push(RecordedEntry {
                    head: head.clone(),
                    analyses: Vec::new(),
                });
            }
            self.entry(layer, &digest, &head, Content::Stream(&mut entry))?;
        }
        Ok(archive.into_inner())
    }

    /// Applies one layer from its record instead of its tar stream: the same entries through
    /// the same logic, the collector's results taken from the record. [`Stop::Hole`] when the
    /// record has no result for a file wanted here (the squash must then start over with this
    /// layer read from its blob).
    pub(crate) fn replay_layer(
        &mut self,
        layer: usize,
        digest: Option<Arc<Digest>>,
        layer_name: &str,
        record: &LayerRecord<C::Output>,
    ) -> Result<(), Stop> {
        self.set_digest(layer, &digest);
        for e in &record.entries {
            self.count_entry(layer_name)?;
            self.entry(layer, &digest, &e.head, Content::Replay(&e.analyses))?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        layer: usize,
        digest: &Option<Arc<Digest>>,
        head: &EntryHead,
        content: Content<'_, C::Output>,
    ) -> Result<(), Stop> {
        let kind = match tar::EntryType::new(head.kind) {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                EntryKind::File
            }
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::Hardlink,
            tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink => {
                return Ok(());
            }
            _ => EntryKind::Other,
        };
        let (mode, uid, gid, size) = (head.mode, head.uid, head.gid, head.size);
        let raw = head.path.as_str();
        let link = head.link.clone();
        if head.not_utf8 {
            self.anomaly(layer, raw, AnomalyKind::NonUtf8Path);
        }
        if raw.len() > self.limits.max_path_bytes {
            self.anomaly(layer, raw, AnomalyKind::PathTooLong);
            return Ok(());
        }
        let norm = normalize(raw);
        if norm.escaped {
            self.anomaly(layer, raw, AnomalyKind::PathEscape);
        } else if raw.starts_with('/') {
            self.anomaly(layer, raw, AnomalyKind::AbsolutePath);
        }
        if norm.path == "/" {
            return Ok(());
        }
        let path = self.through_symlinks(norm.path);
        let name = file_name(&path);
        if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            let dir = parent(&path).to_owned();
            self.ensure_parents(&path, layer, digest);
            if name == OPAQUE {
                self.remove_under(&dir, Some(layer), false);
            } else if hidden.is_empty() || hidden == "." || hidden == ".." {
                self.anomaly(layer, raw, AnomalyKind::InvalidWhiteout);
            } else {
                let target = join(&dir, hidden);
                self.remove_under(&target, Some(layer), true);
            }
            return Ok(());
        }
        self.ensure_parents(&path, layer, digest);
        let mut meta = EntryMeta {
            kind,
            mode,
            uid,
            gid,
            size: if kind == EntryKind::File { size } else { 0 },
            link_target: None,
            layer,
            layer_digest: digest.clone(),
            data_source: None,
        };
        match kind {
            EntryKind::Symlink => meta.link_target = Some(link.unwrap_or_default()),
            EntryKind::Hardlink => {
                let (target, escaped) = hardlink_target(&link.unwrap_or_default());
                let target = self.through_symlinks(target);
                if escaped {
                    self.anomaly(layer, raw, AnomalyKind::HardlinkEscape);
                }
                match self.fs.entries.get(&target) {
                    Some(t) if t.kind == EntryKind::File && target != path => {
                        meta.size = t.size;
                        meta.data_source = Some(Box::new((t.layer, target.clone())));
                    }
                    Some(t) if t.kind == EntryKind::Hardlink && target != path => {
                        meta.size = t.size;
                        meta.data_source.clone_from(&t.data_source);
                    }
                    _ => {}
                }
                if meta.data_source.is_none() {
                    self.anomaly(layer, raw, AnomalyKind::DanglingHardlink);
                }
                meta.link_target = Some(target);
            }
            _ => {}
        }
        // A directory over a directory merges; anything else replaces the old entry and all
        // that was below it.
        let merge = kind == EntryKind::Dir
            && self
                .fs
                .entries
                .get(&path)
                .is_some_and(|m| m.kind == EntryKind::Dir);
        // Only an existing entry can have something below it (every entry's parent exists).
        if !merge && self.fs.entries.contains_key(&path) {
            self.remove_under(&path, None, true);
        }
        let wanted = meta.has_content() && self.collector.wants(&path, &meta);
        if wanted {
            self.capture(layer, &path, raw, &meta, content)?;
        }
        self.fs.entries.insert(path, meta);
        Ok(())
    }

    fn capture(
        &mut self,
        layer: usize,
        path: &str,
        raw: &str,
        meta: &EntryMeta,
        content: Content<'_, C::Output>,
    ) -> Result<(), Stop> {
        if meta.kind == EntryKind::Hardlink {
            let Some(src) = meta.data_source.as_deref() else {
                return Ok(());
            };
            let shared = self
                .captures
                .get(&src.1)
                .filter(|c| c.layer == src.0)
                .map(|c| Arc::clone(&c.output));
            match shared {
                Some(output) => {
                    self.captures.insert(
                        path.to_owned(),
                        Capture {
                            output,
                            layer: src.0,
                            weight: 0,
                        },
                    );
                }
                None if self.analyzed_empty.contains(src) => {}
                None => {
                    self.pending_links.insert(path.to_owned(), src.clone());
                }
            }
            return Ok(());
        }
        let Some(cap) = self.file_cap(layer, raw, meta.size) else {
            return Ok(());
        };
        let output = match content {
            Content::Stream(reader) => {
                let output = self
                    .collector
                    .analyze(path, meta, FileContent::Stream(reader), cap)?
                    .map(Arc::new);
                if let Some(entry) = self.recording.as_mut().and_then(|r| r.last_mut()) {
                    entry.analyses.push(Analysis {
                        key: AnalysisKey::new(path, meta, cap),
                        output: output.clone(),
                    });
                }
                output
            }
            Content::Replay(analyses) => {
                match analyses.iter().find(|a| a.key.matches(path, meta, cap)) {
                    Some(a) => a.output.clone(),
                    None => return Err(Stop::Hole),
                }
            }
        };
        if output.is_none() {
            self.analyzed_empty.insert((layer, path.to_owned()));
        }
        self.keep(path.to_owned(), layer, raw, output);
        Ok(())
    }

    /// The bytes the next capture may hold, or `None` (with an anomaly) when the total budget
    /// cannot hold even the part of this file the per-file limit allows.
    fn file_cap(&mut self, layer: usize, raw: &str, size: u64) -> Option<u64> {
        let budget = self
            .limits
            .max_total_capture
            .saturating_sub(self.captured_total);
        let cap = self.limits.max_file_capture.min(budget);
        if cap < size.min(self.limits.max_file_capture) {
            self.anomaly(layer, raw, AnomalyKind::CaptureBudgetExhausted);
            return None;
        }
        Some(cap)
    }

    /// Keeps an analysis result for `path`, counting its weight against the total budget.
    fn keep(&mut self, path: String, layer: usize, raw: &str, output: Option<Arc<C::Output>>) {
        let Some(output) = output else { return };
        let weight = C::weight(&output);
        if self.captured_total.saturating_add(weight) > self.limits.max_total_capture {
            self.anomaly(layer, raw, AnomalyKind::CaptureBudgetExhausted);
            return;
        }
        self.captured_total += weight;
        if let Some(old) = self.captures.insert(
            path,
            Capture {
                output,
                layer,
                weight,
            },
        ) {
            self.captured_total = self.captured_total.saturating_sub(old.weight);
        }
    }

    /// Resolves the directories of `path` through symlinks of the image, as a runtime extracting
    /// the layer would (`lib/x` over a `/lib -> usr/lib` symlink lands in `/usr/lib/x`). The
    /// resolution is lexical, inside the image; on a loop the path is kept as is (and
    /// `ensure_parents` then replaces the symlink).
    fn through_symlinks(&self, path: String) -> String {
        let dir = parent(&path);
        let mut cur = dir;
        let mut linked = false;
        while cur != "/" {
            if self
                .fs
                .entries
                .get(cur)
                .is_some_and(|m| m.kind == EntryKind::Symlink)
            {
                linked = true;
                break;
            }
            cur = parent(cur);
        }
        if !linked {
            return path;
        }
        match self.fs.resolve(dir) {
            Ok(resolved) => join(&resolved, file_name(&path)),
            Err(_) => path,
        }
    }

    /// Makes every ancestor of `path` a directory: missing ones are implied (as a tar extractor
    /// would create them), a non-directory in the way is replaced.
    fn ensure_parents(&mut self, path: &str, layer: usize, digest: &Option<Arc<Digest>>) {
        let dir = parent(path);
        // Fast path (tars list directories before their content): the parent is a directory,
        // so, by the invariant that every entry's parent is a directory, all ancestors are.
        if dir == "/"
            || self
                .fs
                .entries
                .get(dir)
                .is_some_and(|m| m.kind == EntryKind::Dir)
        {
            return;
        }
        let mut ancestors = Vec::new();
        let mut cur = parent(path);
        while cur != "/" {
            ancestors.push(cur.to_owned());
            cur = parent(cur);
        }
        for dir in ancestors.into_iter().rev() {
            match self.fs.entries.get(&dir).map(|m| m.kind) {
                Some(EntryKind::Dir) => continue,
                Some(_) => {
                    self.anomaly(layer, &dir, AnomalyKind::ParentNotDirectory);
                    self.remove_under(&dir, None, true);
                }
                None => {}
            }
            let meta = EntryMeta {
                kind: EntryKind::Dir,
                mode: 0o755,
                uid: 0,
                gid: 0,
                size: 0,
                link_target: None,
                layer,
                layer_digest: digest.clone(),
                data_source: None,
            };
            self.fs.entries.insert(dir, meta);
        }
    }

    /// Removes the entries under `path` (and `path` itself when `itself`), only those from layers
    /// below `below` when given (whiteouts hide lower layers only).
    fn remove_under(&mut self, path: &str, below: Option<usize>, itself: bool) {
        let prefix = if path == "/" {
            String::from("/")
        } else {
            format!("{path}/")
        };
        let mut doomed: Vec<String> = self
            .fs
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, m)| below.is_none_or(|b| m.layer < b))
            .map(|(k, _)| k.clone())
            .collect();
        if itself
            && self
                .fs
                .entries
                .get(path)
                .is_some_and(|m| below.is_none_or(|b| m.layer < b))
        {
            doomed.push(path.to_owned());
        }
        if below.is_some() {
            // A lower directory that holds entries of this layer is also this layer's directory:
            // it stays (overlayfs would show it).
            let mut keep: BTreeSet<String> = BTreeSet::new();
            let survivors = self
                .fs
                .entries
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix));
            for (k, _) in survivors.filter(|(_, m)| below.is_some_and(|b| m.layer >= b)) {
                let mut cur = parent(k);
                while cur.len() >= path.len() && cur != "/" && keep.insert(cur.to_owned()) {
                    cur = parent(cur);
                }
            }
            doomed.retain(|k| !keep.contains(k));
        }
        for k in doomed {
            self.fs.entries.remove(&k);
            self.pending_links.remove(&k);
            if let Some(c) = self.captures.remove(&k) {
                self.captured_total = self.captured_total.saturating_sub(c.weight);
            }
        }
    }

    /// The layers a second pass must read for hardlinks whose target was not captured, with the
    /// target paths wanted from each.
    pub(crate) fn second_pass_needs(&self) -> BTreeMap<usize, BTreeSet<String>> {
        let mut needs: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        for (layer, target) in self.pending_links.values() {
            needs.entry(*layer).or_default().insert(target.clone());
        }
        needs
    }

    /// The metadata the first pass recorded for one of the links to `target` of `layer`: what
    /// the collector is shown when the content is read in the second pass.
    fn link_meta(&self, layer: usize, target: &str) -> Option<EntryMeta> {
        self.pending_links
            .iter()
            .find(|(_, (l, t))| *l == layer && t == target)
            .and_then(|(link, _)| self.fs.entries.get(link))
            .cloned()
    }

    /// Reads the contents of `targets` from one layer's tar stream (second pass); the results
    /// are added to the layer's `record` when one is given.
    pub(crate) fn second_pass_layer<R: Read>(
        &mut self,
        layer: usize,
        targets: &BTreeSet<String>,
        reader: R,
        mut record: Option<&mut LayerRecord<C::Output>>,
    ) -> Result<R, Stop> {
        let mut archive = tar::Archive::new(reader);
        let mut found: HashMap<String, Arc<C::Output>> = HashMap::new();
        for (index, entry) in archive.entries()?.enumerate() {
            let mut entry = entry?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let head = head_of(&entry);
            let path = normalize(&head.path).path;
            if !targets.contains(&path) {
                continue;
            }
            let Some(meta) = self.link_meta(layer, &path) else {
                continue;
            };
            let Some(cap) = self.file_cap(layer, &path, head.size) else {
                continue;
            };
            let output = self
                .collector
                .analyze(&path, &meta, FileContent::Stream(&mut entry), cap)?
                .map(Arc::new);
            // Recorded on the same entry of the record (when the record is of this tar).
            if let Some(e) = record
                .as_deref_mut()
                .and_then(|r| r.entries.get_mut(index))
                .filter(|e| e.head == head)
            {
                if !e.analyses.iter().any(|a| a.key.matches(&path, &meta, cap)) {
                    e.analyses.push(Analysis {
                        key: AnalysisKey::new(&path, &meta, cap),
                        output: output.clone(),
                    });
                }
            }
            if let Some(output) = output {
                self.captured_total += C::weight(&output);
                found.insert(path, output);
            }
        }
        self.link_second_pass(layer, &found);
        Ok(archive.into_inner())
    }

    /// The second pass of one layer from its record: `false`, with nothing changed, when the
    /// record cannot answer every question (the layer's blob must then be read).
    pub(crate) fn second_pass_replay(
        &mut self,
        layer: usize,
        targets: &BTreeSet<String>,
        record: &LayerRecord<C::Output>,
    ) -> bool {
        let before = (
            self.captured_total,
            self.fs.anomalies.len(),
            self.fs.anomalies_dropped,
        );
        let mut found: HashMap<String, Arc<C::Output>> = HashMap::new();
        for e in &record.entries {
            if !tar::EntryType::new(e.head.kind).is_file() {
                continue;
            }
            let path = normalize(&e.head.path).path;
            if !targets.contains(&path) {
                continue;
            }
            let Some(meta) = self.link_meta(layer, &path) else {
                continue;
            };
            let Some(cap) = self.file_cap(layer, &path, e.head.size) else {
                continue;
            };
            match e.analyses.iter().find(|a| a.key.matches(&path, &meta, cap)) {
                Some(a) => {
                    if let Some(output) = &a.output {
                        self.captured_total += C::weight(output);
                        found.insert(path, Arc::clone(output));
                    }
                }
                None => {
                    (self.captured_total, _, self.fs.anomalies_dropped) = before;
                    self.fs.anomalies.truncate(before.1);
                    return false;
                }
            }
        }
        self.link_second_pass(layer, &found);
        true
    }

    /// Gives the links waiting on `layer` the results the second pass found for their targets.
    fn link_second_pass(&mut self, layer: usize, found: &HashMap<String, Arc<C::Output>>) {
        let links: Vec<(String, String)> = self
            .pending_links
            .iter()
            .filter(|(_, (l, _))| *l == layer)
            .map(|(link, (_, t))| (link.clone(), t.clone()))
            .collect();
        for (link, target) in links {
            self.pending_links.remove(&link);
            if let Some(output) = found.get(&target) {
                self.captures.insert(
                    link,
                    Capture {
                        output: Arc::clone(output),
                        layer,
                        weight: 0,
                    },
                );
            }
        }
    }

    /// Returns the squashed view and the results of the wanted files that survive.
    pub(crate) fn finish(self) -> Squashed<C::Output> {
        let Self {
            fs,
            captures,
            digests,
            ..
        } = self;
        let mut files: Vec<Collected<C::Output>> = captures
            .into_iter()
            .filter(|(path, _)| fs.entries.contains_key(path))
            .map(|(path, c)| Collected {
                path,
                layer: c.layer,
                layer_digest: digests.get(c.layer).cloned().flatten(),
                output: c.output,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Squashed { fs, files }
    }

    /// Adds an entry found by walking a root filesystem directory, with what the collector made
    /// of its content when it was wanted.
    pub(crate) fn rootfs_entry(
        &mut self,
        path: String,
        meta: EntryMeta,
        output: Option<C::Output>,
    ) -> Result<(), ImageError> {
        self.entries_seen += 1;
        if self.entries_seen > self.limits.max_entries {
            return Err(ImageError::TooManyEntries {
                layer: String::from("rootfs"),
                limit: self.limits.max_entries,
            });
        }
        if output.is_some() {
            let raw = path.clone();
            self.keep(path.clone(), 0, &raw, output.map(Arc::new));
        }
        self.fs.entries.insert(path, meta);
        Ok(())
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }
}
/// The header fields of a tar entry that the squash uses.
fn head_of<R: Read>(entry: &tar::Entry<'_, R>) -> EntryHead {
    let header = entry.header();
    let (path, not_utf8) = lossy(&entry.path_bytes());
    EntryHead {
        kind: header.entry_type().as_byte(),
        path,
        not_utf8,
        link: entry.link_name_bytes().map(|l| lossy(&l).0),
        mode: header.mode().unwrap_or(0) & 0o7777,
        uid: header.uid().unwrap_or(0),
        gid: header.gid().unwrap_or(0),
        size: entry.size(),
    }
}

fn lossy(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), false),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), true),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
pub(crate) mod tests {
    use super::*;
    use crate::fs::MatchCollector;
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "a",
        "a/b",
        "a/b/c",
        "./a",
        "/a/b",
        "../a",
        "a/../../b",
        "b",
        "b/c",
        ".wh.a",
        "a/.wh.b",
        "a/.wh..wh..opq",
        ".wh..wh..opq",
        ".wh.",
        "a/.wh..",
        "c",
        "c/d",
        "/",
        ".",
        "",
        "a//b",
        "\u{e9}t\u{e9}",
    ];

    fn header(kind: u8, name: &str, link: &str, size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(match kind % 6 {
            0 => tar::EntryType::Regular,
            1 => tar::EntryType::Directory,
            2 => tar::EntryType::Symlink,
            3 => tar::EntryType::Link,
            4 => tar::EntryType::Fifo,
            _ => tar::EntryType::Char,
        });
        h.set_size(size);
        h.set_mode(0o644);
        let old = h.as_old_mut();
        let n = name.len().min(99);
        old.name[..n].copy_from_slice(&name.as_bytes()[..n]);
        let l = link.len().min(99);
        old.linkname[..l].copy_from_slice(&link.as_bytes()[..l]);
        h.set_cksum();
        h
    }

    pub(crate) fn layer_bytes(entries: &[(u8, usize, usize, u8)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for &(kind, name, link, len) in entries {
            let name = NAMES[name % NAMES.len()];
            let link = NAMES[link % NAMES.len()];
            let data = vec![b'x'; usize::from(len)];
            let size = if kind % 6 == 0 { data.len() } else { 0 };
            b.append(&header(kind, name, link, size as u64), &data[..size])
                .unwrap();
        }
        b.into_inner().unwrap()
    }

    /// Wants every file, keeps nothing (like an ELF reader on a binary that is neither Go nor
    /// Rust).
    struct KeepsNothing;

    impl Collector for KeepsNothing {
        type Output = ();
        fn wants(&self, _: &str, _: &EntryMeta) -> bool {
            true
        }
        fn analyze(
            &self,
            _: &str,
            _: &EntryMeta,
            mut content: FileContent<'_>,
            _: u64,
        ) -> io::Result<Option<()>> {
            io::copy(content.reader(), &mut io::sink())?;
            Ok(None)
        }
        fn weight((): &()) -> u64 {
            0
        }
    }

    #[test]
    fn a_hardlink_to_a_file_read_for_nothing_needs_no_second_pass() {
        // Regression: such links used to send the whole layer through a second pass.
        let bytes = layer_bytes(&[(0, 0, 0, 10), (3, 7, 0, 0)]); // file `a`, hardlink `b` -> `a`
        let limits = Limits::default();
        let mut sq = Squasher::new(&limits, &KeepsNothing);
        assert!(sq.layer(0, None, "test", bytes.as_slice()).is_ok());
        assert!(sq.second_pass_needs().is_empty());
        // A collector that keeps something shares it with the link, also without a second pass.
        let keeps = MatchCollector::new(|_: &str, _: &EntryMeta| true);
        let mut sq = Squasher::new(&limits, &keeps);
        assert!(sq.layer(0, None, "test", bytes.as_slice()).is_ok());
        assert!(sq.second_pass_needs().is_empty());
        let squashed = sq.finish();
        let paths: Vec<&str> = squashed.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn squash_never_panics_and_keeps_the_tree_consistent(
            layers in proptest::collection::vec(
                proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), 0u8..40), 0..24), 1..5),
            cut in proptest::option::of(any::<usize>()),
        ) {
            let limits = Limits { max_file_capture: 16, max_total_capture: 100, ..Limits::default() };
            let collector = MatchCollector::new(|_: &str, _: &EntryMeta| true);
            let mut sq = Squasher::new(&limits, &collector);
            let tripped = std::rc::Rc::new(std::cell::Cell::new(false));
            for (i, entries) in layers.iter().enumerate() {
                let mut bytes = layer_bytes(entries);
                if let (Some(c), true) = (cut, i + 1 == layers.len()) {
                    bytes.truncate(c % (bytes.len() + 1));
                }
                let guard = crate::guard::TarGuard::new(bytes.as_slice(), 1 << 16, std::rc::Rc::clone(&tripped));
                let _ = sq.layer(i, None, "test", guard);
            }
            let needs = sq.second_pass_needs();
            for (i, targets) in needs {
                let bytes = layer_bytes(&layers[i]);
                let _ = sq.second_pass_layer(i, &targets, bytes.as_slice(), None);
            }
            let squashed = sq.finish();
            let fs = &squashed.fs;
            prop_assert!(!tripped.get());
            for (path, _) in fs.iter() {
                prop_assert!(path.starts_with('/') && !path.ends_with('/') && !path.contains("//"), "{path}");
                prop_assert!(!path.split('/').any(|c| c == ".." || c == "."), "{path}");
                let parent = crate::path::parent(path);
                prop_assert!(parent == "/" || fs.get(parent).is_some_and(|m| m.kind == EntryKind::Dir), "{path} has no parent dir");
                let _ = fs.resolve(path);
            }
            for f in &squashed.files {
                prop_assert!(fs.get(&f.path).is_some_and(EntryMeta::has_content), "{} collected but absent", f.path);
                prop_assert!(f.output.content.len() <= 16);
            }
        }
    }
}
