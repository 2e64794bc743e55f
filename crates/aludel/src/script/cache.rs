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

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Files younger than this are not recorded (see the module docs).
pub(crate) const MIN_AGE: Duration = Duration::from_secs(2);

const MAGIC: &[u8; 8] = b"ALDLC003";

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of `path` (following symlinks), or `None` where the platform does
    /// not give change times.
    pub(crate) fn of(path: &Path) -> Option<Stamp> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path).ok()?;
            Some(Stamp {
                dev: m.dev(),
                ino: m.ino(),
                size: m.size(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// Whether both times are at least `min_age` before `now`.
    fn settled(&self, now: SystemTime, min_age: Duration) -> bool {
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

/// A cache read from disk: file name to stamp and the range of its text in `texts`
/// (one allocation for every text: this is read on every command).
#[derive(Debug, Default)]
pub(crate) struct Cache {
    entries: HashMap<OsString, (Stamp, std::ops::Range<usize>)>,
    texts: String,
}

impl Cache {
    /// Reads the cache at `path`; anything unexpected gives an empty cache.
    pub(crate) fn read(path: &Path) -> Cache {
        if !trusted(path) {
            return Cache::default();
        }
        std::fs::read(path)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default()
    }

    /// The text recorded for `name` if `stamp` matches its entry.
    pub(crate) fn get(&self, name: &std::ffi::OsStr, stamp: &Stamp) -> Option<&str> {
        self.entries
            .get(name)
            .filter(|(s, range)| s == stamp && range.len() as u64 == stamp.size)
            .and_then(|(_, range)| self.texts.get(range.clone()))
    }

    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Writes a new cache of `files` (name, stamp, text), leaving out files younger than
/// `min_age`. Best effort: a cache that cannot be written only costs speed.
pub(crate) fn write(path: &Path, files: &[(OsString, Stamp, &str)], min_age: Duration) {
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
    out.extend_from_slice(&(settled.len() as u64).to_le_bytes());
    // The index, then every text back to back: a reader checks UTF-8 once.
    let mut offset = 0u64;
    for (name, stamp, text) in &settled {
        put_bytes(&mut out, name.as_bytes());
        for v in [stamp.dev, stamp.ino, stamp.size, offset, text.len() as u64] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [stamp.mtime.0, stamp.mtime.1, stamp.ctime.0, stamp.ctime.1] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        offset += text.len() as u64;
    }
    for (_, _, text) in &settled {
        out.extend_from_slice(text.as_bytes());
    }
    let Some(dir) = path.parent() else { return };
    if create_private_dir(dir).is_err() {
        return;
    }
    // Write beside, then rename: a reader never sees half a cache. The name is unique
    // even across containers that share a volume and all run as pid 1.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(
        ".{}.{}.{nanos:x}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    if write_private(&tmp, &out).is_err() || std::fs::rename(&tmp, path).is_err() {
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
/// that runs as migrations. Trusted: owned by this process's user (where the
/// platform tells) and not writable by group or others.
fn trusted(path: &Path) -> bool {
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

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.u64()?).ok()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

fn decode(bytes: &[u8]) -> Option<Cache> {
    let mut r = Reader { bytes };
    if r.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let count = r.u64()?;
    let mut entries = HashMap::with_capacity(usize::try_from(count).ok()?.min(1 << 20));
    let mut end = 0;
    for _ in 0..count {
        let name = OsString::from(r.string()?);
        let (dev, ino, size) = (r.u64()?, r.u64()?, r.u64()?);
        let start = usize::try_from(r.u64()?).ok()?;
        let len = usize::try_from(r.u64()?).ok()?;
        let stamp = Stamp {
            dev,
            ino,
            size,
            mtime: (r.i64()?, r.i64()?),
            ctime: (r.i64()?, r.i64()?),
        };
        if start != end {
            return None;
        }
        end = start.checked_add(len)?;
        entries.insert(name, (stamp, start..end));
    }
    let texts = String::from_utf8(r.bytes.to_vec()).ok()?;
    if texts.len() != end {
        return None;
    }
    // Entries must start at character boundaries too.
    if entries
        .values()
        .any(|(_, range)| texts.get(range.clone()).is_none())
    {
        return None;
    }
    Some(Cache { entries, texts })
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
            &[("a.sql".into(), stamp, "text one")],
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
            &[("a.sql".into(), stamp, "text")],
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
    fn young_files_are_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.sql");
        std::fs::write(&file, "x").unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let cache_path = dir.path().join("cache.bin");
        write(&cache_path, &[("a.sql".into(), stamp, "x")], MIN_AGE);
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
            &[("a.sql".into(), stamp, "text")],
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
