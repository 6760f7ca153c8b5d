//! A strict, bounded, zero-copy CBOR reader and a slice writer: exactly the subset the token
//! profile uses (RFC 8949 major types 0-6, definite lengths, preferred serialization).
//!
//! This is the heap-free path that firmware verifies with; it is not a general CBOR library.
//! Anything outside the subset (indefinite lengths, non-shortest heads, floats, simple values
//! other than the ones the profile names) is a rejection, so every token has exactly one
//! accepted encoding of each item (ASVS 1.5.3).

/// Parse failure inside this module; the verifier maps it to the opaque rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

pub(crate) type Parse<T> = Result<T, Malformed>;

pub(crate) const MAJOR_UINT: u8 = 0;
pub(crate) const MAJOR_NINT: u8 = 1;
pub(crate) const MAJOR_BSTR: u8 = 2;
pub(crate) const MAJOR_TSTR: u8 = 3;
pub(crate) const MAJOR_ARRAY: u8 = 4;
pub(crate) const MAJOR_MAP: u8 = 5;
pub(crate) const MAJOR_TAG: u8 = 6;

/// Reads items from a byte slice, front to back.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Bytes not yet read.
    #[cfg(test)]
    pub(crate) fn rest_len(&self) -> usize {
        self.rest.len()
    }

    /// The unread bytes.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// The next byte without consuming it.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn take(&mut self, n: usize) -> Parse<&'a [u8]> {
        if n > self.rest.len() {
            return Err(Malformed);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// One item head: major type and argument, in preferred (shortest) serialization.
    pub(crate) fn head(&mut self) -> Parse<(u8, u64)> {
        let first = *self.take(1)?.first().ok_or(Malformed)?;
        let major = first >> 5;
        let info = first & 0x1f;
        let value = match info {
            0..=23 => u64::from(info),
            24 => {
                let v = u64::from(*self.take(1)?.first().ok_or(Malformed)?);
                if v < 24 {
                    return Err(Malformed);
                }
                v
            }
            25 => {
                let b: [u8; 2] = self.take(2)?.try_into().map_err(|_| Malformed)?;
                let v = u64::from(u16::from_be_bytes(b));
                if v <= 0xff {
                    return Err(Malformed);
                }
                v
            }
            26 => {
                let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| Malformed)?;
                let v = u64::from(u32::from_be_bytes(b));
                if v <= 0xffff {
                    return Err(Malformed);
                }
                v
            }
            27 => {
                let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| Malformed)?;
                let v = u64::from_be_bytes(b);
                if v <= 0xffff_ffff {
                    return Err(Malformed);
                }
                v
            }
            // 28-30 reserved, 31 indefinite length / break: outside the profile.
            _ => return Err(Malformed),
        };
        // Major type 7 (floats, simple values) never appears in the profile.
        if major == 7 {
            return Err(Malformed);
        }
        Ok((major, value))
    }

    fn expect_head(&mut self, major: u8) -> Parse<u64> {
        let (m, v) = self.head()?;
        if m == major {
            Ok(v)
        } else {
            Err(Malformed)
        }
    }

    pub(crate) fn uint(&mut self) -> Parse<u64> {
        self.expect_head(MAJOR_UINT)
    }

    /// A signed integer (major 0 or 1) that fits in `i64`.
    pub(crate) fn int(&mut self) -> Parse<i64> {
        match self.head()? {
            (MAJOR_UINT, v) => i64::try_from(v).map_err(|_| Malformed),
            (MAJOR_NINT, v) => {
                let v = i64::try_from(v).map_err(|_| Malformed)?;
                // v <= i64::MAX, so -1 - v >= i64::MIN.
                Ok((-1i64).saturating_sub(v))
            }
            _ => Err(Malformed),
        }
    }

    fn len_bounded(&mut self, major: u8) -> Parse<usize> {
        let n = self.expect_head(major)?;
        // A length can never exceed what is left of the input (bounds the work up front).
        let n = usize::try_from(n).map_err(|_| Malformed)?;
        if n > self.rest.len() {
            return Err(Malformed);
        }
        Ok(n)
    }

    pub(crate) fn bstr(&mut self) -> Parse<&'a [u8]> {
        let n = self.len_bounded(MAJOR_BSTR)?;
        self.take(n)
    }

    pub(crate) fn tstr(&mut self) -> Parse<&'a str> {
        let n = self.len_bounded(MAJOR_TSTR)?;
        core::str::from_utf8(self.take(n)?).map_err(|_| Malformed)
    }

    /// Array header; every element is at least one byte, so the count is bounded by the input.
    pub(crate) fn array(&mut self) -> Parse<usize> {
        self.len_bounded(MAJOR_ARRAY)
    }

    /// Map header; every entry is at least two bytes.
    pub(crate) fn map(&mut self) -> Parse<usize> {
        let n = self.expect_head(MAJOR_MAP)?;
        let n = usize::try_from(n).map_err(|_| Malformed)?;
        if n > self.rest.len() / 2 {
            return Err(Malformed);
        }
        Ok(n)
    }

    pub(crate) fn tag(&mut self) -> Parse<u64> {
        self.expect_head(MAJOR_TAG)
    }

    /// The major type of the next item, without consuming it.
    pub(crate) fn peek_major(&self) -> Option<u8> {
        self.peek().map(|b| b >> 5)
    }
}

/// Writes items into a caller-supplied slice.
#[derive(Debug)]
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

/// Length of a COSE_Sign1 or COSE_Mac0 as medsec writes it (`tag([protected, {}, payload,
/// tag])`, shortest heads), from the lengths of its three byte strings: known before writing,
/// so that an oversize token is refused as such whatever the output buffer.
pub(crate) fn cose_len(protected: usize, payload: usize, tag: usize) -> usize {
    // Tag 17 or 18, array(4) and the empty map are one byte each.
    [protected, payload, tag]
        .into_iter()
        .fold(3usize, |n, len| n.saturating_add(bstr_len(len)))
}

/// Length of a byte string of `len` bytes with its shortest head.
fn bstr_len(len: usize) -> usize {
    let head = match len {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    };
    len.saturating_add(head)
}

/// The buffer was too small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

pub(crate) type Write = Result<(), Full>;

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> Write {
        let end = self.pos.checked_add(bytes.len()).ok_or(Full)?;
        self.buf
            .get_mut(self.pos..end)
            .ok_or(Full)?
            .copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    pub(crate) fn head(&mut self, major: u8, value: u64) -> Write {
        let m = major << 5;
        if value < 24 {
            // Fits in the low five bits by the check above.
            self.raw(&[m | u8::try_from(value).unwrap_or(0)])
        } else if let Ok(v) = u8::try_from(value) {
            self.raw(&[m | 24, v])
        } else if let Ok(v) = u16::try_from(value) {
            self.raw(&[m | 25])?;
            self.raw(&v.to_be_bytes())
        } else if let Ok(v) = u32::try_from(value) {
            self.raw(&[m | 26])?;
            self.raw(&v.to_be_bytes())
        } else {
            self.raw(&[m | 27])?;
            self.raw(&value.to_be_bytes())
        }
    }

    pub(crate) fn uint(&mut self, v: u64) -> Write {
        self.head(MAJOR_UINT, v)
    }

    pub(crate) fn int(&mut self, v: i64) -> Write {
        if v >= 0 {
            self.head(MAJOR_UINT, v.unsigned_abs())
        } else {
            // -1 - v without overflow: for v < 0, |v| - 1.
            self.head(MAJOR_NINT, v.unsigned_abs().saturating_sub(1))
        }
    }

    pub(crate) fn bstr(&mut self, b: &[u8]) -> Write {
        self.head(MAJOR_BSTR, b.len() as u64)?;
        self.raw(b)
    }

    pub(crate) fn tstr(&mut self, s: &str) -> Write {
        self.head(MAJOR_TSTR, s.len() as u64)?;
        self.raw(s.as_bytes())
    }

    pub(crate) fn array(&mut self, n: usize) -> Write {
        self.head(MAJOR_ARRAY, n as u64)
    }

    pub(crate) fn map(&mut self, n: usize) -> Write {
        self.head(MAJOR_MAP, n as u64)
    }

    pub(crate) fn tag(&mut self, t: u64) -> Write {
        self.head(MAJOR_TAG, t)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;

    #[test]
    fn rejects_non_shortest_heads() {
        for bad in [
            &[0x18, 0x17][..],
            &[0x19, 0x00, 0xff],
            &[0x1a, 0x00, 0x00, 0xff, 0xff],
            &[0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert_eq!(Reader::new(bad).uint(), Err(Malformed), "{bad:02x?}");
        }
        assert_eq!(Reader::new(&[0x18, 0x18]).uint(), Ok(24));
    }

    #[test]
    fn rejects_indefinite_and_floats() {
        assert!(Reader::new(&[0x5f, 0xff]).bstr().is_err());
        assert!(Reader::new(&[0x9f, 0xff]).array().is_err());
        assert!(Reader::new(&[0xf9, 0, 0]).head().is_err());
        assert!(Reader::new(&[0xf6]).head().is_err());
    }

    #[test]
    fn lengths_bounded_by_input() {
        assert!(Reader::new(&[0x43, 1, 2]).bstr().is_err());
        assert!(Reader::new(&[0x9a, 0xff, 0xff, 0xff, 0xff])
            .array()
            .is_err());
        assert!(Reader::new(&[0xa2, 1, 1]).map().is_err());
    }

    #[test]
    fn write_read_round_trip() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        for v in [
            0i64,
            23,
            24,
            255,
            256,
            65535,
            65536,
            -1,
            -24,
            -25,
            -65537,
            i64::MIN,
        ] {
            w.int(v).unwrap();
        }
        let n = w.position();
        let mut r = Reader::new(&buf[..n]);
        for v in [
            0i64,
            23,
            24,
            255,
            256,
            65535,
            65536,
            -1,
            -24,
            -25,
            -65537,
            i64::MIN,
        ] {
            assert_eq!(r.int().unwrap(), v);
        }
        assert!(r.is_empty());
    }
}
