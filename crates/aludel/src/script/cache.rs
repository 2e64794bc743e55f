//! A cache of migration file texts, so that `heads`, `history` and `current` on long
//! histories need one `stat` per file instead of open, read and close.
//!
//! An entry is served only when the file's inode, size, modification time and change
//! time all equal those recorded with it. The change time cannot be set by users and
//! moves on every write, so an edited file never matches its old entry; and a file
//! changed within the same clock tick as its entry was recorded (the one case those
//! times could miss) is never recorded: only files older than [`MIN_AGE`] are. Any
//! doubt (a missing, unreadable or corrupt cache) means reading the files, never a
//! stale answer.
//!
//! The cache may also record the versions folder's own stamp, taken before the folder
//! was listed, when every visible `*.sql` entry of that listing was a file it recorded
//! and the folder too was older than [`MIN_AGE`]. Adding, removing or renaming an entry
//! moves the folder's change time, so while the folder's stamp still matches, its
//! `*.sql` names are the cache's and it need not be listed again (each file is still
//! `stat`ed: editing a file in place leaves the folder as it was).
//!
//! Each entry also holds what parsing its text gave (the header's values and lines,
//! where each section lies), so that a served file costs its `stat` and is not parsed
//! again: over a long history with real SQL in its files, parsing every text cost as
//! much as the `stat`s. A cache is read only by a build with the same reading rules
//! ([`RULES`]): what another build's parser accepted is no answer for this one's.

use std::ffi::OsStr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::parse::{Parsed, SectionInfo};
use super::{Script, Text};
use crate::graph::{Direction, Origin, RevisionSpec};
use crate::url::Dialect;

/// Files younger than this are not recorded (see the module docs).
pub(crate) const MIN_AGE: Duration = Duration::from_secs(2);

const MAGIC: &[u8; 8] = b"ALDLC006";

/// The reading rules of this build: a hash of the parser's source, this file's (the
/// format) and the version. A cache written under other rules is not read.
const RULES: u64 = rules();

const fn rules() -> u64 {
    let parts: [&[u8]; 3] = [
        include_bytes!("parse.rs"),
        include_bytes!("cache.rs"),
        env!("CARGO_PKG_VERSION").as_bytes(),
    ];
    // FNV-1a: any change to a part gives another value.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut p = 0;
    while p < parts.len() {
        let bytes = parts[p];
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
            i += 1;
        }
        p += 1;
    }
    hash
}

/// The magic, the reading rules, the entry count, the index's length, the texts'
/// length, whether the folder's stamp is recorded and that stamp ([`STAMP_LEN`]).
const HEADER_LEN: usize = 48 + STAMP_LEN;

/// Where the folder stamp's flag lies in the header.
#[cfg(test)]
const DIR_FLAG_AT: usize = 40;

/// The fewest bytes an entry takes in the index: its name's length, the text's offset
/// and length, its stamp and its parsed record's length.
const ENTRY_MIN_LEN: usize = 32 + STAMP_LEN;

/// A stamp's seven numbers.
const STAMP_LEN: usize = 56;

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(super) dev: u64,
    pub(super) ino: u64,
    pub(super) size: u64,
    pub(super) mtime: (i64, i64),
    pub(super) ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of the file at `path` (tests only; loading goes through
    /// [`super::folder::Folder::stamp`]).
    #[cfg(test)]
    pub(crate) fn of(path: &Path) -> Option<Stamp> {
        let dir = super::folder::Folder::open(path.parent()?).ok()?;
        let name = dir
            .sql_files()
            .ok()?
            .into_iter()
            .find(|n| Some(n.as_os_str()) == path.file_name())?;
        dir.stamp(name.as_os_str())
    }

    /// Whether both times are at least `min_age` before `now`.
    pub(crate) fn settled(&self, now: SystemTime, min_age: Duration) -> bool {
        let Ok(now) = now.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let limit = now.saturating_sub(min_age);
        let before = |(s, ns): (i64, i64)| {
            s >= 0 && Duration::new(s as u64, ns.clamp(0, 999_999_999) as u32) < limit
        };
        before(self.mtime) && before(self.ctime)
    }
}

/// A cache read from disk: each file's name, stamp and text. The index stays in the
/// cache file's own bytes and the texts in one string that the loaded scripts share
/// ([`Cache::texts`]) rather than copy: this is read on every command. Entries are
/// sorted by name, as the folder's files are, so a lookup in file order is one
/// comparison ([`Cache::find`]).
#[derive(Debug, Default)]
pub(crate) struct Cache {
    /// The index part of the cache file, which the entries' names point into.
    index_bytes: Vec<u8>,
    entries: Vec<Entry>,
    texts: std::sync::Arc<String>,
    /// The versions folder's stamp, when its listing is recorded (see the module docs).
    dir: Option<Stamp>,
}

#[derive(Debug)]
struct Entry {
    name: Range<usize>,
    stamp: Stamp,
    text: Range<usize>,
    /// The parse of the text, in the index's bytes ([`put_parsed`]).
    parsed: Range<usize>,
}

impl Cache {
    /// Reads the cache at `path`; anything unexpected gives an empty cache.
    pub(crate) fn read(path: &Path) -> Cache {
        if !trusted(path) {
            return Cache::default();
        }
        read_parts(path).and_then(decode).unwrap_or_default()
    }

    /// The versions folder's stamp recorded with the entries, if it was (see the
    /// module docs): while the folder's stamp equals it, the entries name exactly the
    /// folder's visible `*.sql` files.
    pub(crate) fn dir_stamp(&self) -> Option<Stamp> {
        self.dir
    }

    /// The file name of entry `i`.
    pub(crate) fn name(&self, i: usize) -> &[u8] {
        self.index_bytes
            .get(self.entries[i].name.clone())
            .unwrap_or_default()
    }

    /// The entry for `name`: `hint` first (the entry after the previous file's, when
    /// files are looked up in name order), else a binary search.
    pub(crate) fn find(&self, name: &OsStr, hint: usize) -> Option<usize> {
        let name = name.as_encoded_bytes();
        if hint < self.entries.len() && self.name(hint) == name {
            return Some(hint);
        }
        // Entries are sorted by name (checked when read).
        let (mut lo, mut hi) = (0, self.entries.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.name(mid).cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Where in [`Cache::texts`] the text of entry `i` lies, if `stamp` matches it.
    pub(crate) fn text_range(&self, i: usize, stamp: &Stamp) -> Option<Range<usize>> {
        let entry = self.entries.get(i)?;
        if entry.stamp != *stamp || entry.text.len() as u64 != stamp.size {
            return None;
        }
        Some(entry.text.clone())
    }

    /// The script of entry `i`, from its text and its parsed record, if `stamp`
    /// matches the entry and the record reads well; `path` is the file's.
    pub(crate) fn script(&self, i: usize, stamp: &Stamp, path: PathBuf) -> Option<Script> {
        let range = self.text_range(i, stamp)?;
        let text = self.texts.get(range.clone())?;
        let record = self.index_bytes.get(self.entries.get(i)?.parsed.clone())?;
        let mut parsed = get_parsed(record, text)?;
        parsed.spec.origin.path = path;
        Some(Script {
            spec: std::sync::Arc::new(parsed.spec),
            transaction: parsed.transaction,
            incomplete: parsed.incomplete,
            text: Text::Shared(self.texts.clone(), range),
            sections: parsed.sections,
        })
    }

    /// The text recorded for `name` if `stamp` matches its entry.
    #[cfg(test)]
    pub(crate) fn get(&self, name: &OsStr, stamp: &Stamp) -> Option<&str> {
        let range = self.text_range(self.find(name, 0)?, stamp)?;
        self.texts.get(range)
    }

    /// The stamp recorded with entry `i`.
    pub(crate) fn stamp(&self, i: usize) -> Option<Stamp> {
        self.entries.get(i).map(|e| e.stamp)
    }

    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Writes a new cache of `files` (name, stamp, script), leaving out files younger
/// than `min_age`. `dir` is the versions folder's stamp when `files` are every visible
/// `*.sql` entry it held: it is recorded only if every file is (see the module docs).
/// Best effort: a cache that cannot be written only costs speed.
pub(crate) fn write(
    path: &Path,
    files: &[(&OsStr, Stamp, &Script)],
    dir: Option<Stamp>,
    min_age: Duration,
) {
    let now = SystemTime::now();
    let mut out =
        Vec::with_capacity(files.iter().map(|f| f.2.text().len() + 256).sum::<usize>() + 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&RULES.to_le_bytes());
    let mut record = Vec::new();
    let settled: Vec<_> = files
        .iter()
        .filter(|(_, stamp, _)| stamp.settled(now, min_age))
        .filter_map(|(name, stamp, script)| {
            // A file whose parse does not fit the record's numbers is left out.
            record.clear();
            put_parsed(&mut record, script)?;
            Some((name.to_str()?, stamp, script.text(), record.clone()))
        })
        .collect();
    // A listing with a file left out is not one the folder's stamp may stand for.
    let dir = dir.filter(|_| settled.len() == files.len());
    out.extend_from_slice(&(settled.len() as u64).to_le_bytes());
    // The lengths of the index and of the texts follow, so that a reader can read
    // each into a buffer of its own and keep the texts without copying them.
    let lengths_at = out.len();
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&u64::from(dir.is_some()).to_le_bytes());
    put_stamp(
        &mut out,
        &dir.unwrap_or(Stamp {
            dev: 0,
            ino: 0,
            size: 0,
            mtime: (0, 0),
            ctime: (0, 0),
        }),
    );
    // The index, in the (sorted) order given, then every text back to back: a
    // reader checks UTF-8 once.
    let mut offset = 0u64;
    for (name, stamp, text, record) in &settled {
        put_bytes(&mut out, name.as_bytes());
        for v in [offset, text.len() as u64] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        put_stamp(&mut out, stamp);
        put_bytes(&mut out, record);
        offset += text.len() as u64;
    }
    let index_len = (out.len() - HEADER_LEN) as u64;
    out[lengths_at..lengths_at + 8].copy_from_slice(&index_len.to_le_bytes());
    out[lengths_at + 8..lengths_at + 16].copy_from_slice(&offset.to_le_bytes());
    for (_, _, text, _) in &settled {
        out.extend_from_slice(text.as_bytes());
    }
    write_file(path, &out);
}

/// Writes a cache file readable by its owner only, in a folder likewise, atomically
/// (a reader sees the old file or the whole new one). Best effort: a cache that cannot
/// be written only costs speed.
pub(crate) fn write_file(path: &Path, out: &[u8]) {
    let Some(dir) = path.parent() else { return };
    if create_private_dir(dir).is_err() {
        return;
    }
    // Write beside, then rename: a reader never sees half a cache. The name is unique
    // even across containers that share a volume and all run as pid 1.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(
        ".{}.{}.{nanos:x}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    if write_private(&tmp, out).is_err() || std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The cache holds copies of migration SQL: readable by its owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// A cache someone else could have written is not read: its entries would be SQL
/// that runs as migrations (or, for autogenerate, decide what a revision holds). Trusted: owned by this process's user (where the
/// platform tells) and not writable by group or others.
pub(crate) fn trusted(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(m) = std::fs::metadata(path) else {
            return false;
        };
        if m.mode() & 0o022 != 0 {
            return false;
        }
        // Linux shows the process's own user as the owner of /proc/self.
        match std::fs::metadata("/proc/self") {
            Ok(me) => me.uid() == m.uid(),
            Err(_) => true,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

fn put_stamp(out: &mut Vec<u8>, stamp: &Stamp) {
    for v in [stamp.dev, stamp.ino, stamp.size] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [stamp.mtime.0, stamp.mtime.1, stamp.ctime.0, stamp.ctime.1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// A number of a parsed record; `None` where it does not fit.
fn put_u32(out: &mut Vec<u8>, v: usize) -> Option<()> {
    out.extend_from_slice(&u32::try_from(v).ok()?.to_le_bytes());
    Some(())
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Option<()> {
    put_u32(out, s.len())?;
    out.extend_from_slice(s.as_bytes());
    Some(())
}

/// A flag, then the value where there is one.
fn put_opt<T>(
    out: &mut Vec<u8>,
    v: Option<T>,
    put: fn(&mut Vec<u8>, T) -> Option<()>,
) -> Option<()> {
    out.push(u8::from(v.is_some()));
    match v {
        None => Some(()),
        Some(v) => put(out, v),
    }
}

/// What parsing `script`'s text gave, as [`get_parsed`] reads it back: the header's
/// values and lines, whether it runs in a transaction, why it is incomplete, and each
/// section's marker and place in the text. `None` where a number does not fit.
fn put_parsed(out: &mut Vec<u8>, script: &Script) -> Option<()> {
    let spec = &script.spec;
    put_str(out, &spec.id)?;
    for list in [&spec.parents, &spec.depends_on, &spec.branch_labels] {
        put_u32(out, list.len())?;
        for item in list {
            put_str(out, item)?;
        }
    }
    put_str(out, &spec.message)?;
    put_opt(out, spec.created.as_deref(), put_str)?;
    put_opt(out, spec.doc.as_deref(), put_str)?;
    put_opt(out, script.incomplete.as_deref(), put_str)?;
    let origin = &spec.origin;
    put_u32(out, origin.revision_line)?;
    for line in [
        origin.revises_line,
        origin.depends_on_line,
        origin.branch_labels_line,
    ] {
        put_opt(out, line, put_u32)?;
    }
    out.push(u8::from(script.transaction));
    put_u32(out, script.sections.len())?;
    for section in &script.sections {
        out.push(match section.direction {
            Direction::Upgrade => 0,
            Direction::Downgrade => 1,
        });
        put_opt(out, section.dialect.map(Dialect::name), put_str)?;
        for v in [
            section.marker_line,
            section.first_line,
            section.range.start,
            section.range.end,
        ] {
            put_u32(out, v)?;
        }
    }
    Some(())
}

/// The parse a record of [`put_parsed`] holds for `text`; `None` if it reads badly
/// (the caller then parses the file). The path is left for the caller to fill.
fn get_parsed(record: &[u8], text: &str) -> Option<Parsed> {
    let mut r = Reader {
        bytes: record,
        pos: 0,
    };
    let id = r.str()?.to_string();
    let mut lists: [Vec<String>; 3] = Default::default();
    for list in &mut lists {
        let n = r.u32()?;
        // Each item takes at least its length's four bytes.
        if n > record.len() / 4 {
            return None;
        }
        list.reserve_exact(n);
        for _ in 0..n {
            list.push(r.str()?.to_string());
        }
    }
    let [parents, depends_on, branch_labels] = lists;
    let message = r.str()?.to_string();
    let created = r.opt(Reader::str)?.map(str::to_string);
    let doc = r.opt(Reader::str)?.map(str::to_string);
    let incomplete = r.opt(Reader::str)?.map(Box::from);
    let revision_line = r.u32()?;
    let (revises_line, depends_on_line, branch_labels_line) = (
        r.opt(Reader::u32)?,
        r.opt(Reader::u32)?,
        r.opt(Reader::u32)?,
    );
    let transaction = match r.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let n = r.u32()?;
    // Each section takes at least 18 bytes: direction, dialect flag, four numbers.
    if n > record.len() / 18 {
        return None;
    }
    let mut sections = Vec::with_capacity(n);
    for _ in 0..n {
        let direction = match r.u8()? {
            0 => Direction::Upgrade,
            1 => Direction::Downgrade,
            _ => return None,
        };
        let dialect = match r.opt(Reader::str)? {
            None => None,
            Some(name) => Some(Dialect::from_name(name)?),
        };
        let (marker_line, first_line) = (r.u32()?, r.u32()?);
        let range = r.u32()?..r.u32()?;
        // A section's body is read as that part of the text: it must be one.
        text.get(range.clone())?;
        sections.push(SectionInfo {
            direction,
            dialect,
            marker_line,
            first_line,
            range,
        });
    }
    if r.pos != record.len() {
        return None;
    }
    Some(Parsed {
        spec: RevisionSpec {
            id,
            parents,
            depends_on,
            branch_labels,
            message,
            created,
            doc,
            origin: Origin {
                path: PathBuf::new(),
                revision_line,
                revises_line,
                depends_on_line,
                branch_labels_line,
            },
        },
        transaction,
        incomplete,
        sections,
    })
}

/// Reads the cache format from the front of a byte string.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<Range<usize>> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())?;
        let range = self.pos..end;
        self.pos = end;
        Some(range)
    }
    fn u64(&mut self) -> Option<u64> {
        let range = self.take(8)?;
        Some(u64::from_le_bytes(self.bytes.get(range)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        let range = self.take(8)?;
        Some(i64::from_le_bytes(self.bytes.get(range)?.try_into().ok()?))
    }
    fn u8(&mut self) -> Option<u8> {
        let range = self.take(1)?;
        self.bytes.get(range.start).copied()
    }
    fn u32(&mut self) -> Option<usize> {
        let range = self.take(4)?;
        let v = u32::from_le_bytes(self.bytes.get(range)?.try_into().ok()?);
        usize::try_from(v).ok()
    }
    /// A flag, then the value where there is one.
    fn opt<T>(&mut self, get: fn(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(get(self)?)),
            _ => None,
        }
    }
    fn str(&mut self) -> Option<&'a str> {
        let len = self.u32()?;
        let range = self.take(len)?;
        std::str::from_utf8(self.bytes.get(range)?).ok()
    }
    fn stamp(&mut self) -> Option<Stamp> {
        Some(Stamp {
            dev: self.u64()?,
            ino: self.u64()?,
            size: self.u64()?,
            mtime: (self.i64()?, self.i64()?),
            ctime: (self.i64()?, self.i64()?),
        })
    }
}

/// A cache file as read: the header, the index and the texts, each in its own
/// buffer (the texts become the shared string without a copy).
struct Parts {
    header: [u8; HEADER_LEN],
    index: Vec<u8>,
    texts: Vec<u8>,
}

/// Reads the cache file's three parts; `None` unless its length is exactly what its
/// header says.
fn read_parts(path: &Path) -> Option<Parts> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let file_len = file.metadata().ok()?.len();
    let mut header = [0u8; HEADER_LEN];
    file.read_exact(&mut header).ok()?;
    let mut r = Reader {
        bytes: &header,
        pos: MAGIC.len() + 16,
    };
    let (index_len, texts_len) = (r.u64()?, r.u64()?);
    let total = (HEADER_LEN as u64)
        .checked_add(index_len)?
        .checked_add(texts_len)?;
    if total != file_len {
        return None;
    }
    let mut index = vec![0; usize::try_from(index_len).ok()?];
    file.read_exact(&mut index).ok()?;
    let mut texts = vec![0; usize::try_from(texts_len).ok()?];
    file.read_exact(&mut texts).ok()?;
    Some(Parts {
        header,
        index,
        texts,
    })
}

fn decode(parts: Parts) -> Option<Cache> {
    let Parts {
        header,
        index,
        texts,
    } = parts;
    let mut r = Reader {
        bytes: &header,
        pos: 0,
    };
    if header.get(r.take(MAGIC.len())?)? != MAGIC || r.u64()? != RULES {
        return None;
    }
    let count = usize::try_from(r.u64()?).ok()?;
    r.take(16)?;
    let dir = match (r.u64()?, r.stamp()?) {
        (0, _) => None,
        (1, stamp) => Some(stamp),
        _ => return None,
    };
    // A count of entries the index cannot hold is corruption.
    if count > index.len() / ENTRY_MIN_LEN {
        return None;
    }
    let mut r = Reader {
        bytes: &index,
        pos: 0,
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(count);
    let mut end = 0;
    for _ in 0..count {
        let name_len = usize::try_from(r.u64()?).ok()?;
        let name = r.take(name_len)?;
        // Names strictly ascending: lookups rely on it, and a name recorded twice
        // means a corrupt cache.
        if let Some(last) = entries.last()
            && index.get(last.name.clone())? >= index.get(name.clone())?
        {
            return None;
        }
        let start = usize::try_from(r.u64()?).ok()?;
        let len = usize::try_from(r.u64()?).ok()?;
        let stamp = r.stamp()?;
        let parsed_len = usize::try_from(r.u64()?).ok()?;
        let parsed = r.take(parsed_len)?;
        if start != end {
            return None;
        }
        end = start.checked_add(len)?;
        entries.push(Entry {
            name,
            stamp,
            text: start..end,
            parsed,
        });
    }
    if r.pos != index.len() {
        return None;
    }
    let texts = String::from_utf8(texts).ok()?;
    if texts.len() != end {
        return None;
    }
    // Entries must start at character boundaries too.
    if entries.iter().any(|e| texts.get(e.text.clone()).is_none()) {
        return None;
    }
    Some(Cache {
        index_bytes: index,
        entries,
        texts: std::sync::Arc::new(texts),
        dir,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A revision file's text whose id is `id`.
    fn text(id: &str) -> String {
        format!("-- aludel:revision {id}\n-- aludel:upgrade\nSELECT 1;\n")
    }

    /// `text` parsed as the file `name` of `dir`.
    #[allow(clippy::unwrap_used)]
    fn script(dir: &Path, name: &str, text: &str) -> Script {
        Script::from_text(dir.join(name), Text::Owned(text.to_string())).unwrap()
    }

    /// `a.sql` holding `body` in `dir`, its stamp and its script, with a cache of it
    /// written at `cache_path`.
    #[allow(clippy::unwrap_used)]
    fn cached_one(dir: &Path, body: &str, cache_path: &Path) -> (PathBuf, Stamp, Script) {
        let file = dir.join("a.sql");
        std::fs::write(&file, body).unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let a = script(dir, "a.sql", body);
        write(
            cache_path,
            &[("a.sql".as_ref(), stamp, &a)],
            None,
            Duration::ZERO,
        );
        (file, stamp, a)
    }

    #[test]
    fn round_trip_serves_only_matching_stamps() {
        let dir = tempfile::tempdir().unwrap();
        let one = text("one");
        let cache_path = dir.path().join("c/cache.bin");
        let (_, stamp, _) = cached_one(dir.path(), &one, &cache_path);
        let cache = Cache::read(&cache_path);
        assert_eq!(cache.get("a.sql".as_ref(), &stamp), Some(one.as_str()));
        let other = Stamp { size: 9, ..stamp };
        assert_eq!(cache.get("a.sql".as_ref(), &other), None);
        assert_eq!(cache.get("b.sql".as_ref(), &stamp), None);
    }

    #[test]
    fn the_cache_is_private_and_a_writable_one_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache_path = dir.path().join("c/cache.bin");
        cached_one(dir.path(), &text("a"), &cache_path);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cache_path), 0o600);
        assert_eq!(mode(cache_path.parent().unwrap()), 0o700);
        assert_eq!(Cache::read(&cache_path).len(), 1);
        std::fs::set_permissions(&cache_path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(Cache::read(&cache_path).len(), 0);
    }

    #[test]
    fn the_folder_stamp_is_recorded_only_with_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, text("a")).unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let folder = Stamp { ino: 7, ..stamp };
        let cache_path = dir.path().join("cache.bin");
        let (a, b) = (
            script(dir.path(), "a.sql", &text("a")),
            script(dir.path(), "b.sql", &text("b")),
        );
        let files = [("a.sql".as_ref(), stamp, &a)];
        write(&cache_path, &files, Some(folder), Duration::ZERO);
        assert_eq!(Cache::read(&cache_path).dir_stamp(), Some(folder));
        write(&cache_path, &files, None, Duration::ZERO);
        assert_eq!(Cache::read(&cache_path).dir_stamp(), None);
        // A file too young to record: the folder's stamp would stand for a listing
        // without it.
        let old = Stamp {
            mtime: (1, 0),
            ctime: (1, 0),
            ..stamp
        };
        let two = [("a.sql".as_ref(), old, &a), ("b.sql".as_ref(), stamp, &b)];
        write(&cache_path, &two, Some(folder), MIN_AGE);
        let cache = Cache::read(&cache_path);
        assert_eq!((cache.len(), cache.dir_stamp()), (1, None));
        // A flag other than 0 or 1 is corruption.
        write(&cache_path, &files, Some(folder), Duration::ZERO);
        let mut bytes = std::fs::read(&cache_path).unwrap();
        bytes[DIR_FLAG_AT] = 2;
        std::fs::write(&cache_path, &bytes).unwrap();
        assert_eq!(Cache::read(&cache_path).len(), 0);
    }

    #[test]
    fn young_files_are_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, text("a")).unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let cache_path = dir.path().join("cache.bin");
        let a = script(dir.path(), "a.sql", &text("a"));
        write(&cache_path, &[("a.sql".as_ref(), stamp, &a)], None, MIN_AGE);
        assert_eq!(Cache::read(&cache_path).len(), 0);
    }

    #[test]
    fn a_name_recorded_twice_makes_the_cache_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, text("a")).unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let cache_path = dir.path().join("cache.bin");
        let a = script(dir.path(), "a.sql", &text("a"));
        let one = ("a.sql".as_ref(), stamp, &a);
        write(&cache_path, &[one, one], None, Duration::ZERO);
        assert!(std::fs::metadata(&cache_path).is_ok());
        assert_eq!(Cache::read(&cache_path).len(), 0);
    }

    #[test]
    fn corrupt_or_truncated_caches_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache_path = dir.path().join("cache.bin");
        cached_one(dir.path(), &text("a"), &cache_path);
        let bytes = std::fs::read(&cache_path).unwrap();
        for cut in [0, 5, 8, 20, bytes.len() - 1] {
            std::fs::write(&cache_path, &bytes[..cut]).unwrap();
            assert_eq!(Cache::read(&cache_path).len(), 0, "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        std::fs::write(&cache_path, &extra).unwrap();
        assert_eq!(Cache::read(&cache_path).len(), 0);
        assert_eq!(Cache::read(&dir.path().join("missing")).len(), 0);
    }

    #[test]
    fn a_served_script_is_the_one_its_text_parses_to() {
        let dir = tempfile::tempdir().unwrap();
        // Every header key, a docstring, dialect sections, CRLF endings, a byte order
        // mark and text beyond ASCII.
        let full = "\u{feff}-- aludel:revision r2\r\n-- aludel:revises r0 r1\r\n\
            -- aludel:message héllo wörld\r\n-- aludel:created 2026-01-10T14:30:00Z\r\n\
            -- aludel:branch_labels main ops.x\r\n-- aludel:depends_on q9 lbl\r\n\
            -- aludel:transaction false\r\n-- aludel:incomplete the Python's loop\r\n\
            -- aludel:doc First line.\r\n-- aludel:doc\r\n-- aludel:doc   indented ✓\r\n\
            /* a comment\r\n spanning lines */\r\n\
            -- aludel:upgrade postgresql\r\nCREATE INDEX CONCURRENTLY i ON t (a);\r\n\
            -- aludel:upgrade\r\nSELECT 'ü';\r\n-- aludel:downgrade mysql\r\nSELECT 2;";
        let plain = text("r0");
        let mut names = Vec::new();
        for (name, body) in [("a.sql", full), ("b.sql", plain.as_str())] {
            std::fs::write(dir.path().join(name), body).unwrap();
            names.push((name, body, Stamp::of(&dir.path().join(name)).unwrap()));
        }
        let parsed: Vec<Script> = names
            .iter()
            .map(|(name, body, _)| script(dir.path(), name, body))
            .collect();
        let files: Vec<_> = names
            .iter()
            .zip(&parsed)
            .map(|((name, _, stamp), s)| (OsStr::new(*name), *stamp, s))
            .collect();
        let cache_path = dir.path().join("cache.bin");
        write(&cache_path, &files, None, Duration::ZERO);
        let cache = Cache::read(&cache_path);
        for (i, ((name, _, stamp), want)) in names.iter().zip(&parsed).enumerate() {
            let got = cache.script(i, stamp, dir.path().join(name)).unwrap();
            assert_eq!(got.spec_ref(), want.spec_ref());
            assert_eq!(got.text(), want.text());
            assert_eq!(got.transaction(), want.transaction());
            assert_eq!(got.incomplete(), want.incomplete());
            assert_eq!(
                got.sections().collect::<Vec<_>>(),
                want.sections().collect::<Vec<_>>()
            );
            // Another stamp: not served.
            let other = Stamp {
                mtime: (stamp.mtime.0 + 1, stamp.mtime.1),
                ..*stamp
            };
            assert!(cache.script(i, &other, dir.path().join(name)).is_none());
        }
        assert_eq!(parsed[0].sections().count(), 3);
        assert_eq!(parsed[0].spec_ref().depends_on, ["q9", "lbl"]);
    }

    #[test]
    fn a_cache_of_other_reading_rules_or_a_bad_record_serves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let body = text("a");
        let cache_path = dir.path().join("cache.bin");
        let (file, stamp, a) = cached_one(dir.path(), &body, &cache_path);
        let bytes = std::fs::read(&cache_path).unwrap();
        assert!(
            Cache::read(&cache_path)
                .script(0, &stamp, file.clone())
                .is_some()
        );
        // Written by a build whose parser differs.
        let mut other = bytes.clone();
        other[MAGIC.len()] ^= 1;
        std::fs::write(&cache_path, &other).unwrap();
        assert_eq!(Cache::read(&cache_path).len(), 0);
        // The record's last number (the upgrade section's end) pointing past the text.
        let record_end = HEADER_LEN
            + usize::try_from(u64::from_le_bytes(
                bytes[MAGIC.len() + 16..MAGIC.len() + 24]
                    .try_into()
                    .unwrap(),
            ))
            .unwrap();
        let mut past = bytes.clone();
        past[record_end - 4..record_end].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&cache_path, &past).unwrap();
        let cache = Cache::read(&cache_path);
        assert_eq!(cache.len(), 1);
        assert!(cache.script(0, &stamp, file.clone()).is_none());
        // Every byte of the record changed in turn: either read back as a record
        // that still lies within its text, or not served; never a panic.
        let record_start = record_end - put_record_len(&a);
        for at in record_start..record_end {
            let mut changed = bytes.clone();
            changed[at] = changed[at].wrapping_add(0x41);
            std::fs::write(&cache_path, &changed).unwrap();
            let cache = Cache::read(&cache_path);
            if let Some(s) = cache.script(0, &stamp, file.clone()) {
                assert!(s.sections().all(|section| body.contains(section.sql)));
            }
        }
    }

    #[allow(clippy::unwrap_used)]
    fn put_record_len(script: &Script) -> usize {
        let mut out = Vec::new();
        put_parsed(&mut out, script).unwrap();
        out.len()
    }
}
