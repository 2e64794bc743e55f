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

use std::ffi::OsStr;
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Files younger than this are not recorded (see the module docs).
pub(crate) const MIN_AGE: Duration = Duration::from_secs(2);

const MAGIC: &[u8; 8] = b"ALDLC005";

/// The magic, the entry count, the index's length, the texts' length, whether the
/// folder's stamp is recorded and that stamp ([`STAMP_LEN`]).
const HEADER_LEN: usize = 40 + STAMP_LEN;

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

    /// Every entry's text, back to back.
    pub(crate) fn texts(&self) -> &std::sync::Arc<String> {
        &self.texts
    }

    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Writes a new cache of `files` (name, stamp, text), leaving out files younger than
/// `min_age`. `dir` is the versions folder's stamp when `files` are every visible
/// `*.sql` entry it held: it is recorded only if every file is (see the module docs).
/// Best effort: a cache that cannot be written only costs speed.
pub(crate) fn write(
    path: &Path,
    files: &[(&OsStr, Stamp, &str)],
    dir: Option<Stamp>,
    min_age: Duration,
) {
    let now = SystemTime::now();
    let mut out = Vec::with_capacity(files.iter().map(|f| f.2.len() + 64).sum::<usize>() + 16);
    out.extend_from_slice(MAGIC);
    let settled: Vec<_> = files
        .iter()
        .filter(|(_, stamp, _)| stamp.settled(now, min_age))
        .collect();
    let settled: Vec<_> = settled
        .into_iter()
        .filter_map(|(name, stamp, text)| Some((name.to_str()?, stamp, text)))
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
    for (name, stamp, text) in &settled {
        put_bytes(&mut out, name.as_bytes());
        for v in [offset, text.len() as u64] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        put_stamp(&mut out, stamp);
        offset += text.len() as u64;
    }
    let index_len = (out.len() - HEADER_LEN) as u64;
    out[lengths_at..lengths_at + 8].copy_from_slice(&index_len.to_le_bytes());
    out[lengths_at + 8..lengths_at + 16].copy_from_slice(&offset.to_le_bytes());
    for (_, _, text) in &settled {
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

/// Reads the cache format from the front of a byte string.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
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
        pos: MAGIC.len() + 8,
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
    if header.get(r.take(MAGIC.len())?)? != MAGIC {
        return None;
    }
    let count = usize::try_from(r.u64()?).ok()?;
    r.take(16)?;
    let dir = match (r.u64()?, r.stamp()?) {
        (0, _) => None,
        (1, stamp) => Some(stamp),
        _ => return None,
    };
    // Every entry takes at least 80 bytes of the index: a count beyond that is corrupt.
    if count > index.len() / 80 {
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
        if start != end {
            return None;
        }
        end = start.checked_add(len)?;
        entries.push(Entry {
            name,
            stamp,
            text: start..end,
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

    #[test]
    fn round_trip_serves_only_matching_stamps() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, "text one").unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let cache_path = dir.path().join("c/cache.bin");
        write(
            &cache_path,
            &[("a.sql".as_ref(), stamp, "text one")],
            None,
            Duration::ZERO,
        );
        let cache = Cache::read(&cache_path);
        assert_eq!(cache.get("a.sql".as_ref(), &stamp), Some("text one"));
        let other = Stamp { size: 9, ..stamp };
        assert_eq!(cache.get("a.sql".as_ref(), &other), None);
        assert_eq!(cache.get("b.sql".as_ref(), &stamp), None);
    }

    #[test]
    fn the_cache_is_private_and_a_writable_one_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, "text").unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let cache_path = dir.path().join("c/cache.bin");
        write(
            &cache_path,
            &[("a.sql".as_ref(), stamp, "text")],
            None,
            Duration::ZERO,
        );
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
        std::fs::write(&file, "x").unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let folder = Stamp { ino: 7, ..stamp };
        let cache_path = dir.path().join("cache.bin");
        let files = [("a.sql".as_ref(), stamp, "x")];
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
        let two = [("a.sql".as_ref(), old, "x"), ("b.sql".as_ref(), stamp, "y")];
        write(&cache_path, &two, Some(folder), MIN_AGE);
        let cache = Cache::read(&cache_path);
        assert_eq!((cache.len(), cache.dir_stamp()), (1, None));
        // A flag other than 0 or 1 is corruption.
        write(&cache_path, &files, Some(folder), Duration::ZERO);
        let mut bytes = std::fs::read(&cache_path).unwrap();
        bytes[32] = 2;
        std::fs::write(&cache_path, &bytes).unwrap();
        assert_eq!(Cache::read(&cache_path).len(), 0);
    }

    #[test]
    fn young_files_are_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, "x").unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let cache_path = dir.path().join("cache.bin");
        write(
            &cache_path,
            &[("a.sql".as_ref(), stamp, "x")],
            None,
            MIN_AGE,
        );
        assert_eq!(Cache::read(&cache_path).len(), 0);
    }

    #[test]
    fn a_name_recorded_twice_makes_the_cache_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, "text").unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let cache_path = dir.path().join("cache.bin");
        let one = ("a.sql".as_ref(), stamp, "text");
        write(&cache_path, &[one, one], None, Duration::ZERO);
        assert!(std::fs::metadata(&cache_path).is_ok());
        assert_eq!(Cache::read(&cache_path).len(), 0);
    }

    #[test]
    fn corrupt_or_truncated_caches_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, "text").unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let cache_path = dir.path().join("cache.bin");
        write(
            &cache_path,
            &[("a.sql".as_ref(), stamp, "text")],
            None,
            Duration::ZERO,
        );
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
}
