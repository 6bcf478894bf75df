//! The local folder store.
//!
//! ```text
//! <bucket>/keys/<h:2>/<h>.json   the object's record (h: SHA-256 of the key in hex):
//!                                its key, its blob, Content-Type, metadata, ETag, CRC-64, size
//! <bucket>/blobs/<b:2>/<b>       the bytes of one upload (b: a random id)
//! ```
//!
//! Keys are never file names: a key may be 1,023 bytes with segments of any
//! length, `a` and `a/b` are both objects, and `A` and `a` differ on
//! case-insensitive file systems too.
//!
//! The record is the commit: written beside its final name and renamed over
//! it, it names the blob that holds the bytes, so a reader sees the old object
//! or the new one. A blob is never renamed: no one looks for it before its
//! record names it, so it is created at its final name. The file-system work
//! of one small upload is thus one blob created and written with one write,
//! one failed open (no earlier record), and one temporary record created and
//! renamed, in folders spread over 256 shards each; a larger blob is written
//! piece by piece as the request arrives, by the thread that hashes it.
//! Commits of one key are serialised in the process (the replaced blob is
//! deleted after the rename), and a commit that must not overwrite links its
//! record into place, which fails if another process got there first.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, BoxStream, StreamExt as _};
use serde::{Deserialize, Serialize};

use super::{
    Budget, Committed, Fetched, Listed, Located, Reservation, StoreLimits, StoredMeta, Window,
};
use crate::ServerError;
use crate::hashing::{Digests, HashPipe, Hashes};

const KEYS: &str = "keys";
const BLOBS: &str = "blobs";
/// How often a read retries when the blob its record named was just replaced.
const READ_RETRIES: usize = 3;
/// Bytes read from a blob per step when serving it.
const READ_CHUNK: usize = 256 * 1024;

/// An object's record on disk.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    #[serde(flatten)]
    meta: StoredMeta,
    /// The blob under `<bucket>/blobs/`: `<b:2>/<b>` (or `<b>`, as earlier
    /// versions wrote it).
    blob: String,
}

#[derive(Clone, Debug)]
pub(crate) struct LocalStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    limits: StoreLimits,
    budget: Budget,
    locks: Arc<Vec<tokio::sync::Mutex<()>>>,
}

fn io_error(e: io::Error) -> ServerError {
    ServerError::Store(e.to_string())
}

fn joined<T>(result: Result<io::Result<T>, tokio::task::JoinError>) -> Result<T, ServerError> {
    match result {
        Ok(inner) => inner.map_err(io_error),
        Err(e) => Err(ServerError::Store(format!("a storage task failed: {e}"))),
    }
}

/// The folder name of `bucket`: itself when it is a plain name, otherwise
/// percent-encoded so that it stays one folder.
fn dir_name(bucket: &str) -> String {
    const PLAIN: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.');
    percent_encoding::utf8_percent_encode(bucket, PLAIN).to_string()
}

/// The parts of the record path of `object` under the data folder (also
/// what the tests check: four short parts, whatever the key).
pub(crate) fn record_parts(object: &Located) -> [String; 4] {
    let shard = object.hash.get(..2).unwrap_or("00").to_owned();
    [
        dir_name(&object.bucket),
        KEYS.to_owned(),
        shard,
        format!("{}.json", object.hash),
    ]
}

/// Creates `path` (which must not exist), and its folder if missing.
fn create_new(path: &Path) -> io::Result<File> {
    let open = || OpenOptions::new().write(true).create_new(true).open(path);
    match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            open()
        }
        other => other,
    }
}

/// Writes every chunk, in as few system calls as the OS allows.
fn write_chunks(file: &mut File, chunks: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let written = file.write_vectored(rest)?;
        if written == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the blob file took no more bytes",
            ));
        }
        IoSlice::advance_slices(&mut rest, written);
    }
    Ok(())
}

/// A blob file that is deleted when dropped, unless committed.
#[derive(Debug)]
pub(crate) struct BlobGuard {
    path: PathBuf,
    /// Its name under `<bucket>/blobs/`, as the record gives it.
    rel: String,
    armed: bool,
}

impl BlobGuard {
    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for BlobGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Inner {
    fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(dir_name(bucket))
    }

    fn record_path(&self, object: &Located) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(record_parts(object));
        path
    }

    /// The path of the blob a record names; `None` for a name that is not
    /// one this store writes (a record edited by hand must not reach out of
    /// the blob folder).
    fn blob_path(&self, bucket: &str, rel: &str) -> Option<PathBuf> {
        let parts: Vec<&str> = rel.split('/').collect();
        let hex = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_hexdigit());
        if parts.is_empty() || parts.len() > 2 || !parts.iter().all(hex) {
            return None;
        }
        let mut path = self.bucket_dir(bucket).join(BLOBS);
        path.extend(parts);
        Some(path)
    }

    /// A new blob name of `bucket`, in one of 256 shards.
    fn new_blob(&self, bucket: &str) -> Result<BlobGuard, io::Error> {
        let id = crate::random_hex(16);
        let rel = format!("{}/{id}", id.get(..2).unwrap_or("00"));
        let path = self
            .blob_path(bucket, &rel)
            .ok_or_else(|| io::Error::other("bad blob name"))?;
        Ok(BlobGuard {
            path,
            rel,
            armed: true,
        })
    }

    fn read_record(&self, path: &Path) -> io::Result<Option<Record>> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io::Error::other(format!("unreadable object record: {e}")))
    }

    fn commit_blocking(
        &self,
        staged: Staged,
        object: &Located,
        meta: StoredMeta,
        no_overwrite: bool,
    ) -> io::Result<Committed> {
        let digests = staged.digests();
        let record_path = self.record_path(object);
        let previous = self.read_record(&record_path)?;
        if no_overwrite && previous.is_some() {
            // A staged blob is deleted as `staged` drops.
            return Ok(Committed::AlreadyExists);
        }
        let mut blob = match staged {
            Staged::Small { chunks, .. } => {
                let blob = self.new_blob(&object.bucket)?;
                let mut file = create_new(&blob.path)?;
                write_chunks(&mut file, &chunks)?;
                blob
            }
            Staged::Blob { blob, .. } => blob,
        };
        let record = Record {
            meta,
            blob: blob.rel.clone(),
        };
        let json = serde_json::to_vec(&record).map_err(io::Error::other)?;
        let tmp = record_path.with_file_name(format!(
            "{}.json.{}.tmp",
            object.hash,
            crate::random_hex(8)
        ));
        let placed = create_new(&tmp)
            .and_then(|mut file| file.write_all(&json))
            .and_then(|()| {
                if no_overwrite {
                    match fs::hard_link(&tmp, &record_path) {
                        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                            fs::rename(&tmp, &record_path)
                        }
                        linked => linked,
                    }
                } else {
                    fs::rename(&tmp, &record_path)
                }
            });
        // After a rename it is gone; after a link or a failure it is left.
        let _ = fs::remove_file(&tmp);
        match placed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Ok(Committed::AlreadyExists);
            }
            Err(e) => return Err(e),
        }
        blob.disarm();
        if let Some(previous) = previous.filter(|p| p.blob != record.blob)
            && let Some(old) = self.blob_path(&object.bucket, &previous.blob)
        {
            let _ = fs::remove_file(old);
        }
        Ok(Committed::Stored(digests))
    }

    fn get_blocking(&self, object: &Located) -> io::Result<Option<Opened>> {
        let record_path = self.record_path(object);
        for _ in 0..READ_RETRIES {
            let Some(record) = self.read_record(&record_path)? else {
                return Ok(None);
            };
            let Some(path) = self.blob_path(&object.bucket, &record.blob) else {
                return Err(io::Error::other("the object record names no valid blob"));
            };
            match File::open(&path) {
                Ok(file) => {
                    let meta = file.metadata()?;
                    let modified = meta
                        .modified()
                        .map(DateTime::<Utc>::from)
                        .unwrap_or_else(|_| Utc::now());
                    return Ok(Some((record.meta, file, meta.len(), modified)));
                }
                // Replaced between the two reads: read the new record.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn list_blocking(&self, bucket: &str) -> io::Result<Vec<Listed>> {
        let keys = self.bucket_dir(bucket).join(KEYS);
        let shards = match fs::read_dir(&keys) {
            Ok(shards) => shards,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for shard in shards {
            let Ok(entries) = fs::read_dir(shard?.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                // Replaced, removed or unreadable while listing.
                let Ok(Some(record)) = self.read_record(&path) else {
                    continue;
                };
                out.push(Listed {
                    key: record.meta.key,
                    size: record.meta.size,
                    last_modified: record.meta.uploaded_at,
                });
            }
        }
        Ok(out)
    }
}

/// An object's record and its open blob, with the blob's size and time.
type Opened = (StoredMeta, File, u64, DateTime<Utc>);

/// A blob served piece by piece, each read on the blocking pool.
fn file_stream(file: File, size: u64) -> BoxStream<'static, io::Result<Bytes>> {
    stream::unfold(Some((file, size)), |state| async move {
        let (mut file, left) = state?;
        if left == 0 {
            return None;
        }
        let want = usize::try_from(left).unwrap_or(READ_CHUNK).min(READ_CHUNK);
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; want];
            let mut filled = 0;
            while filled < want {
                match file.read(buf.get_mut(filled..).unwrap_or_default()) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            buf.truncate(filled);
            Ok((file, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => Some((
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the blob is shorter than its size",
                )),
                None,
            )),
            Ok(Ok((file, buf))) => {
                let n = buf.len() as u64;
                Some((Ok(Bytes::from(buf)), Some((file, left - n))))
            }
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(io::Error::other(e)), None)),
        }
    })
    .boxed()
}

impl LocalStore {
    pub(crate) fn open(
        dir: &Path,
        limits: StoreLimits,
        budget: Budget,
        locks: Arc<Vec<tokio::sync::Mutex<()>>>,
    ) -> Result<Self, ServerError> {
        fs::create_dir_all(dir)
            .map_err(|e| ServerError::Config(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Self {
            inner: Arc::new(Inner {
                root: dir.to_owned(),
                limits,
                budget,
                locks,
            }),
        })
    }

    pub(crate) async fn exists(&self, object: &Located) -> Result<bool, ServerError> {
        let path = self.inner.record_path(object);
        joined(
            tokio::task::spawn_blocking(move || match fs::metadata(path) {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e),
            })
            .await,
        )
    }

    pub(crate) fn begin(&self, object: &Located, hint: Option<u64>) -> Upload {
        let limits = &self.inner.limits;
        Upload {
            store: Arc::clone(&self.inner),
            bucket: object.bucket.clone(),
            window: Window::new(
                self.inner.budget.clone(),
                limits.local_write_bytes,
                limits.writes_in_flight,
                hint,
            ),
            phase: Phase::Buffering {
                chunks: Vec::new(),
                len: 0,
                hashes: Box::default(),
                hold: None,
            },
        }
    }

    pub(crate) async fn commit(
        &self,
        staged: Staged,
        object: &Located,
        meta: StoredMeta,
        no_overwrite: bool,
    ) -> Result<Committed, ServerError> {
        let lock = self
            .inner
            .locks
            .get(object.shard())
            .ok_or_else(|| ServerError::Store("no commit lock".to_owned()))?;
        let _guard = lock.lock().await;
        let inner = Arc::clone(&self.inner);
        let object = object.clone();
        joined(
            tokio::task::spawn_blocking(move || {
                inner.commit_blocking(staged, &object, meta, no_overwrite)
            })
            .await,
        )
    }

    pub(crate) async fn get(
        &self,
        object: &Located,
        head_only: bool,
    ) -> Result<Option<Fetched>, ServerError> {
        let inner = Arc::clone(&self.inner);
        let at = object.clone();
        let found = joined(tokio::task::spawn_blocking(move || inner.get_blocking(&at)).await)?;
        Ok(found.map(|(meta, file, size, last_modified)| Fetched {
            meta,
            size,
            last_modified,
            body: (!head_only).then(|| file_stream(file, size)),
        }))
    }

    pub(crate) async fn list(&self, bucket: &str) -> Result<Vec<Listed>, ServerError> {
        let inner = Arc::clone(&self.inner);
        let bucket = bucket.to_owned();
        joined(tokio::task::spawn_blocking(move || inner.list_blocking(&bucket)).await)
    }
}

/// An upload into the local folder.
#[derive(Debug)]
pub(crate) struct Upload {
    store: Arc<Inner>,
    bucket: String,
    window: Window,
    phase: Phase,
}

#[derive(Debug)]
enum Phase {
    /// Up to one unit (`local_write_bytes`, or the request's length if
    /// smaller) kept in memory, hashed inline.
    Buffering {
        chunks: Vec<Bytes>,
        len: usize,
        hashes: Box<Hashes>,
        hold: Option<Arc<Reservation>>,
    },
    /// Past it: written to the blob by the hashing thread.
    Streaming {
        pipe: HashPipe<File>,
        blob: BlobGuard,
    },
    Finished,
}

impl Upload {
    pub(crate) async fn write(&mut self, mut chunk: Bytes) -> Result<(), ServerError> {
        while !chunk.is_empty() {
            let full = matches!(&self.phase, Phase::Buffering { len, .. } if *len > 0)
                && self.window.unit_done();
            if full {
                self.start_streaming()?;
            }
            let (n, hold) = self.window.take(chunk.len()).await?;
            let piece = chunk.split_to(n);
            match &mut self.phase {
                Phase::Buffering {
                    chunks,
                    len,
                    hashes,
                    hold: held,
                } => {
                    hashes.update(&piece);
                    *len += piece.len();
                    chunks.push(piece);
                    *held = Some(hold);
                }
                Phase::Streaming { pipe, .. } => {
                    pipe.update(piece, Some(hold)).map_err(io_error)?
                }
                Phase::Finished => {
                    return Err(ServerError::Store("upload already finished".to_owned()));
                }
            }
        }
        Ok(())
    }

    /// The file outgrew memory: the hashing thread creates a new blob,
    /// writes what is buffered into it, and from then on writes every chunk
    /// after hashing it.
    fn start_streaming(&mut self) -> Result<(), ServerError> {
        let Phase::Buffering {
            chunks,
            hashes,
            hold,
            ..
        } = std::mem::replace(&mut self.phase, Phase::Finished)
        else {
            return Ok(());
        };
        let blob = self.store.new_blob(&self.bucket).map_err(io_error)?;
        let path = blob.path.clone();
        self.window.close_unit();
        self.phase = Phase::Streaming {
            pipe: HashPipe::with_sink(*hashes, move || create_new(&path), (chunks, hold)),
            blob,
        };
        Ok(())
    }

    pub(crate) async fn finish(mut self) -> Result<Staged, ServerError> {
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::Buffering {
                chunks,
                hashes,
                hold,
                ..
            } => Ok(Staged::Small {
                chunks,
                digests: hashes.finish().map_err(io_error)?,
                _hold: hold,
            }),
            Phase::Streaming { pipe, blob } => {
                let (hashes, file) = pipe.finish().await.map_err(io_error)?;
                drop(file);
                Ok(Staged::Blob {
                    blob,
                    digests: hashes.finish().map_err(io_error)?,
                })
            }
            Phase::Finished => Err(ServerError::Store("upload already finished".to_owned())),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // An unfinished blob is deleted once its thread has let go of it.
        if let Phase::Streaming { pipe, blob } = std::mem::replace(&mut self.phase, Phase::Finished)
        {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(async move {
                        let _ = pipe.finish().await;
                        let _ = tokio::task::spawn_blocking(move || drop(blob)).await;
                    });
                }
                Err(_) => drop(blob),
            }
        }
    }
}

/// A received upload of the local store.
#[derive(Debug)]
pub(crate) enum Staged {
    /// Still in memory: written at the commit.
    Small {
        chunks: Vec<Bytes>,
        digests: Digests,
        _hold: Option<Arc<Reservation>>,
    },
    /// Already in its blob.
    Blob { blob: BlobGuard, digests: Digests },
}

impl Staged {
    pub(crate) fn digests(&self) -> Digests {
        match self {
            Self::Small { digests, .. } | Self::Blob { digests, .. } => *digests,
        }
    }
}
