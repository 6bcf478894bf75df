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
            Self::Failed => {}
        }
    }

    fn finish(self) -> io::Result<[u8; 16]> {
        let failed = || io::Error::other("the MD5 of the upload could not be computed");
        match self {
            #[cfg(feature = "openssl-md5")]
            Self::OpenSsl(mut hasher) => {
                let digest = hasher.finish().map_err(|_| failed())?;
                <[u8; 16]>::try_from(&digest[..]).map_err(|_| failed())
            }
            Self::Portable(md5) => Ok(md5.finalize().into()),
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
