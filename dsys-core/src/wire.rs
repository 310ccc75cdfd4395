//! Wire basics: the [`Codec`] that turns messages into bytes, and
//! length-prefixed frames for stream transports.
//!
//! A frame is a 4-byte big-endian payload length followed by the payload.
//! Every decoder takes a maximum frame size (`frame_bytes_max`) and checks the
//! declared length against it *before* buffering anything, so a hostile peer
//! that announces a 4 GiB frame gets an error, not an allocation. Truncated,
//! oversized and malformed input gives an [`Error`], never a panic.
//!
//! ```
//! use dsys_core::wire::{encode_frame, Codec, FrameDecoder, Postcard};
//!
//! let mut stream = Vec::new();
//! let payload = Postcard.encode_to_vec(&("hello", 7u32)).unwrap();
//! encode_frame(&payload, 1024, &mut stream).unwrap();
//!
//! // Bytes may arrive in any chunks: feed them, take whole frames out.
//! let mut decoder = FrameDecoder::new(1024);
//! decoder.extend(&stream[..3]);
//! assert!(decoder.next_frame().unwrap().is_none());
//! decoder.extend(&stream[3..]);
//! let frame = decoder.next_frame().unwrap().unwrap();
//! let value: (String, u32) = Postcard.decode(&frame).unwrap();
//! assert_eq!(value, ("hello".to_string(), 7));
//! decoder.finish().unwrap(); // nothing left over
//! ```

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, Result};

/// Bytes in a frame header (the big-endian `u32` payload length).
pub const FRAME_HEADER_BYTES: usize = 4;

/// A default maximum frame payload: 16 MiB.
pub const FRAME_BYTES_MAX_DEFAULT: usize = 16 * 1024 * 1024;

/// Turns messages into bytes and back. [`Postcard`] is the default; the
/// trait keeps the choice open.
pub trait Codec: Clone + Send + Sync + 'static {
    /// Appends the encoding of `value` to `out`.
    fn encode<T: Serialize + ?Sized>(&self, value: &T, out: &mut Vec<u8>) -> Result<()>;

    /// Decodes a whole value from `bytes`; trailing bytes are an error.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T>;

    /// The number of bytes [`Codec::encode`] would write for `value`.
    fn encoded_len<T: Serialize + ?Sized>(&self, value: &T) -> Result<usize>;

    /// Encodes `value` into a fresh vector.
    fn encode_to_vec<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encode(value, &mut out)?;
        Ok(out)
    }
}

/// The [postcard](https://docs.rs/postcard) codec: compact, stable format,
/// maintained. Integers are varints, so small numbers take one byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Postcard;

impl Codec for Postcard {
    fn encode<T: Serialize + ?Sized>(&self, value: &T, out: &mut Vec<u8>) -> Result<()> {
        let bytes = postcard::to_stdvec(value).map_err(|e| Error::Encode(e.to_string()))?;
        out.extend_from_slice(&bytes);
        Ok(())
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        let (value, rest) =
            postcard::take_from_bytes(bytes).map_err(|e| Error::Decode(e.to_string()))?;
        if rest.is_empty() {
            Ok(value)
        } else {
            Err(Error::Decode(format!(
                "{} unexpected trailing bytes after the message",
                rest.len()
            )))
        }
    }

    fn encoded_len<T: Serialize + ?Sized>(&self, value: &T) -> Result<usize> {
        postcard::experimental::serialized_size(value).map_err(|e| Error::Encode(e.to_string()))
    }
}

/// Appends one frame holding `payload` to `out`.
///
/// Fails with [`Error::FrameTooLarge`] if the payload exceeds
/// `frame_bytes_max` (the peer would refuse it anyway).
pub fn encode_frame(payload: &[u8], frame_bytes_max: usize, out: &mut Vec<u8>) -> Result<()> {
    let max = frame_bytes_max.min(u32::MAX as usize);
    if payload.len() > max {
        return Err(Error::FrameTooLarge {
            declared: payload.len(),
            max,
        });
    }
    out.reserve(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Splits one whole frame off the front of `bytes`: returns its payload and
/// the rest. Fails if the frame is incomplete or declares more than
/// `frame_bytes_max` bytes.
pub fn decode_frame(bytes: &[u8], frame_bytes_max: usize) -> Result<(&[u8], &[u8])> {
    match parse_header(bytes, frame_bytes_max)? {
        Some(len) if bytes.len() >= FRAME_HEADER_BYTES + len => {
            let (frame, rest) = bytes.split_at(FRAME_HEADER_BYTES + len);
            Ok((&frame[FRAME_HEADER_BYTES..], rest))
        }
        Some(len) => Err(Error::Truncated {
            needed: FRAME_HEADER_BYTES + len,
            available: bytes.len(),
        }),
        None => Err(Error::Truncated {
            needed: FRAME_HEADER_BYTES,
            available: bytes.len(),
        }),
    }
}

/// The declared payload length, if the header is complete; an error if it
/// is over the maximum.
fn parse_header(bytes: &[u8], frame_bytes_max: usize) -> Result<Option<usize>> {
    let Some(header) = bytes.first_chunk::<FRAME_HEADER_BYTES>() else {
        return Ok(None);
    };
    let declared = u32::from_be_bytes(*header) as usize;
    if declared > frame_bytes_max {
        return Err(Error::FrameTooLarge {
            declared,
            max: frame_bytes_max,
        });
    }
    Ok(Some(declared))
}

/// An incremental frame decoder for a byte stream: feed it bytes as they
/// arrive ([`FrameDecoder::extend`]), take whole frames out
/// ([`FrameDecoder::next_frame`]).
///
/// It buffers at most one frame's worth of unread bytes beyond what was fed
/// in one call, and never reserves memory for a length a header merely
/// declares. After an error the stream is unusable (framing is lost): close
/// the connection.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    start: usize,
    frame_bytes_max: usize,
    failed: bool,
}

impl FrameDecoder {
    /// A decoder that refuses frames over `frame_bytes_max` payload bytes.
    pub fn new(frame_bytes_max: usize) -> Self {
        FrameDecoder {
            buffer: Vec::new(),
            start: 0,
            frame_bytes_max,
            failed: false,
        }
    }

    /// The configured maximum payload.
    pub fn frame_bytes_max(&self) -> usize {
        self.frame_bytes_max
    }

    /// Bytes fed in and not yet taken out as frames.
    pub fn buffered(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// Feeds bytes that arrived from the stream.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole frame's payload, `Ok(None)` if more bytes are needed.
    ///
    /// Fails with [`Error::FrameTooLarge`] as soon as a header declares more
    /// than the maximum, and keeps failing afterwards.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>> {
        if self.failed {
            return Err(Error::Decode(
                "the frame stream failed earlier and is out of step; close the connection".into(),
            ));
        }
        let available = &self.buffer[self.start..];
        let len = match parse_header(available, self.frame_bytes_max) {
            Ok(Some(len)) => len,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.failed = true;
                return Err(e);
            }
        };
        if available.len() < FRAME_HEADER_BYTES + len {
            return Ok(None);
        }
        let begin = self.start + FRAME_HEADER_BYTES;
        let frame = self.buffer[begin..begin + len].to_vec();
        self.start = begin + len;
        // Compact once the consumed prefix dominates, so the buffer does not grow forever.
        if self.start > 4096 && self.start * 2 > self.buffer.len() {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        Ok(Some(frame))
    }

    /// Decodes the next whole frame as a `T` with `codec`.
    pub fn next_message<C: Codec, T: DeserializeOwned>(&mut self, codec: &C) -> Result<Option<T>> {
        match self.next_frame()? {
            Some(frame) => codec.decode(&frame).map(Some),
            None => Ok(None),
        }
    }

    /// Call when the stream has ended: fails with [`Error::Truncated`] if a
    /// partial frame is left over.
    pub fn finish(&self) -> Result<()> {
        let available = &self.buffer[self.start..];
        if available.is_empty() {
            return Ok(());
        }
        let needed = match parse_header(available, self.frame_bytes_max)? {
            Some(len) => FRAME_HEADER_BYTES + len,
            None => FRAME_HEADER_BYTES,
        };
        Err(Error::Truncated {
            needed,
            available: available.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode_frame(p, 1 << 20, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn oversized_header_is_refused_before_buffering_the_body() {
        let mut decoder = FrameDecoder::new(100);
        decoder.extend(&u32::MAX.to_be_bytes());
        match decoder.next_frame() {
            Err(Error::FrameTooLarge { declared, max }) => {
                assert_eq!(declared, u32::MAX as usize);
                assert_eq!(max, 100);
            }
            other => panic!("expected FrameTooLarge, got {other:?}"),
        }
        assert!(
            decoder.next_frame().is_err(),
            "a failed stream stays failed"
        );
        assert!(
            decoder.buffer.capacity() < 1024,
            "no allocation for the declared size"
        );
    }

    #[test]
    fn truncated_input_is_reported() {
        let bytes = framed(&[b"hello world".to_vec()]);
        for cut in 0..bytes.len() {
            let mut decoder = FrameDecoder::new(64);
            decoder.extend(&bytes[..cut]);
            assert!(decoder.next_frame().unwrap().is_none());
            if cut == 0 {
                decoder.finish().unwrap();
            } else {
                assert!(matches!(decoder.finish(), Err(Error::Truncated { .. })));
            }
            assert!(matches!(
                decode_frame(&bytes[..cut], 64),
                Err(Error::Truncated { .. })
            ));
        }
    }

    #[test]
    fn encode_refuses_oversized_payloads() {
        let mut out = Vec::new();
        assert!(matches!(
            encode_frame(&[0; 10], 9, &mut out),
            Err(Error::FrameTooLarge {
                declared: 10,
                max: 9
            })
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn postcard_rejects_trailing_and_malformed_bytes() {
        let mut bytes = Postcard.encode_to_vec(&5u32).unwrap();
        bytes.push(0);
        assert!(matches!(
            Postcard.decode::<u32>(&bytes),
            Err(Error::Decode(_))
        ));
        // A varint that never ends.
        assert!(Postcard.decode::<u64>(&[0xff; 11]).is_err());
        assert!(Postcard.decode::<String>(&[5, b'a']).is_err());
        assert_eq!(Postcard.encoded_len(&300u32).unwrap(), 2);
    }

    #[test]
    fn the_default_maximum_is_16_mib() {
        assert_eq!(FRAME_BYTES_MAX_DEFAULT, 1 << 24);
    }

    #[test]
    fn encode_to_vec_is_encode_into_a_fresh_vector() {
        let value = ("dsys", 300u32, vec![1u64, 2]);
        let mut out = Vec::new();
        Postcard.encode(&value, &mut out).unwrap();
        assert_eq!(Postcard.encode_to_vec(&value).unwrap(), out);
        assert_eq!(out.len(), Postcard.encoded_len(&value).unwrap());
    }

    #[test]
    fn a_frame_of_exactly_the_maximum_passes_one_byte_more_does_not() {
        let max = 16;
        for len in [max - 1, max] {
            let mut out = Vec::new();
            encode_frame(&vec![7; len], max, &mut out).unwrap();
            assert_eq!(out.len(), FRAME_HEADER_BYTES + len);
            let (payload, rest) = decode_frame(&out, max).unwrap();
            assert_eq!((payload.len(), rest.len()), (len, 0));
            let mut decoder = FrameDecoder::new(max);
            decoder.extend(&out);
            assert_eq!(decoder.next_frame().unwrap(), Some(vec![7; len]));
        }
        let mut out = Vec::new();
        assert!(encode_frame(&[7; 17], max, &mut out).is_err());
        let mut over = 17u32.to_be_bytes().to_vec();
        over.extend([7; 17]);
        assert!(matches!(
            decode_frame(&over, max),
            Err(Error::FrameTooLarge {
                declared: 17,
                max: 16
            })
        ));
    }

    #[test]
    fn whole_frames_split_off_with_the_rest_and_truncation_says_what_it_needs() {
        let bytes = framed(&[b"one".to_vec(), b"three".to_vec()]);
        let (first, rest) = decode_frame(&bytes, 64).unwrap();
        assert_eq!(first, b"one");
        let (second, rest) = decode_frame(rest, 64).unwrap();
        assert_eq!((second, rest), (&b"three"[..], &b""[..]));
        assert!(matches!(
            decode_frame(&bytes[..5], 64),
            Err(Error::Truncated {
                needed: 7,
                available: 5
            })
        ));
        assert!(matches!(
            decode_frame(&bytes[..2], 64),
            Err(Error::Truncated {
                needed: 4,
                available: 2
            })
        ));
        let mut decoder = FrameDecoder::new(64);
        decoder.extend(&bytes[..12]);
        assert_eq!(decoder.next_frame().unwrap(), Some(b"one".to_vec()));
        assert!(matches!(
            decoder.finish(),
            Err(Error::Truncated {
                needed: 9,
                available: 5
            })
        ));
    }

    #[test]
    fn the_decoder_counts_what_it_holds_and_decodes_typed_messages() {
        let mut stream = Vec::new();
        for n in [1u32, 300] {
            encode_frame(&Postcard.encode_to_vec(&n).unwrap(), 64, &mut stream).unwrap();
        }
        let mut decoder = FrameDecoder::new(64);
        assert_eq!(decoder.frame_bytes_max(), 64);
        decoder.extend(&stream[..6]);
        assert_eq!(decoder.buffered(), 6);
        assert_eq!(decoder.next_message::<_, u32>(&Postcard).unwrap(), Some(1));
        assert_eq!(decoder.buffered(), 1);
        assert_eq!(decoder.next_message::<_, u32>(&Postcard).unwrap(), None);
        assert!(matches!(
            decoder.finish(),
            Err(Error::Truncated {
                needed: 4,
                available: 1
            })
        ));
        decoder.extend(&stream[6..]);
        assert_eq!(
            decoder.next_message::<_, u32>(&Postcard).unwrap(),
            Some(300)
        );
        assert_eq!(decoder.buffered(), 0);
        decoder.finish().unwrap();
        // A frame that is not a u32 is a decode error, not a frame error.
        let mut garbage = FrameDecoder::new(64);
        let mut frame = Vec::new();
        encode_frame(&[0xff; 11], 64, &mut frame).unwrap();
        garbage.extend(&frame);
        assert!(matches!(
            garbage.next_message::<_, u32>(&Postcard),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn a_decoder_emptied_by_its_reader_starts_its_buffer_afresh() {
        let bytes = framed(&[b"one".to_vec()]);
        let mut decoder = FrameDecoder::new(64);
        decoder.extend(&bytes);
        assert_eq!(decoder.next_frame().unwrap(), Some(b"one".to_vec()));
        decoder.extend(&bytes[..3]);
        assert_eq!((decoder.buffer.len(), decoder.start), (3, 0));
        assert_eq!(decoder.buffered(), 3);
    }

    #[test]
    fn the_buffer_is_compacted_once_past_4_kib_and_half_of_it_is_consumed() {
        // After how many 64-byte frames (60 of payload) of a stream of
        // `frames` is the consumed prefix first dropped?
        let first_compaction = |frames: usize| {
            let bytes = framed(&vec![vec![1; 60]; frames]);
            let mut decoder = FrameDecoder::new(64);
            decoder.extend(&bytes);
            (1..=frames).find(|_| {
                decoder.next_frame().unwrap();
                decoder.buffer.len() < bytes.len()
            })
        };
        // 100 frames, 6,400 bytes: half is consumed after 50 frames, but
        // 4,096 bytes only after 64; compacted past it, at 65.
        assert_eq!(first_compaction(100), Some(65));
        // 200 frames, 12,800 bytes: past half at 101 (at 100, exactly half).
        assert_eq!(first_compaction(200), Some(101));
        // A short stream is never compacted.
        assert_eq!(first_compaction(60), None);
    }

    #[test]
    fn a_long_stream_is_compacted_and_still_decodes() {
        let payloads: Vec<Vec<u8>> = (0..300u16).map(|i| i.to_be_bytes().repeat(20)).collect();
        let bytes = framed(&payloads);
        let mut decoder = FrameDecoder::new(64);
        decoder.extend(&bytes);
        for expected in &payloads {
            assert_eq!(decoder.next_frame().unwrap().as_ref(), Some(expected));
            assert!(decoder.buffer.len() <= bytes.len());
        }
        assert_eq!(decoder.buffered(), 0);
        assert!(
            decoder.buffer.len() < bytes.len(),
            "the consumed prefix was dropped"
        );
    }

    proptest! {
        #[test]
        fn frames_survive_any_chunking(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8),
            chunk in 1usize..50,
        ) {
            let bytes = framed(&payloads);
            let mut decoder = FrameDecoder::new(1 << 20);
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                decoder.extend(piece);
                while let Some(frame) = decoder.next_frame().unwrap() {
                    got.push(frame);
                }
            }
            decoder.finish().unwrap();
            prop_assert_eq!(got, payloads);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..300) {
            let mut decoder = FrameDecoder::new(max);
            decoder.extend(&bytes);
            let mut frames = 0;
            loop {
                match decoder.next_frame() {
                    Ok(Some(frame)) => {
                        prop_assert!(frame.len() <= max);
                        frames += 1;
                        // Typed decoding of garbage is an error or a value, never a panic.
                        let _ = Postcard.decode::<(u32, String, Vec<u64>)>(&frame);
                    }
                    Ok(None) => { let _ = decoder.finish(); break; }
                    Err(_) => break,
                }
                prop_assert!(frames <= bytes.len());
            }
            let _ = decode_frame(&bytes, max);
        }
    }
}
