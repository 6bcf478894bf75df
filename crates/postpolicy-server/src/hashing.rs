//! The digests OSS reports for an object, computed while its bytes stream
//! in: the MD5 (the ETag, a callback's `Content-MD5`) and the CRC-64/XZ
//! (`x-oss-hash-crc64ecma`, `${crc64}`).
//!
//! Both run over every uploaded byte, so each comes from the fastest kept
//! crate measured in `benches/hashing.rs`: OpenSSL's assembly MD5 (feature
//! `openssl-md5`, on by default; `md-5`'s portable code otherwise, or where
//! OpenSSL refuses MD5, as in FIPS mode), and `crc-fast`, which folds with
//! carry-less multiplication (PCLMULQDQ / VPCLMULQDQ on x86, PMULL on Arm)
//! instead of looking up tables. MD5 is sequential, so a
//! large upload is hashed on a thread of its own ([`HashPipe`]), fed chunk
//! by chunk while the request is still being read: one stream uses one core
//! for its MD5 and another for its network and storage work.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use md5::Digest as _;
use tokio::sync::mpsc;

use crate::store::Reservation;

/// Bytes of an upload hashed on the task that reads it before the hashing
/// moves to a thread of its own: below this, handing the chunks over costs
/// more than it saves.
pub(crate) const INLINE_HASH_BYTES: u64 = 256 * 1024;

/// MD5 and CRC-64 of an object, and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Digests {
    pub(crate) md5: [u8; 16],
    pub(crate) crc64: u64,
    pub(crate) size: u64,
}

impl Digests {
    /// Upper-case hex MD5, as OSS writes it inside its quoted ETag.
    pub(crate) fn md5_hex(&self) -> String {
        hex::encode_upper(self.md5)
    }

    /// The ETag OSS answers: quoted upper-case hex MD5.
    pub(crate) fn etag(&self) -> String {
        format!("\"{}\"", self.md5_hex())
    }
}

/// An MD5 in progress.
#[derive(Clone)]
enum Md5State {
    #[cfg(feature = "openssl-md5")]
    OpenSsl(openssl::hash::Hasher),
    Portable(md5::Md5),
    /// OpenSSL failed mid-way (it never has; its API says it may).
    #[cfg(feature = "openssl-md5")]
    Failed,
}

impl Md5State {
    fn new() -> Self {
        #[cfg(feature = "openssl-md5")]
        if let Ok(hasher) = openssl::hash::Hasher::new(openssl::hash::MessageDigest::md5()) {
            return Self::OpenSsl(hasher);
        }
        Self::Portable(md5::Md5::new())
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            #[cfg(feature = "openssl-md5")]
            Self::OpenSsl(hasher) => {
                if hasher.update(bytes).is_err() {
                    *self = Self::Failed;
                }
            }
            Self::Portable(md5) => md5.update(bytes),
            #[cfg(feature = "openssl-md5")]
            Self::Failed => {}
        }
    }

    fn finish(self) -> io::Result<[u8; 16]> {
        #[cfg(feature = "openssl-md5")]
        let failed = || io::Error::other("the MD5 of the upload could not be computed");
        match self {
            #[cfg(feature = "openssl-md5")]
            Self::OpenSsl(mut hasher) => {
                let digest = hasher.finish().map_err(|_| failed())?;
                <[u8; 16]>::try_from(&digest[..]).map_err(|_| failed())
            }
            Self::Portable(md5) => Ok(md5.finalize().into()),
            #[cfg(feature = "openssl-md5")]
            Self::Failed => Err(failed()),
        }
    }
}

/// The running hashes of one object.
#[derive(Clone)]
pub(crate) struct Hashes {
    md5: Md5State,
    crc64: crc_fast::Digest,
    size: u64,
}

impl std::fmt::Debug for Hashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashes").field("size", &self.size).finish()
    }
}

impl Default for Hashes {
    fn default() -> Self {
        Self {
            md5: Md5State::new(),
            crc64: crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Xz),
            size: 0,
        }
    }
}

impl Hashes {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.crc64.update(bytes);
        self.size = self.size.saturating_add(bytes.len() as u64);
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn finish(self) -> io::Result<Digests> {
        Ok(Digests {
            md5: self.md5.finish()?,
            crc64: self.crc64.finalize(),
            size: self.size,
        })
    }
}

/// The CRC-64 and size of an object whose MD5 the store computes (an S3
/// store's ETag of a single PUT, see `store::s3`): CRC-64 costs a few
/// percent of MD5, so it is computed inline.
#[cfg(feature = "s3")]
pub(crate) struct Crc64Only {
    crc64: crc_fast::Digest,
    size: u64,
}

#[cfg(feature = "s3")]
impl std::fmt::Debug for Crc64Only {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crc64Only")
            .field("size", &self.size)
            .finish()
    }
}

#[cfg(feature = "s3")]
impl Default for Crc64Only {
    fn default() -> Self {
        Self {
            crc64: crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Xz),
            size: 0,
        }
    }
}

#[cfg(feature = "s3")]
impl Crc64Only {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.crc64.update(bytes);
        self.size = self.size.saturating_add(bytes.len() as u64);
    }

    /// The digests, with the MD5 learnt elsewhere.
    pub(crate) fn finish(self, md5: [u8; 16]) -> Digests {
        Digests {
            md5,
            crc64: self.crc64.finalize(),
            size: self.size,
        }
    }
}

/// The MD5 of `chunks` in order.
#[cfg(feature = "s3")]
pub(crate) fn md5_of(chunks: &[Bytes]) -> io::Result<[u8; 16]> {
    let mut md5 = Md5State::new();
    for chunk in chunks {
        md5.update(chunk);
    }
    md5.finish()
}

/// Where a hashing thread puts the bytes after hashing them (the local
/// store's blob file), so that writing overlaps the reading of the request
/// too; `()` for none.
pub(crate) trait Sink: Send + 'static {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
}

impl Sink for () {
    fn write(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

impl Sink for std::fs::File {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(self, bytes)
    }
}

/// One chunk for the hashing thread, and what keeps its memory accounted
/// for until it is hashed (a reservation of the upload memory budget).
struct Job {
    bytes: Bytes,
    _hold: Option<Arc<Reservation>>,
}

type Finished<S> = io::Result<(Hashes, Option<S>)>;

/// Hashes an upload's chunks: on the calling task up to
/// [`INLINE_HASH_BYTES`], then on a blocking thread fed through a channel.
/// With a sink (the local store's blob file), it starts on its thread and
/// writes each chunk there after hashing it.
pub(crate) struct HashPipe<S: Sink = ()> {
    state: PipeState<S>,
}

enum PipeState<S> {
    Inline(Box<Hashes>),
    Thread {
        jobs: mpsc::UnboundedSender<Job>,
        done: tokio::task::JoinHandle<Finished<S>>,
    },
}

impl<S: Sink> std::fmt::Debug for HashPipe<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            PipeState::Inline(..) => "inline",
            PipeState::Thread { .. } => "thread",
        };
        f.debug_struct("HashPipe").field("state", &state).finish()
    }
}

impl<S: Sink> Default for HashPipe<S> {
    fn default() -> Self {
        Self {
            state: PipeState::Inline(Box::default()),
        }
    }
}

/// Bytes a sink takes before the chunks the pipe hashes (they were hashed
/// already), and what keeps them accounted for until written.
pub(crate) type Written = (Vec<Bytes>, Option<Arc<Reservation>>);

impl<S: Sink> HashPipe<S> {
    /// A pipe that continues `hashes` on its thread: there it opens its sink
    /// with `open`, writes `first` to it, then writes every chunk after
    /// hashing it. The caller never waits for the file system.
    pub(crate) fn with_sink(
        hashes: Hashes,
        open: impl FnOnce() -> io::Result<S> + Send + 'static,
        first: Written,
    ) -> Self {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let done = tokio::task::spawn_blocking(move || {
            let mut hashes = hashes;
            let mut sink = open()?;
            let (chunks, hold) = first;
            for chunk in &chunks {
                sink.write(chunk)?;
            }
            drop((chunks, hold));
            while let Some(job) = queue.blocking_recv() {
                hashes.update(&job.bytes);
                sink.write(&job.bytes)?;
            }
            Ok((hashes, Some(sink)))
        });
        Self {
            state: PipeState::Thread { jobs, done },
        }
    }

    fn spawn(mut hashes: Hashes) -> PipeState<S> {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let done = tokio::task::spawn_blocking(move || {
            while let Some(job) = queue.blocking_recv() {
                hashes.update(&job.bytes);
            }
            Ok((hashes, None))
        });
        PipeState::Thread { jobs, done }
    }

    /// Hashes (and writes) `bytes`; `hold` is released once that is done.
    /// An error means the thread stopped: [`HashPipe::finish`] says why.
    pub(crate) fn update(
        &mut self,
        bytes: Bytes,
        hold: Option<Arc<Reservation>>,
    ) -> io::Result<()> {
        if let PipeState::Inline(hashes) = &mut self.state {
            if hashes.size().saturating_add(bytes.len() as u64) <= INLINE_HASH_BYTES {
                hashes.update(&bytes);
                return Ok(());
            }
            let hashes = std::mem::take(hashes.as_mut());
            self.state = Self::spawn(hashes);
        }
        match &self.state {
            PipeState::Thread { jobs, .. } => jobs
                .send(Job { bytes, _hold: hold })
                .map_err(|_| io::Error::other("the hashing thread stopped")),
            PipeState::Inline(_) => Ok(()),
        }
    }

    /// The digests of everything given, once all of it is hashed (and
    /// written), and the sink back.
    pub(crate) async fn finish(self) -> Finished<S> {
        match self.state {
            PipeState::Inline(hashes) => Ok((*hashes, None)),
            PipeState::Thread { jobs, done } => {
                drop(jobs);
                done.await
                    .map_err(|e| io::Error::other(format!("the hashing thread failed: {e}")))?
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[2]
            })
            .collect()
    }

    #[test]
    fn crc64_matches_the_catalogue_and_oss() {
        let mut hashes = Hashes::default();
        hashes.update(b"1234");
        hashes.update(b"56789");
        let digests = hashes.finish().unwrap();
        assert_eq!(digests.crc64, 0x995d_c9bb_df19_39fa);
        assert_eq!(digests.size, 9);
    }

    #[test]
    fn md5_matches_rfc_1321() {
        for (input, hex) in [
            (&b""[..], "D41D8CD98F00B204E9800998ECF8427E"),
            (b"abc", "900150983CD24FB0D6963F7D28E17F72"),
            (
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57EDF4A22BE3C955AC49DA2E2107B67A",
            ),
        ] {
            let mut hashes = Hashes::default();
            hashes.update(input);
            let digests = hashes.finish().unwrap();
            assert_eq!(digests.md5_hex(), hex);
            assert_eq!(digests.etag(), format!("\"{hex}\""));
        }
    }

    /// The SIMD CRC and the MD5 agree with the table CRC and md-5 on every
    /// length around the SIMD block sizes, split anywhere.
    #[test]
    fn digests_agree_with_the_reference_crates_however_split() {
        let table = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_XZ);
        let data = bytes(5000, 7);
        for len in (0..300).chain([511, 512, 513, 1023, 1024, 4095, 4096, 5000]) {
            let input = &data[..len];
            for split in [0, 1, len / 3, len / 2, len.saturating_sub(1)] {
                let split = split.min(len);
                let mut hashes = Hashes::default();
                hashes.update(&input[..split]);
                hashes.update(&input[split..]);
                let digests = hashes.finish().unwrap();
                assert_eq!(digests.crc64, table.checksum(input), "{len}/{split}");
                assert_eq!(
                    digests.md5,
                    <[u8; 16]>::from(md5::Md5::digest(input)),
                    "{len}"
                );
                assert_eq!(digests.size, len as u64);
            }
        }
    }

    /// Past the inline bytes the hashing moves to its thread, with the same
    /// result; a sink gets every byte, those written before it first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_thread_hashes_and_writes_what_inline_would() {
        let data = bytes(3 * INLINE_HASH_BYTES as usize + 12345, 9);
        let mut pipe: HashPipe = HashPipe::default();
        for chunk in data.chunks(70_001) {
            pipe.update(Bytes::copy_from_slice(chunk), None).unwrap();
        }
        assert!(format!("{pipe:?}").contains("thread"));
        let (hashes, _) = pipe.finish().await.unwrap();
        let mut inline = Hashes::default();
        inline.update(&data);
        assert_eq!(hashes.finish().unwrap(), inline.clone().finish().unwrap());

        #[derive(Default)]
        struct Collect(Vec<u8>);
        impl Sink for Collect {
            fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
                self.0.extend_from_slice(bytes);
                Ok(())
            }
        }
        let (head, tail) = data.split_at(1000);
        let mut first = Hashes::default();
        first.update(head);
        let mut pipe = HashPipe::with_sink(
            first,
            || Ok(Collect::default()),
            (vec![Bytes::copy_from_slice(head)], None),
        );
        for chunk in tail.chunks(4096) {
            pipe.update(Bytes::copy_from_slice(chunk), None).unwrap();
        }
        let (hashes, sink) = pipe.finish().await.unwrap();
        assert_eq!(sink.unwrap().0, data);
        assert_eq!(hashes.finish().unwrap(), inline.finish().unwrap());
    }

    /// A sink that fails is an error of the upload, not a panic.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_sink_fails_the_pipe() {
        struct Full;
        impl Sink for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<()> {
                Err(io::Error::other("disk full"))
            }
        }
        let mut pipe = HashPipe::with_sink(Hashes::default(), || Ok(Full), (Vec::new(), None));
        let _ = pipe.update(Bytes::from_static(b"x"), None);
        let error = pipe.finish().await.err().unwrap();
        assert!(error.to_string().contains("disk full"), "{error}");
    }
}
