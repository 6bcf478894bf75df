//! Object storage through `object_store`: a local folder by default, any
//! S3-compatible store on request.
//!
//! Layout inside the store (one namespace per OSS bucket):
//!
//! ```text
//! <bucket>/<key>                      object bytes
//! .postpolicy/meta/<bucket>/<key>     sidecar JSON: content type, metadata, ETag
//! .postpolicy/tmp/<id>                an upload in progress (renamed into place)
//! ```
//!
//! Bucket names cannot start with `.`, so the internal prefix never collides
//! with a bucket.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, WriteMultipart};
use serde::{Deserialize, Serialize};

use crate::ServerError;

const INTERNAL: &str = ".postpolicy";
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

/// What the sidecar object records about a stored object.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StoredMeta {
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
        Ok(Self { inner, part_bytes })
    }

    /// The store path of `key` in `bucket`; `None` for keys the store cannot
    /// hold (empty, too long, leading `/` or `\`, empty path segments).
    pub(crate) fn object_path(bucket: &str, key: &str) -> Option<Path> {
        if key.is_empty()
            || key.len() > MAX_KEY_BYTES
            || key.starts_with('/')
            || key.starts_with('\\')
            || key.split('/').any(str::is_empty)
        {
            return None;
        }
        Some(Path::from_iter(
            std::iter::once(bucket).chain(key.split('/')),
        ))
    }

    fn meta_path(object: &Path) -> Path {
        Path::from_iter([INTERNAL, "meta"]).extend_with(object)
    }

    /// Starts a temporary upload that becomes an object only on [`Store::commit`].
    pub(crate) async fn begin(&self) -> Result<TmpUpload, ServerError> {
        let path = Path::from_iter([INTERNAL, "tmp", &crate::random_hex(16)]);
        let upload = self.inner.put_multipart(&path).await.map_err(store_error)?;
        Ok(TmpUpload {
            store: Arc::clone(&self.inner),
            path,
            writer: Some(WriteMultipart::new_with_chunk_size(upload, self.part_bytes)),
        })
    }

    pub(crate) async fn exists(&self, path: &Path) -> Result<bool, ServerError> {
        match self.inner.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Moves a finished temporary object to `dest`; with `no_overwrite`, only
    /// when `dest` does not exist (atomically where the store supports it).
    pub(crate) async fn commit(
        &self,
        tmp: TmpObject,
        dest: &Path,
        no_overwrite: bool,
    ) -> Result<Committed, ServerError> {
        let result = if no_overwrite {
            match self.inner.rename_if_not_exists(&tmp.path, dest).await {
                Err(object_store::Error::AlreadyExists { .. }) => Ok(Committed::AlreadyExists),
                Err(
                    object_store::Error::NotSupported { .. }
                    | object_store::Error::NotImplemented { .. },
                ) => {
                    // Stores without conditional copies: check, then move.
                    if self.exists(dest).await? {
                        Ok(Committed::AlreadyExists)
                    } else {
                        self.inner
                            .rename(&tmp.path, dest)
                            .await
                            .map(|()| Committed::Stored)
                            .map_err(store_error)
                    }
                }
                Err(e) => Err(store_error(e)),
                Ok(()) => Ok(Committed::Stored),
            }
        } else {
            self.inner
                .rename(&tmp.path, dest)
                .await
                .map(|()| Committed::Stored)
                .map_err(store_error)
        };
        if matches!(result, Ok(Committed::Stored)) {
            tmp.disarm();
        }
        // Otherwise `tmp` is dropped here and deletes the temporary object.
        result
    }

    pub(crate) async fn put_meta(
        &self,
        object: &Path,
        meta: &StoredMeta,
    ) -> Result<(), ServerError> {
        let json = serde_json::to_vec(meta).map_err(|e| ServerError::Store(e.to_string()))?;
        self.inner
            .put(&Self::meta_path(object), json.into())
            .await
            .map(|_| ())
            .map_err(store_error)
    }

    /// The sidecar of `object`; `None` when it has none (or it is unreadable).
    pub(crate) async fn get_meta(&self, object: &Path) -> Option<StoredMeta> {
        let bytes = self
            .inner
            .get(&Self::meta_path(object))
            .await
            .ok()?
            .bytes()
            .await
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub(crate) async fn get(
        &self,
        object: &Path,
    ) -> Result<Option<object_store::GetResult>, ServerError> {
        match self.inner.get(object).await {
            Ok(r) => Ok(Some(r)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    pub(crate) async fn head(
        &self,
        object: &Path,
    ) -> Result<Option<object_store::ObjectMeta>, ServerError> {
        match self.inner.head(object).await {
            Ok(r) => Ok(Some(r)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Every object of `bucket`, by key.
    pub(crate) async fn list(&self, bucket: &str) -> Result<Vec<Listed>, ServerError> {
        let prefix = Path::from(bucket);
        let mut stream = self.inner.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            let meta = item.map_err(store_error)?;
            let Some(parts) = meta.location.prefix_match(&prefix) else {
                continue;
            };
            let key: Vec<String> = parts
                .map(|p| {
                    percent_encoding::percent_decode_str(p.as_ref())
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .collect();
            out.push(Listed {
                key: key.join("/"),
                size: meta.size,
                last_modified: postpolicy::wire::format_timestamp(meta.last_modified),
            });
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

trait ExtendWith {
    fn extend_with(self, other: &Path) -> Path;
}

impl ExtendWith for Path {
    fn extend_with(self, other: &Path) -> Path {
        let mut out = self;
        out.extend(other.parts());
        out
    }
}

/// An upload being written to a temporary object. Dropped unfinished (an
/// aborted request, a rejection), it aborts the write and leaves nothing.
pub(crate) struct TmpUpload {
    store: Arc<dyn ObjectStore>,
    path: Path,
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
            armed: true,
        };
        writer.finish().await.map_err(store_error)?;
        Ok(tmp)
    }
}

impl Drop for TmpUpload {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = writer.abort().await;
                });
            }
        }
    }
}

/// A complete temporary object; deleted when dropped unless committed.
pub(crate) struct TmpObject {
    store: Arc<dyn ObjectStore>,
    path: Path,
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
    fn object_paths() {
        let p = Store::object_path("b", "a/b c#1.txt").unwrap();
        assert_eq!(p.as_ref(), "b/a/b c%231.txt");
        let p = Store::object_path("b", "x/../y").unwrap();
        assert_eq!(p.as_ref(), "b/x/%2E%2E/y");
        assert!(Store::object_path("b", "").is_none());
        assert!(Store::object_path("b", "/a").is_none());
        assert!(Store::object_path("b", "a//b").is_none());
        assert!(Store::object_path("b", "a/").is_none());
        assert!(Store::object_path("b", &"k".repeat(1024)).is_none());
    }
}
