//! File access for a versions folder: the names of its `*.sql` files, each file's
//! bytes, and the stamp the cache compares.
//!
//! On Unix the folder is opened once and every file is opened (or `stat`ed) relative to
//! that descriptor, so the kernel does not walk the folder's path again for each of
//! thousands of files; elsewhere plain paths are used.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use super::cache::Stamp;

/// An open versions folder.
pub(crate) struct Folder {
    path: PathBuf,
    #[cfg(unix)]
    fd: rustix::fd::OwnedFd,
    /// Whether a read of one of its files that returns less than was asked has reached
    /// the file's end, so that no second read is needed to see it: see [`read_to_end`].
    short_read_is_end: bool,
}

/// Whether the folder `fd` is on a local file system whose reads of a regular file
/// return less than was asked only at the file's end (Linux's page-cache reads loop
/// until then): ext2/3/4, XFS, Btrfs, tmpfs, overlayfs, F2FS, ZFS. Not a network or FUSE
/// file system, whose reads may stop short anywhere.
#[cfg(target_os = "linux")]
fn short_read_is_end(fd: &rustix::fd::OwnedFd) -> bool {
    const LOCAL: [u64; 7] = [
        0xEF53,      // ext2, ext3, ext4
        0x5846_5342, // XFS
        0x9123_683E, // Btrfs
        0x0102_1994, // tmpfs
        0x794C_7630, // overlayfs
        0xF2F5_2010, // F2FS
        0x2FC1_2FC1, // ZFS
    ];
    rustix::fs::fstatfs(fd).is_ok_and(|st| {
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        let kind = st.f_type as i64 as u64 & 0xFFFF_FFFF;
        LOCAL.contains(&kind)
    })
}

/// The name of one file in a [`Folder`], in the form its system calls take.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FileName {
    #[cfg(unix)]
    name: std::ffi::CString,
    #[cfg(not(unix))]
    name: std::ffi::OsString,
}

impl FileName {
    /// The name as an `OsStr`.
    pub(crate) fn as_os_str(&self) -> &OsStr {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            OsStr::from_bytes(self.name.as_bytes())
        }
        #[cfg(not(unix))]
        {
            &self.name
        }
    }

    /// The name whose bytes are `bytes`, if a file can have it.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<FileName> {
        #[cfg(unix)]
        {
            let name = std::ffi::CString::new(bytes).ok()?;
            Some(FileName { name })
        }
        #[cfg(not(unix))]
        {
            Some(FileName {
                name: std::str::from_utf8(bytes).ok()?.into(),
            })
        }
    }

    /// Whether the name is visible (no leading dot) and ends with `.sql`.
    fn is_visible_sql(&self) -> bool {
        let name = self.as_os_str().as_encoded_bytes();
        !name.starts_with(b".") && name.ends_with(b".sql")
    }
}

/// Whether a directory entry is a file, following a symlink (and asking the file
/// system when the entry's type is not given).
enum Kind {
    File,
    Other,
    Ask,
}

impl Folder {
    /// Opens the folder at `path`.
    pub(crate) fn open(path: &Path) -> io::Result<Folder> {
        #[cfg(unix)]
        {
            use rustix::fs::{CWD, Mode, OFlags};
            let fd = rustix::fs::openat(
                CWD,
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            #[cfg(target_os = "linux")]
            let short_read_is_end = short_read_is_end(&fd);
            #[cfg(not(target_os = "linux"))]
            let short_read_is_end = false;
            Ok(Folder {
                path: path.to_path_buf(),
                fd,
                short_read_is_end,
            })
        }
        #[cfg(not(unix))]
        {
            if !path.is_dir() {
                std::fs::read_dir(path)?;
            }
            Ok(Folder {
                path: path.to_path_buf(),
                short_read_is_end: false,
            })
        }
    }

    /// The path of `name` in this folder, for messages and [`super::Script::path`].
    pub(crate) fn join(&self, name: &OsStr) -> PathBuf {
        // Sized once: `Path::join` grows its copy of the folder's path for each file.
        let mut path = PathBuf::with_capacity(self.path.as_os_str().len() + 1 + name.len());
        path.push(&self.path);
        path.push(name);
        path
    }

    /// The names of the visible `*.sql` files (symlinks to files included), sorted.
    pub(crate) fn sql_files(&self) -> io::Result<Vec<FileName>> {
        self.listing().map(|listing| listing.names)
    }

    /// [`Folder::sql_files`], and whether they are every visible `*.sql` entry.
    pub(crate) fn listing(&self) -> io::Result<Listing> {
        let mut listing = Listing {
            names: Vec::new(),
            complete: true,
        };
        for (name, kind) in self.entries()? {
            if !name.is_visible_sql() {
                continue;
            }
            let is_file = match kind {
                Kind::File => true,
                Kind::Other => false,
                Kind::Ask => self.is_file(&name),
            };
            if is_file {
                listing.names.push(name);
            } else {
                listing.complete = false;
            }
        }
        listing.names.sort_unstable();
        Ok(listing)
    }

    #[cfg(unix)]
    fn entries(&self) -> io::Result<Vec<(FileName, Kind)>> {
        use rustix::fs::FileType;
        let mut dir = rustix::fs::Dir::read_from(&self.fd)?;
        let mut entries = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry?;
            let kind = match entry.file_type() {
                FileType::RegularFile => Kind::File,
                FileType::Symlink | FileType::Unknown => Kind::Ask,
                _ => Kind::Other,
            };
            entries.push((
                FileName {
                    name: entry.file_name().to_owned(),
                },
                kind,
            ));
        }
        Ok(entries)
    }

    #[cfg(not(unix))]
    fn entries(&self) -> io::Result<Vec<(FileName, Kind)>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&self.path)? {
            let entry = entry?;
            let file_type = entry.file_type()?;
            let kind = if file_type.is_file() {
                Kind::File
            } else if file_type.is_symlink() {
                Kind::Ask
            } else {
                Kind::Other
            };
            entries.push((
                FileName {
                    name: entry.file_name(),
                },
                kind,
            ));
        }
        Ok(entries)
    }

    /// Whether `name` is (or leads to) a regular file.
    pub(crate) fn is_file(&self, name: &FileName) -> bool {
        #[cfg(unix)]
        {
            use rustix::fs::{AtFlags, FileType};
            rustix::fs::statat(&self.fd, name.name.as_c_str(), AtFlags::empty())
                .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
        }
        #[cfg(not(unix))]
        {
            self.join(name).is_file()
        }
    }

    /// Reads the whole file `name` into `buf` (grown as needed), returning its length.
    /// No `stat` first: over thousands of small files it costs more than it saves.
    pub(crate) fn read(&self, name: &FileName, buf: &mut Vec<u8>) -> io::Result<usize> {
        #[cfg(unix)]
        let mut file = {
            use rustix::fs::{Mode, OFlags};
            let fd = rustix::fs::openat(
                &self.fd,
                name.name.as_c_str(),
                OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
                Mode::empty(),
            )?;
            std::fs::File::from(fd)
        };
        #[cfg(not(unix))]
        let mut file = std::fs::File::open(self.join(name))?;
        read_to_end(&mut file, buf, self.short_read_is_end)
    }

    /// The stamp of the file `name` (following symlinks), or `None` where it cannot be
    /// had (e.g. the file is gone).
    pub(crate) fn stamp(&self, name: &OsStr) -> Option<Stamp> {
        #[cfg(unix)]
        {
            use rustix::fs::AtFlags;
            stamp_of(&rustix::fs::statat(&self.fd, name, AtFlags::empty()).ok()?)
        }
        #[cfg(not(unix))]
        {
            let _ = name;
            None
        }
    }
}

/// A file's stamp from what `stat` read of it.
#[cfg(unix)]
fn stamp_of(st: &rustix::fs::Stat) -> Option<Stamp> {
    Some(Stamp {
        dev: to_u64(st.st_dev)?,
        ino: to_u64(st.st_ino)?,
        size: to_u64(st.st_size)?,
        mtime: (to_i64(st.st_mtime), to_i64(st.st_mtime_nsec)),
        ctime: (to_i64(st.st_ctime), to_i64(st.st_ctime_nsec)),
    })
}

impl Folder {
    /// The stamp of the folder itself, or `None` where it cannot be had.
    pub(crate) fn own_stamp(&self) -> Option<Stamp> {
        #[cfg(unix)]
        {
            stamp_of(&rustix::fs::fstat(&self.fd).ok()?)
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

/// A folder's visible `*.sql` files, sorted by name.
pub(crate) struct Listing {
    /// Their names.
    pub(crate) names: Vec<FileName>,
    /// Whether no visible `*.sql` entry was left out for not being a file (a folder,
    /// a broken symlink): only then do the names stand for the folder's entries.
    pub(crate) complete: bool,
}

// `stat`'s field types differ between architectures: convert whatever they are.
#[cfg(unix)]
fn to_u64<T: TryInto<u64>>(v: T) -> Option<u64> {
    v.try_into().ok()
}

#[cfg(unix)]
fn to_i64<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(-1)
}

/// Reads `file` to its end into `buf`, which is reused between files. Where
/// `short_read_is_end`, a read that fills less than the room it was given has reached
/// the end: the read that would return nothing to say so is not made (a quarter of
/// the system calls of reading thousands of small files).
fn read_to_end(
    file: &mut std::fs::File,
    buf: &mut Vec<u8>,
    short_read_is_end: bool,
) -> io::Result<usize> {
    use std::io::Read;
    if buf.len() < 8192 {
        buf.resize(8192, 0);
    }
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => return Ok(len),
            Ok(n) if short_read_is_end && len + n < buf.len() => return Ok(len + n),
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FileName, Folder, read_to_end};

    /// Files of every size around the read buffer's are read whole, whether a short
    /// read is taken as the end or a read returning nothing is waited for, and through
    /// the folder as it decides.
    #[test]
    fn files_of_every_size_around_the_buffer_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [0, 1, 8191, 8192, 8193, 16383, 16384, 20000, 100_000];
        let bytes = |n: usize| (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
        for n in sizes {
            std::fs::write(dir.path().join(format!("f{n}.sql")), bytes(n)).unwrap();
        }
        let folder = Folder::open(dir.path()).unwrap();
        let mut buf = Vec::new();
        for n in sizes {
            let name = format!("f{n}.sql");
            for short_read_is_end in [false, true] {
                let mut file = std::fs::File::open(dir.path().join(&name)).unwrap();
                let len = read_to_end(&mut file, &mut buf, short_read_is_end).unwrap();
                assert_eq!(buf[..len], bytes(n), "{name}, {short_read_is_end}");
            }
            let len = folder
                .read(&FileName::from_bytes(name.as_bytes()).unwrap(), &mut buf)
                .unwrap();
            assert_eq!(buf[..len], bytes(n), "{name}");
        }
    }
}
