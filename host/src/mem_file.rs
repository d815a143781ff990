//! An artifact in an anonymous in-memory file (Linux `memfd`). wasmtime takes a component's
//! initial memory images copy-on-write from the file it was loaded from; a component loaded from
//! a byte slice instead has its images copied into new memfds at its first instantiation (tens of
//! ms for an interpreter's heap snapshot). Writing an artifact fetched from elsewhere straight
//! into a memfd gives the file-backed kind without waiting for the disk.

use std::fs::File;
use std::io::{Error, Seek};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;

use anyhow::{Context, Result};

/// An anonymous file, alive while this handle or a mapping of it is.
pub(crate) struct MemFile(File);

impl MemFile {
    /// A file of `len` bytes that `fill` writes, in place.
    pub fn filled(len: usize, fill: impl FnOnce(&mut [u8]) -> Result<()>) -> Result<MemFile> {
        // SAFETY: the name is a NUL-terminated literal; a returned descriptor is ours to own.
        let fd = unsafe { libc::memfd_create(c"fusion-artifact".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::last_os_error()).context("cannot create an in-memory file");
        }
        // SAFETY: `fd` is a fresh descriptor nothing else owns.
        let file = unsafe { File::from_raw_fd(fd) };
        file.set_len(len as u64).context("cannot size an in-memory file")?;
        if len > 0 {
            // SAFETY: a new shared mapping of the whole file, unmapped below before the file is
            // used otherwise; the slice does not outlive it.
            let base = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0) };
            if base == libc::MAP_FAILED {
                return Err(Error::last_os_error()).context("cannot map an in-memory file");
            }
            let filled = fill(unsafe { std::slice::from_raw_parts_mut(base.cast::<u8>(), len) });
            // SAFETY: `base` and `len` are the mapping made above.
            unsafe { libc::munmap(base, len) };
            filled?;
        }
        Ok(MemFile(file))
    }

    /// A path that opens this file, for APIs that take a path.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.0.as_raw_fd()))
    }

    /// The file, read from its start.
    pub fn into_reader(mut self) -> std::io::Result<File> {
        self.0.rewind()?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_fill_writes_is_what_the_file_holds() {
        let file = MemFile::filled(5, |out| {
            out.copy_from_slice(b"hello");
            Ok(())
        })
        .unwrap();
        assert_eq!(std::fs::read(file.path()).unwrap(), b"hello");
        let mut read = String::new();
        std::io::Read::read_to_string(&mut file.into_reader().unwrap(), &mut read).unwrap();
        assert_eq!(read, "hello");
        assert!(MemFile::filled(3, |_| anyhow::bail!("no")).is_err(), "a failed fill fails");
    }
}
