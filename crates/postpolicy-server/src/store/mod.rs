//! Object storage: a local folder by default, any S3-compatible store on
//! request (`object_store`'s S3 client).
//!
//! Every upload goes through the same steps whatever the store: [`Store::begin`]
//! takes the object's attributes and a bound on its size, [`Upload::write`]
//! takes its bytes as they arrive (hashed on the way, see
//! [`crate::hashing`]), [`Upload::finish`] returns the digests once every byte
//! is hashed and staged, and [`Store::commit`] makes it the object under its
//! key, atomically: a reader sees the old object or the new one, never one
//! upload's bytes with another's ETag or Content-Type. An upload dropped
//! before its commit (the client went away, the verifier rejected the size)
//! leaves nothing.
//!
//! Bytes held in memory are bounded per upload and in total
//! ([`StoreLimits`]): an upload reserves memory from one shared [`Budget`]
//! before it buffers, and waits (no longer reading its request, so TCP slows
//! the client down) while the budget is spent. It never waits while holding
//! bytes that only it could release: what it holds then is on its way to the
//! store or the hasher, which finish on their own, so the budget cannot
//! deadlock.
//!
//! The layouts are in [`local`] and `s3`.

pub(crate) mod local;
#[cfg(feature = "s3")]
pub(crate) mod s3;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ServerError;
use crate::hashing::Digests;

/// Commits of keys whose hash starts alike share a lock.
const COMMIT_LOCKS: usize = 64;
/// Longest object key OSS accepts, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = 1023;

/// Upload bytes all uploads together may hold in memory: with the
/// connections' own buffers, 64 concurrent 64 MiB uploads stay within about
/// 128 MiB of RSS. An S3 store keeps this budget full (parts wait for the
/// store), so it sets the RSS there: 48 MiB peaked at 111-121 MiB into
/// Garage, 40 MiB at ~105 MiB, without a measurable loss of throughput
/// (`scripts/bench-ingest.sh`).
pub const DEFAULT_UPLOAD_MEMORY_BYTES: usize = 40 * 1024 * 1024;
/// Local folder: files up to this size are written in one step, larger ones
/// as they arrive, in pieces of it.
pub const DEFAULT_LOCAL_WRITE_BYTES: usize = 128 * 1024;
/// S3: objects up to this size go in one PUT, larger ones in parts of it
/// (S3's smallest part is 5 MiB).
pub const DEFAULT_S3_PART_BYTES: usize = 8 * 1024 * 1024;
/// Pieces or parts of one upload on their way to the store at once.
pub const DEFAULT_WRITES_IN_FLIGHT: usize = 2;

/// How much of the uploads the server holds in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// [`DEFAULT_UPLOAD_MEMORY_BYTES`]: bytes held by all uploads together
    /// (small objects being buffered, S3 parts being filled or sent, pieces
    /// queued for the disk writer or the hasher). An upload that needs more
    /// waits, and stops reading its request, until others release some.
    /// At least one unit (`local_write_bytes` or `s3_part_bytes`, whichever
    /// the store uses).
    pub memory_bytes: usize,
    /// [`DEFAULT_LOCAL_WRITE_BYTES`]: a file up to this size is kept in
    /// memory and written with one write when complete; a larger one is
    /// written as it arrives, with at most `writes_in_flight` such pieces
    /// queued.
    pub local_write_bytes: usize,
    /// [`DEFAULT_S3_PART_BYTES`]: an object up to this size is sent with one
    /// PUT; a larger one as a multipart upload of parts this size.
    pub s3_part_bytes: usize,
    /// [`DEFAULT_WRITES_IN_FLIGHT`]: pieces (local) or parts (S3) of one
    /// upload held at once, the one being filled included.
    pub writes_in_flight: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            memory_bytes: DEFAULT_UPLOAD_MEMORY_BYTES,
            local_write_bytes: DEFAULT_LOCAL_WRITE_BYTES,
            s3_part_bytes: DEFAULT_S3_PART_BYTES,
            writes_in_flight: DEFAULT_WRITES_IN_FLIGHT,
        }
    }
}

impl StoreLimits {
    /// The unit one upload reserves at a time in `spec`.
    fn unit(&self, spec: &StoreSpec) -> usize {
        match spec {
            StoreSpec::Local(_) => self.local_write_bytes,
            StoreSpec::S3 { .. } => self.s3_part_bytes,
        }
    }

    /// Refuses limits no upload could work within.
    pub(crate) fn check(&self, spec: &StoreSpec) -> Result<(), ServerError> {
        let unit = self.unit(spec);
        let bad = |what: String| Err(ServerError::Config(format!("limits.store: {what}")));
        if unit == 0 {
            return bad("the write size (local_write_bytes / s3_part_bytes) is 0".to_owned());
        }
        if unit > MAX_UNIT_BYTES {
            return bad(format!(
                "a write size of {unit} bytes is above the {MAX_UNIT_BYTES} bytes one upload may reserve"
            ));
        }
        if self.writes_in_flight == 0 {
            return bad("writes_in_flight is 0".to_owned());
        }
        if self.memory_bytes < unit {
            return bad(format!(
                "memory_bytes ({}) is below one write ({unit} bytes): no upload could proceed",
                self.memory_bytes
            ));
        }
        Ok(())
    }
}

/// Largest unit one upload reserves at once (the budget counts KiB in 32 bits).
const MAX_UNIT_BYTES: usize = 1 << 30;

/// Where objects go: `./postpolicy-data` (a folder) or `s3://bucket?…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSpec {
    /// A local folder (created if missing).
    Local(std::path::PathBuf),
    /// `s3://<bucket>?endpoint=<url>&region=<region>`; credentials come from
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and the other `AWS_*`
    /// variables object_store reads).
    S3 {
        bucket: String,
        endpoint: Option<String>,
        region: Option<String>,
    },
}

impl StoreSpec {
    /// Parses `--store`: `s3://bucket?endpoint=…&region=…`, `file:///path`
    /// or a plain folder path.
    pub fn parse(text: &str) -> Result<Self, ServerError> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, query) = rest.split_once('?').unwrap_or((rest, ""));
            let bucket = bucket.trim_end_matches('/');
            if bucket.is_empty() || bucket.contains('/') {
                return Err(ServerError::Config(format!(
                    "--store `{text}`: expected s3://<bucket>?endpoint=<url>&region=<region>"
                )));
            }
            let mut endpoint = None;
            let mut region = None;
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let value = percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .into_owned();
                match name {
                    "endpoint" => endpoint = Some(value),
                    "region" => region = Some(value),
                    other => {
                        return Err(ServerError::Config(format!(
                            "--store `{text}`: unknown parameter `{other}` (expected endpoint, region)"
                        )));
                    }
                }
            }
            return Ok(StoreSpec::S3 {
                bucket: bucket.to_owned(),
                endpoint,
                region,
            });
        }
        if text.contains("://") && !text.starts_with("file://") {
            return Err(ServerError::Config(format!(
                "--store `{text}`: expected a folder or s3://<bucket>?endpoint=<url>&region=<region>"
            )));
        }
        Ok(StoreSpec::Local(
            text.strip_prefix("file://").unwrap_or(text).into(),
        ))
    }
}

impl std::fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreSpec::Local(dir) => write!(f, "{}", dir.display()),
            StoreSpec::S3 {
                bucket, endpoint, ..
            } => write!(
                f,
                "s3://{bucket} ({})",
                endpoint.as_deref().unwrap_or("AWS")
            ),
        }
    }
}

/// What is answered with an object's bytes.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredMeta {
    /// The object key.
    pub key: String,
    pub content_type: Option<String>,
    /// Lower-case header names and values (`x-oss-meta-*`, `cache-control`, …).
    pub metadata: Vec<(String, String)>,
    /// Quoted upper-case hex MD5, as OSS sends it.
    pub etag: String,
    /// CRC-64/ECMA of the content (`x-oss-hash-crc64ecma`).
    #[serde(default)]
    pub crc64: Option<u64>,
    pub size: u64,
    pub uploaded_at: String,
}

impl StoredMeta {
    /// The record of a finished upload of `key` with `digests`.
    pub(crate) fn new(
        key: &str,
        attributes: &ObjectAttributes,
        digests: &Digests,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            key: key.to_owned(),
            content_type: attributes.content_type.clone(),
            metadata: attributes.metadata.clone(),
            etag: digests.etag(),
            crc64: Some(digests.crc64),
            size: digests.size,
            uploaded_at: postpolicy::format_timestamp(now),
        }
    }
}

/// What an object is stored with, known before its bytes: its Content-Type
/// and the headers the form set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ObjectAttributes {
    pub content_type: Option<String>,
    /// Lower-case header names and values (`x-oss-meta-*`, `cache-control`, …).
    pub metadata: Vec<(String, String)>,
}

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub last_modified: String,
}

/// The result of committing a finished upload.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Committed {
    /// Stored, with these digests (an S3 store may have given the MD5).
    Stored(Digests),
    AlreadyExists,
}

/// An object as read back: what to answer with it, and its bytes unless
/// only its head was asked for.
pub(crate) struct Fetched {
    pub meta: StoredMeta,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
    pub body: Option<BoxStream<'static, std::io::Result<Bytes>>>,
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("meta", &self.meta)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// One object of one bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    pub(crate) bucket: String,
    pub(crate) key: String,
    /// The SHA-256 of the key in lower-case hex.
    pub(crate) hash: String,
}

impl Located {
    /// The commit lock of this key.
    fn shard(&self) -> usize {
        let first = self.hash.get(..2).unwrap_or("00");
        usize::from(u8::from_str_radix(first, 16).unwrap_or_default()) % COMMIT_LOCKS
    }
}

/// The memory all uploads may hold at once ([`StoreLimits::memory_bytes`]),
/// counted in KiB.
#[derive(Clone, Debug)]
pub(crate) struct Budget {
    permits: Arc<Semaphore>,
    total_kib: usize,
}

/// Memory of the [`Budget`] held until dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    _permit: OwnedSemaphorePermit,
    /// This upload's share of `writes_in_flight`.
    _slot: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl Reservation {
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Budget {
    pub(crate) fn new(bytes: usize) -> Self {
        let total_kib = (bytes / 1024).clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(total_kib)),
            total_kib,
        }
    }

    /// Waits until `bytes` (rounded up to KiB, at most the whole budget) are
    /// free and takes them.
    pub(crate) async fn reserve(
        &self,
        bytes: usize,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Reservation, ServerError> {
        let kib = bytes.div_ceil(1024).clamp(1, self.total_kib);
        let kib = u32::try_from(kib).unwrap_or(u32::MAX);
        let permit = Arc::clone(&self.permits)
            .acquire_many_owned(kib)
            .await
            .map_err(|_| ServerError::Store("the upload memory budget is closed".to_owned()))?;
        Ok(Reservation {
            _permit: permit,
            _slot: slot,
            bytes: (kib as usize).saturating_mul(1024).min(bytes.max(1)),
        })
    }

    /// KiB free right now (tests).
    #[cfg(test)]
    pub(crate) fn available_kib(&self) -> usize {
        self.permits.available_permits()
    }
}

/// One upload's reservations, taken a unit at a time: the bytes of one unit
/// (an S3 part, a local piece) share one [`Reservation`], released when the
/// last of them is written and hashed.
#[derive(Debug)]
pub(crate) struct Window {
    budget: Budget,
    slots: Arc<Semaphore>,
    unit: usize,
    /// Bytes still to come, at most (the request's length), for a first
    /// reservation no larger than the object.
    hint: Option<u64>,
    current: Option<(Arc<Reservation>, usize)>,
}

impl Window {
    pub(crate) fn new(budget: Budget, unit: usize, in_flight: usize, hint: Option<u64>) -> Self {
        Self {
            budget,
            slots: Arc::new(Semaphore::new(in_flight.max(1))),
            unit: unit.max(1),
            hint,
            current: None,
        }
    }

    /// True when the current unit is full (or none was taken yet).
    pub(crate) fn unit_done(&self) -> bool {
        self.current.as_ref().is_none_or(|(_, left)| *left == 0)
    }

    /// Ends the current unit early (the part or piece was sent).
    pub(crate) fn close_unit(&mut self) {
        self.current = None;
    }

    /// Room for up to `want` bytes in the current unit, taking a new unit
    /// (waiting for one of this upload's slots, then for the budget) when
    /// the current one is full. Returns how many of `want` fit, and the
    /// reservation they count against.
    pub(crate) async fn take(
        &mut self,
        want: usize,
    ) -> Result<(usize, Arc<Reservation>), ServerError> {
        if self.unit_done() {
            self.current = None;
            let slot = Arc::clone(&self.slots)
                .acquire_owned()
                .await
                .map_err(|_| ServerError::Store("the upload's writes were closed".to_owned()))?;
            let size = match self.hint.take() {
                Some(hint) => usize::try_from(hint).unwrap_or(usize::MAX).min(self.unit),
                None => self.unit,
            }
            .max(1);
            let reservation = self.budget.reserve(size, Some(slot)).await?;
            let bytes = reservation.bytes();
            self.current = Some((Arc::new(reservation), bytes));
        }
        let Some((reservation, left)) = self.current.as_mut() else {
            return Err(ServerError::Store("no reservation".to_owned()));
        };
        let n = want.min(*left);
        *left -= n;
        Ok((n, Arc::clone(reservation)))
    }
}

/// The store of the endpoint's objects.
#[derive(Clone, Debug)]
pub(crate) enum Store {
    Local(local::LocalStore),
    #[cfg(feature = "s3")]
    S3(s3::S3Store),
}

/// An upload being received; dropped unfinished, it leaves nothing.
#[derive(Debug)]
pub(crate) enum Upload {
    Local(local::Upload),
    #[cfg(feature = "s3")]
    S3(s3::Upload),
}

/// A received, hashed upload waiting for its commit; dropped, it leaves
/// nothing.
#[derive(Debug)]
pub(crate) enum Staged {
    Local(local::Staged),
    #[cfg(feature = "s3")]
    S3(s3::Staged),
}

#[cfg(feature = "s3")]
fn mismatch() -> ServerError {
    ServerError::Store("an upload was handed to another kind of store".to_owned())
}

impl Store {
    pub(crate) fn open(spec: &StoreSpec, limits: &StoreLimits) -> Result<Self, ServerError> {
        limits.check(spec)?;
        let budget = Budget::new(limits.memory_bytes);
        let locks: Arc<Vec<tokio::sync::Mutex<()>>> = Arc::new(
            (0..COMMIT_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        );
        match spec {
            StoreSpec::Local(dir) => Ok(Self::Local(local::LocalStore::open(
                dir,
                limits.clone(),
                budget,
                locks,
            )?)),
            #[cfg(feature = "s3")]
            StoreSpec::S3 {
                bucket,
                endpoint,
                region,
            } => Ok(Self::S3(s3::S3Store::open(
                bucket,
                endpoint.as_deref(),
                region.as_deref(),
                limits.clone(),
                budget,
                locks,
            )?)),
            #[cfg(not(feature = "s3"))]
            StoreSpec::S3 { .. } => Err(ServerError::Config(
                "this build has no S3 support (feature `s3`)".to_owned(),
            )),
        }
    }

    /// Where `key` of `bucket` is kept; `None` for keys OSS refuses: empty,
    /// longer than 1,023 bytes, or starting with `/` or `\`.
    pub(crate) fn locate(bucket: &str, key: &str) -> Option<Located> {
        if key.is_empty()
            || key.len() > MAX_KEY_BYTES
            || key.starts_with('/')
            || key.starts_with('\\')
        {
            return None;
        }
        Some(Located {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            hash: hex::encode(Sha256::digest(key.as_bytes())),
        })
    }

    pub(crate) async fn exists(&self, object: &Located) -> Result<bool, ServerError> {
        match self {
            Self::Local(store) => store.exists(object).await,
            #[cfg(feature = "s3")]
            Self::S3(store) => store.exists(object).await,
        }
    }

    /// Starts receiving the object; `hint` bounds its size (the request's
    /// length) so that a small object reserves no more memory than it needs.
    pub(crate) async fn begin(
        &self,
        object: &Located,
        #[cfg_attr(not(feature = "s3"), allow(unused_variables))] attributes: &ObjectAttributes,
        hint: Option<u64>,
    ) -> Result<Upload, ServerError> {
        match self {
            Self::Local(store) => Ok(Upload::Local(store.begin(object, hint))),
            #[cfg(feature = "s3")]
            Self::S3(store) => Ok(Upload::S3(store.begin(object, attributes, hint))),
        }
    }

    /// Makes `staged` the object `object`, described by `meta`; with
    /// `no_overwrite`, only when the object does not exist yet.
    pub(crate) async fn commit(
        &self,
        staged: Staged,
        object: &Located,
        meta: StoredMeta,
        no_overwrite: bool,
    ) -> Result<Committed, ServerError> {
        match (self, staged) {
            (Self::Local(store), Staged::Local(staged)) => {
                store.commit(staged, object, meta, no_overwrite).await
            }
            #[cfg(feature = "s3")]
            (Self::S3(store), Staged::S3(staged)) => {
                store.commit(staged, object, meta, no_overwrite).await
            }
            #[cfg(feature = "s3")]
            _ => Err(mismatch()),
        }
    }

    /// The object, with its bytes unless `head_only`.
    pub(crate) async fn get(
        &self,
        object: &Located,
        head_only: bool,
    ) -> Result<Option<Fetched>, ServerError> {
        match self {
            Self::Local(store) => store.get(object, head_only).await,
            #[cfg(feature = "s3")]
            Self::S3(store) => store.get(object, head_only).await,
        }
    }

    /// Every object of `bucket`, by key.
    pub(crate) async fn list(&self, bucket: &str) -> Result<Vec<Listed>, ServerError> {
        let mut out = match self {
            Self::Local(store) => store.list(bucket).await?,
            #[cfg(feature = "s3")]
            Self::S3(store) => store.list(bucket).await?,
        };
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

impl Upload {
    /// Takes the next bytes of the file; waits while the upload's memory
    /// (its share, or the whole budget) is spent.
    pub(crate) async fn write(&mut self, chunk: Bytes) -> Result<(), ServerError> {
        match self {
            Self::Local(upload) => upload.write(chunk).await,
            #[cfg(feature = "s3")]
            Self::S3(upload) => upload.write(chunk).await,
        }
    }

    /// Waits until every byte is hashed and staged.
    pub(crate) async fn finish(self) -> Result<Staged, ServerError> {
        match self {
            Self::Local(upload) => Ok(Staged::Local(upload.finish().await?)),
            #[cfg(feature = "s3")]
            Self::S3(upload) => Ok(Staged::S3(upload.finish().await?)),
        }
    }
}

impl Staged {
    pub(crate) fn digests(&self) -> Digests {
        match self {
            Self::Local(staged) => staged.digests(),
            #[cfg(feature = "s3")]
            Self::S3(staged) => staged.digests(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_store_specs() {
        assert_eq!(
            StoreSpec::parse("s3://media?endpoint=http%3A%2F%2F127.0.0.1%3A3900&region=garage")
                .unwrap(),
            StoreSpec::S3 {
                bucket: "media".into(),
                endpoint: Some("http://127.0.0.1:3900".into()),
                region: Some("garage".into()),
            }
        );
        assert_eq!(
            StoreSpec::parse("s3://media?endpoint=http://localhost:9000").unwrap(),
            StoreSpec::S3 {
                bucket: "media".into(),
                endpoint: Some("http://localhost:9000".into()),
                region: None,
            }
        );
        assert_eq!(
            StoreSpec::parse("./data").unwrap(),
            StoreSpec::Local("./data".into())
        );
        assert!(StoreSpec::parse("s3://").is_err());
        assert!(StoreSpec::parse("s3://b?colour=red").is_err());
        assert!(StoreSpec::parse("gs://b").is_err());
    }

    #[test]
    fn keys_oss_accepts_are_located_and_never_collide() {
        let long_segment = "s".repeat(600);
        let longest = "k".repeat(1023);
        let keys = [
            "a",
            "a/b",
            "a/",
            "a//b",
            "A",
            "x/../y",
            ".",
            "..",
            "a b#1?.txt",
            long_segment.as_str(),
            longest.as_str(),
            "日本/写真.png",
            "line\nbreak",
        ];
        let mut seen = std::collections::HashSet::new();
        for key in keys {
            let at = Store::locate("b", key).unwrap();
            let parts = local::record_parts(&at);
            assert!(seen.insert(parts.clone()), "{key}");
            assert_eq!(parts.len(), 4, "{key}");
            assert!(parts.iter().all(|p| p.len() <= 70), "{key}");
        }
        assert!(Store::locate("b", "").is_none());
        assert!(Store::locate("b", "/a").is_none());
        assert!(Store::locate("b", "\\a").is_none());
        assert!(Store::locate("b", &"k".repeat(1024)).is_none());
    }

    #[test]
    fn limits_that_no_upload_could_work_within_are_refused() {
        let local = StoreSpec::Local("d".into());
        let s3 = StoreSpec::parse("s3://b").unwrap();
        assert!(StoreLimits::default().check(&local).is_ok());
        assert!(StoreLimits::default().check(&s3).is_ok());
        let small = StoreLimits {
            memory_bytes: 6 * 1024 * 1024,
            ..StoreLimits::default()
        };
        // Enough for local pieces, not for one S3 part.
        assert!(small.check(&local).is_ok());
        let error = small.check(&s3).unwrap_err().to_string();
        assert!(
            error.contains("memory_bytes (6291456) is below one write"),
            "{error}"
        );
        for (limits, says) in [
            (
                StoreLimits {
                    local_write_bytes: 0,
                    ..StoreLimits::default()
                },
                "write size",
            ),
            (
                StoreLimits {
                    writes_in_flight: 0,
                    ..StoreLimits::default()
                },
                "writes_in_flight is 0",
            ),
            (
                StoreLimits {
                    local_write_bytes: 2 << 30,
                    memory_bytes: 4 << 30,
                    ..StoreLimits::default()
                },
                "above the",
            ),
        ] {
            let error = limits.check(&local).unwrap_err().to_string();
            assert!(error.contains(says), "{error}");
        }
    }

    #[tokio::test]
    async fn the_budget_holds_uploads_back_until_memory_is_released() {
        use futures_util::FutureExt as _;
        let budget = Budget::new(64 * 1024);
        assert_eq!(budget.available_kib(), 64);
        let first = budget.reserve(48 * 1024, None).await.unwrap();
        assert_eq!(first.bytes(), 48 * 1024);
        assert_eq!(budget.available_kib(), 16);
        // 32 KiB more must wait...
        let mut waiting = Box::pin(budget.reserve(32 * 1024, None));
        assert!(waiting.as_mut().now_or_never().is_none());
        // ...until the first is released.
        drop(first);
        let second = waiting.await.unwrap();
        assert_eq!(budget.available_kib(), 32);
        // More than the whole budget takes the whole budget.
        drop(second);
        let all = budget.reserve(10 << 20, None).await.unwrap();
        assert_eq!(budget.available_kib(), 0);
        drop(all);
        assert_eq!(budget.available_kib(), 64);
    }

    #[tokio::test]
    async fn a_window_takes_units_within_its_slots() {
        use futures_util::FutureExt as _;
        let budget = Budget::new(1024 * 1024);
        // 4 KiB units, 2 at once; the body is at most 5,000 bytes.
        let mut window = Window::new(budget.clone(), 4096, 2, Some(5000));
        let (n, first) = window.take(10_000).await.unwrap();
        // The first unit is no larger than the body can fill.
        assert_eq!((n, first.bytes()), (4096, 4096));
        let (n, second) = window.take(10_000).await.unwrap();
        assert_eq!(n, 4096);
        assert!(window.unit_done());
        // Both slots are held: a third unit waits for one of them.
        let mut third = Box::pin(window.take(1));
        assert!(third.as_mut().now_or_never().is_none());
        drop(third);
        drop(first);
        let (n, _third) = window.take(1).await.unwrap();
        assert_eq!(n, 1);
        drop(second);

        let mut small = Window::new(budget, 4096, 2, Some(100));
        let (n, reservation) = small.take(10_000).await.unwrap();
        assert_eq!((n, reservation.bytes()), (100, 100));
    }
}
