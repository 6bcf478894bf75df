//! Object storage through `object_store`: a local folder by default, any
//! S3-compatible store on request.
//!
//! Layout inside the store (one namespace per OSS bucket):
//!
//! ```text
//! <bucket>/keys/<h:2>/<h>.json   the object's record: its key, its blob,
//!                                Content-Type, metadata, ETag, CRC-64, size
//! <bucket>/blobs/<id>            the bytes of one upload (random id)
//! ```
//!
//! `h` is the SHA-256 of the key in hex. Keys are never file names: a key
//! may be 1,023 bytes with segments of any length, `a` and `a/b` are both
//! objects, and `A` and `a` differ on case-insensitive file systems too.
//!
//! An upload writes its bytes to a fresh blob, then commits by writing the
//! record, one atomic put that names the blob: a reader sees the old object
//! or the new one, never one upload's bytes with another's ETag or
//! Content-Type. Commits of one key are serialised in the process, and the
//! blob a commit replaces is deleted after it.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::ServerError;

/// Records under `<bucket>/keys/`, blobs under `<bucket>/blobs/`.
const KEYS: &str = "keys";
const BLOBS: &str = "blobs";
/// Commits of keys whose hash starts alike share a lock.
const COMMIT_LOCKS: usize = 64;
/// How often a read retries when the blob it was sent to was just replaced.
const READ_RETRIES: usize = 3;
/// Part size of the multipart writes to S3 (its minimum part size).
const S3_PART_BYTES: usize = 5 * 1024 * 1024;
/// Part size of writes to a local folder (no minimum; smaller parts keep
/// many concurrent uploads small in memory).
const LOCAL_PART_BYTES: usize = 512 * 1024;
/// Parts in flight per upload; bounds the memory an upload holds.
const PARTS_IN_FLIGHT: usize = 2;
/// Longest object key OSS accepts, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = 1023;

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

/// An object's record: which blob holds its bytes, and what is answered
/// with them.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredMeta {
    /// The object key.
    pub key: String,
    /// The id of the blob under `<bucket>/blobs/`.
    pub blob: String,
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
    Stored,
    AlreadyExists,
}

#[derive(Clone, Debug)]
pub(crate) struct Store {
    inner: Arc<dyn ObjectStore>,
    part_bytes: usize,
    locks: Arc<Vec<tokio::sync::Mutex<()>>>,
}

/// Where one object of one bucket is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    bucket: String,
    record: Path,
    /// The first byte of the key's hash (picks the commit lock).
    shard: u8,
}

fn store_error(e: object_store::Error) -> ServerError {
    ServerError::Store(e.to_string())
}

impl Store {
    pub(crate) fn open(spec: &StoreSpec) -> Result<Self, ServerError> {
        let part_bytes = match spec {
            StoreSpec::Local(_) => LOCAL_PART_BYTES,
            StoreSpec::S3 { .. } => S3_PART_BYTES,
        };
        let inner: Arc<dyn ObjectStore> = match spec {
            StoreSpec::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    ServerError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(dir)
                        .map_err(store_error)?
                        .with_automatic_cleanup(true),
                )
            }
            #[cfg(feature = "s3")]
            StoreSpec::S3 {
                bucket,
                endpoint,
                region,
            } => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_virtual_hosted_style_request(false);
                if let Some(endpoint) = endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                if let Some(region) = region {
                    builder = builder.with_region(region);
                }
                Arc::new(builder.build().map_err(store_error)?)
            }
            #[cfg(not(feature = "s3"))]
            StoreSpec::S3 { .. } => {
                return Err(ServerError::Config(
                    "this build has no S3 support (feature `s3`)".to_owned(),
                ));
            }
        };
        let locks = (0..COMMIT_LOCKS)
            .map(|_| tokio::sync::Mutex::new(()))
            .collect();
        Ok(Self {
            inner,
            part_bytes,
            locks: Arc::new(locks),
        })
    }

    /// Where `key` of `bucket` is recorded; `None` for keys OSS refuses:
    /// empty, longer than 1,023 bytes, or starting with `/` or `\`.
    pub(crate) fn locate(bucket: &str, key: &str) -> Option<Located> {
        if key.is_empty()
            || key.len() > MAX_KEY_BYTES
            || key.starts_with('/')
            || key.starts_with('\\')
        {
            return None;
        }
        let hash = hex::encode(Sha256::digest(key.as_bytes()));
        let shard = hash.get(..2).unwrap_or("00");
        let record = Path::from_iter([bucket, KEYS, shard, &format!("{hash}.json")]);
        Some(Located {
            bucket: bucket.to_owned(),
            record,
            shard: u8::from_str_radix(shard, 16).unwrap_or_default(),
        })
    }

    fn blob_path(bucket: &str, blob: &str) -> Path {
        Path::from_iter([bucket, BLOBS, blob])
    }

    /// Starts writing a new blob of `bucket`; it becomes an object only on
    /// [`Store::commit`].
    pub(crate) async fn begin(&self, bucket: &str) -> Result<TmpUpload, ServerError> {
        let id = crate::random_hex(16);
        let path = Self::blob_path(bucket, &id);
        let upload = self.inner.put_multipart(&path).await.map_err(store_error)?;
        Ok(TmpUpload {
            store: Arc::clone(&self.inner),
            path,
            id,
            writer: Some(WriteMultipart::new_with_chunk_size(upload, self.part_bytes)),
        })
    }

    pub(crate) async fn exists(&self, object: &Located) -> Result<bool, ServerError> {
        match self.inner.head(&object.record).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    /// The record of `object`, if it has one.
    async fn record(&self, object: &Located) -> Result<Option<StoredMeta>, ServerError> {
        let bytes = match self.inner.get(&object.record).await {
            Ok(result) => result.bytes().await.map_err(store_error)?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(store_error(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ServerError::Store(format!("unreadable record {}: {e}", object.record)))
    }

    /// Makes the finished blob `tmp` the object `object`, described by
    /// `meta` (its `key` and `blob` are filled in here); with
    /// `no_overwrite`, only when the object does not exist yet.
    pub(crate) async fn commit(
        &self,
        tmp: TmpObject,
        object: &Located,
        mut meta: StoredMeta,
        no_overwrite: bool,
    ) -> Result<Committed, ServerError> {
        let lock = self
            .locks
            .get(usize::from(object.shard) % COMMIT_LOCKS)
            .ok_or_else(|| ServerError::Store("no commit lock".to_owned()))?;
        let _guard = lock.lock().await;
        let previous = self.record(object).await?;
        if no_overwrite && previous.is_some() {
            // `tmp` is dropped and deletes the blob.
            return Ok(Committed::AlreadyExists);
        }
        meta.blob = tmp.id.clone();
        let json = serde_json::to_vec(&meta).map_err(|e| ServerError::Store(e.to_string()))?;
        let mode = if no_overwrite {
            PutMode::Create
        } else {
            PutMode::Overwrite
        };
        let put = self
            .inner
            .put_opts(&object.record, json.clone().into(), PutOptions::from(mode))
            .await;
        match put {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => return Ok(Committed::AlreadyExists),
            // Stores without conditional puts: the check above, under the lock.
            Err(
                object_store::Error::NotSupported { .. }
                | object_store::Error::NotImplemented { .. },
            ) => {
                self.inner
                    .put(&object.record, json.into())
                    .await
                    .map_err(store_error)?;
            }
            Err(e) => return Err(store_error(e)),
        }
        tmp.disarm();
        if let Some(previous) = previous.filter(|p| p.blob != meta.blob && !p.blob.is_empty()) {
            let _ = self
                .inner
                .delete(&Self::blob_path(&object.bucket, &previous.blob))
                .await;
        }
        Ok(Committed::Stored)
    }

    /// The object's record and its bytes.
    pub(crate) async fn get(
        &self,
        object: &Located,
    ) -> Result<Option<(StoredMeta, object_store::GetResult)>, ServerError> {
        for _ in 0..READ_RETRIES {
            let Some(meta) = self.record(object).await? else {
                return Ok(None);
            };
            match self
                .inner
                .get(&Self::blob_path(&object.bucket, &meta.blob))
                .await
            {
                Ok(result) => return Ok(Some((meta, result))),
                // Replaced between the two reads: read the new record.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(None)
    }

    /// The object's record and its blob's size and time.
    pub(crate) async fn head(
        &self,
        object: &Located,
    ) -> Result<Option<(StoredMeta, object_store::ObjectMeta)>, ServerError> {
        for _ in 0..READ_RETRIES {
            let Some(meta) = self.record(object).await? else {
                return Ok(None);
            };
            match self
                .inner
                .head(&Self::blob_path(&object.bucket, &meta.blob))
                .await
            {
                Ok(blob) => return Ok(Some((meta, blob))),
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(None)
    }

    /// Every object of `bucket`, by key.
    pub(crate) async fn list(&self, bucket: &str) -> Result<Vec<Listed>, ServerError> {
        let prefix = Path::from_iter([bucket, KEYS]);
        let mut stream = self.inner.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            let listed = item.map_err(store_error)?;
            let bytes = match self.inner.get(&listed.location).await {
                Ok(result) => result.bytes().await.map_err(store_error)?,
                // Replaced or removed while listing.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(store_error(e)),
            };
            let Ok(meta) = serde_json::from_slice::<StoredMeta>(&bytes) else {
                continue;
            };
            out.push(Listed {
                key: meta.key,
                size: meta.size,
                last_modified: meta.uploaded_at,
            });
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

/// An upload being written to a temporary object. Dropped unfinished (an
/// aborted request, a rejection), it aborts the write and leaves nothing.
pub(crate) struct TmpUpload {
    store: Arc<dyn ObjectStore>,
    path: Path,
    id: String,
    writer: Option<WriteMultipart>,
}

impl TmpUpload {
    /// Queues `bytes` and waits while too many parts are in flight.
    pub(crate) async fn put(&mut self, bytes: Bytes) -> Result<(), ServerError> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(ServerError::Store("upload already finished".to_owned()));
        };
        writer.put(bytes);
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(store_error)
    }

    /// Completes the temporary object (not yet visible under its key).
    pub(crate) async fn finish(mut self) -> Result<TmpObject, ServerError> {
        let Some(writer) = self.writer.take() else {
            return Err(ServerError::Store("upload already finished".to_owned()));
        };
        let tmp = TmpObject {
            store: Arc::clone(&self.store),
            path: self.path.clone(),
            id: self.id.clone(),
            armed: true,
        };
        writer.finish().await.map_err(store_error)?;
        Ok(tmp)
    }
}

impl Drop for TmpUpload {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = writer.abort().await;
            });
        }
    }
}

/// A complete temporary object; deleted when dropped unless committed.
pub(crate) struct TmpObject {
    store: Arc<dyn ObjectStore>,
    path: Path,
    id: String,
    armed: bool,
}

impl TmpObject {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TmpObject {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let store = Arc::clone(&self.store);
        let path = self.path.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = store.delete(&path).await;
            });
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
            assert!(seen.insert(at.record.clone()), "{key}");
            let parts: Vec<_> = at.record.parts().collect();
            assert_eq!(parts.len(), 4, "{key}");
            assert!(parts.iter().all(|p| p.as_ref().len() <= 70), "{key}");
        }
        assert!(Store::locate("b", "").is_none());
        assert!(Store::locate("b", "/a").is_none());
        assert!(Store::locate("b", "\\a").is_none());
        assert!(Store::locate("b", &"k".repeat(1024)).is_none());
    }
}
