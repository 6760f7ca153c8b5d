//! `std::io` adapters for streamed envelopes: bounded memory (one chunk) whatever the size.

use std::io::{self, Read, Write};
use std::vec::Vec;

use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::header::peek_header_len;
use crate::open::Opener;
use crate::provider::{AeadKey, AeadProvider, TAG_LEN};
use crate::seal::Sealer;
use crate::stream::{StreamComplete, StreamOpener, StreamSealer};

fn io_error(e: Error) -> io::Error {
    let kind = match e {
        Error::DidNotVerify | Error::NoMatchingKey => io::ErrorKind::InvalidData,
        // Neither the input nor the caller is at fault: a backend could not answer (retry).
        Error::KeyWrapBackend => io::ErrorKind::Other,
        _ => io::ErrorKind::InvalidInput,
    };
    io::Error::new(kind, e)
}

/// Encrypts everything written to it into a streamed envelope on `inner`. Call
/// [`SealingWriter::finish`] to write the last chunk: a stream that is never finished does not
/// open.
pub struct SealingWriter<W: Write, K: AeadKey> {
    inner: W,
    sealer: Option<StreamSealer<K>>,
    buf: Zeroizing<Vec<u8>>,
}

impl<W: Write, K: AeadKey> SealingWriter<W, K> {
    /// Writes the header to `inner` and returns the writer.
    ///
    /// # Errors
    /// Sealer configuration errors (as [`Sealer::begin_stream`]) and I/O errors.
    pub fn new<P, R>(
        sealer: &Sealer<'_, P>,
        chunk_size: u32,
        mut inner: W,
        rng: &mut R,
    ) -> io::Result<Self>
    where
        P: AeadProvider<Key = K>,
        R: rand_core::CryptoRng + ?Sized,
    {
        let mut header = std::vec![0u8; sealer.header_len().map_err(io_error)?];
        let stream = sealer
            .begin_stream(chunk_size, &mut header, rng)
            .map_err(io_error)?;
        inner.write_all(&header)?;
        let capacity = stream.chunk_size().saturating_add(TAG_LEN);
        Ok(Self {
            inner,
            sealer: Some(stream),
            buf: Zeroizing::new(Vec::with_capacity(capacity)),
        })
    }

    /// Seals the last chunk, flushes, and returns the inner writer.
    ///
    /// # Errors
    /// I/O errors, or a stream over its limits.
    pub fn finish(mut self) -> io::Result<W> {
        let full = self
            .sealer
            .as_ref()
            .is_some_and(|s| self.buf.len() == s.chunk_size());
        if full {
            self.seal_full_chunk()?;
        }
        let sealer = self
            .sealer
            .take()
            .ok_or_else(|| io::Error::other("stream already finished"))?;
        let tag = sealer.seal_last(&mut self.buf).map_err(io_error)?;
        self.buf.extend_from_slice(&tag);
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.inner.flush()?;
        // `self` implements Drop (through its fields), so move the writer out explicitly.
        let Self { inner, .. } = self;
        Ok(inner)
    }

    fn seal_full_chunk(&mut self) -> io::Result<()> {
        let sealer = self
            .sealer
            .as_mut()
            .ok_or_else(|| io::Error::other("stream already finished"))?;
        let tag = sealer.seal_chunk(&mut self.buf).map_err(io_error)?;
        self.buf.extend_from_slice(&tag);
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

impl<W: Write, K: AeadKey> Write for SealingWriter<W, K> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let chunk_size = self
            .sealer
            .as_ref()
            .ok_or_else(|| io::Error::other("stream already finished"))?
            .chunk_size();
        // A full buffer is sealed only when more data arrives, so that `finish` always has a
        // short (possibly empty) last chunk to write.
        if self.buf.len() == chunk_size && !data.is_empty() {
            self.seal_full_chunk()?;
        }
        let room = chunk_size.saturating_sub(self.buf.len());
        let n = room.min(data.len());
        self.buf.extend_from_slice(data.get(..n).unwrap_or(&[]));
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write, K: AeadKey> core::fmt::Debug for SealingWriter<W, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SealingWriter")
            .field("finished", &self.sealer.is_none())
            .finish_non_exhaustive()
    }
}

/// Decrypts a streamed envelope from `inner`. Each chunk's plaintext is returned only after it
/// verified; `read` returns `Ok(0)` (end of stream) only after the last chunk verified, and an
/// `InvalidData` error for any tampering or truncation.
pub struct OpeningReader<R: Read, K: AeadKey> {
    inner: R,
    opener: Option<StreamOpener<K>>,
    buf: Zeroizing<Vec<u8>>,
    /// Bytes of the next sealed chunk already read (kept across a transient I/O error).
    filled: usize,
    pos: usize,
    len: usize,
    /// The last chunk verified (plaintext length in `buf`), but the end of the input has not
    /// been confirmed yet (a transient I/O error interrupted the check).
    last: Option<(usize, StreamComplete)>,
    complete: Option<StreamComplete>,
}

impl<R: Read, K: AeadKey> OpeningReader<R, K> {
    /// Reads and verifies the header from `inner`.
    ///
    /// # Errors
    /// `InvalidData` when the header does not verify (or no key matches); `Other`, wrapping
    /// [`Error::KeyWrapBackend`], when a key-wrapping backend could not answer; I/O errors.
    pub fn new<P>(opener: &Opener<'_, P>, mut inner: R) -> io::Result<Self>
    where
        P: AeadProvider<Key = K>,
    {
        let mut header = std::vec![0u8; 7];
        inner
            .read_exact(&mut header)
            .map_err(|_| io_error(Error::DidNotVerify))?;
        let header_len = peek_header_len(&header).map_err(io_error)?;
        if header_len > opener.configured_limits().max_header_len() || header_len < 7 {
            return Err(io_error(Error::DidNotVerify));
        }
        header.resize(header_len, 0);
        inner
            .read_exact(header.get_mut(7..).unwrap_or(&mut []))
            .map_err(|_| io_error(Error::DidNotVerify))?;
        let (_, stream) = opener.begin_stream(&header).map_err(io_error)?;
        let capacity = stream.sealed_chunk_len();
        Ok(Self {
            inner,
            opener: Some(stream),
            buf: Zeroizing::new(std::vec![0u8; capacity]),
            filled: 0,
            pos: 0,
            len: 0,
            last: None,
            complete: None,
        })
    }

    /// The completion proof, once the last chunk verified.
    pub fn complete(&self) -> Option<StreamComplete> {
        self.complete
    }

    /// Reads and verifies the next chunk into the buffer.
    fn next_chunk(&mut self) -> io::Result<()> {
        let Some(opener) = self.opener.as_mut() else {
            return Ok(());
        };
        let full = opener.sealed_chunk_len();
        while self.filled < full {
            let dst = self.buf.get_mut(self.filled..full).unwrap_or(&mut []);
            match self.inner.read(dst) {
                Ok(0) => break,
                Ok(n) => self.filled = self.filled.saturating_add(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // What was read stays in `buf`: a retry continues this chunk.
                Err(e) => return Err(e),
            }
        }
        let filled = core::mem::take(&mut self.filled);
        let chunk = self.buf.get_mut(..filled).unwrap_or(&mut []);
        let result = if filled == full {
            opener.open_chunk(chunk).map(|n| (n, None))
        } else {
            // Shorter than a full chunk: this must be the last one (a cut stream fails here).
            let opener = self
                .opener
                .take()
                .ok_or_else(|| io_error(Error::DidNotVerify))?;
            opener.open_last(chunk).map(|(n, done)| (n, Some(done)))
        };
        match result {
            Ok((n, None)) => {
                self.pos = 0;
                self.len = n;
                Ok(())
            }
            Ok((n, Some(done))) => {
                self.last = Some((n, done));
                self.finish_last()
            }
            Err(e) => {
                self.opener = None;
                self.len = 0;
                Err(io_error(e))
            }
        }
    }
}

impl<R: Read, K: AeadKey> OpeningReader<R, K> {
    /// Anything after the last chunk is tampering: confirms the end of the input before the
    /// last chunk's plaintext is released or completion reported. A transient I/O error leaves
    /// the check pending for the next `read`.
    fn finish_last(&mut self) -> io::Result<()> {
        let Some((n, done)) = self.last else {
            return Ok(());
        };
        match at_end(&mut self.inner) {
            Ok(true) => {
                self.last = None;
                self.pos = 0;
                self.len = n;
                self.complete = Some(done);
                Ok(())
            }
            Ok(false) => {
                self.last = None;
                self.buf.as_mut_slice().zeroize();
                Err(io_error(Error::DidNotVerify))
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether `inner` has nothing more to give (retrying interrupted reads).
fn at_end<R: Read>(inner: &mut R) -> io::Result<bool> {
    let mut probe = [0u8; 1];
    loop {
        match inner.read(&mut probe) {
            Ok(n) => return Ok(n == 0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

impl<R: Read, K: AeadKey> Read for OpeningReader<R, K> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            if self.complete.is_some() {
                return Ok(0);
            }
            if self.last.is_some() {
                self.finish_last()?;
            } else if self.opener.is_none() {
                return Err(io_error(Error::DidNotVerify));
            } else {
                self.next_chunk()?;
            }
        }
        let available = self.buf.get(self.pos..self.len).unwrap_or(&[]);
        let n = available.len().min(out.len());
        out.get_mut(..n)
            .unwrap_or(&mut [])
            .copy_from_slice(available.get(..n).unwrap_or(&[]));
        self.pos = self.pos.saturating_add(n);
        Ok(n)
    }
}

impl<R: Read, K: AeadKey> core::fmt::Debug for OpeningReader<R, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpeningReader")
            .field("complete", &self.complete)
            .finish_non_exhaustive()
    }
}
