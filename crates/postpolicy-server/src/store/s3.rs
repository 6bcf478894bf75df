//! An S3-compatible store, through `object_store`'s S3 client.
//!
//! Each object is one S3 object under its own key, `<bucket>/<key>`, with its
//! Content-Type and the form's headers as the object's own attributes
//! (`Cache-Control`, `Content-Disposition`, `Content-Encoding`,
//! `Content-Language` as themselves, `x-oss-meta-<n>` as `x-amz-meta-<n>`),
//! so other S3 clients read it as it was uploaded. What has no S3 header of its
//! own goes under the reserved `x-amz-meta-postpolicy-` names: the OSS ETag
//! (`-etag`, unless the store's own ETag is that MD5, see `EtagTrust`) and
//! CRC-64 (`-crc64`), other stored headers such as `Expires` or
//! `x-oss-storage-class` (`-h-<name>`), a user name that would collide with
//! ours (`x-oss-meta-postpolicy-…` becomes `-m-postpolicy-…`) or that is no
//! HTTP token (`-x-<hex of the name>`). Values that are not printable ASCII
//! are sent as RFC 2047 `=?UTF-8?B?…?=`, as AWS's own tools do.
//!
//! A key S3 (or `object_store`'s paths) cannot hold exactly — an empty or a
//! `.`/`..` segment, a trailing `/`, a control character, more than 1,024
//! bytes with the bucket — and every key under `.postpolicy/`, are kept at
//! `<bucket>/.postpolicy/<SHA-256 of the key>` with the key in
//! `x-amz-meta-postpolicy-key`, so distinct keys never meet.
//!
//! An object up to [`StoreLimits::s3_part_bytes`] is kept in memory and sent
//! with one PUT once complete and accepted: one request per upload. A larger
//! one becomes a multipart upload straight to its key, each part sent while
//! the next is received; an unfinished multipart upload is invisible, so
//! there is nothing to copy or delete, and a dropped upload is aborted. Its
//! attributes are fixed when it starts, before its MD5 is known: it is read
//! back with the store's ETag (`"<HEX>-<parts>"`, as OSS answers for
//! multipart objects) and without `x-oss-hash-crc64ecma`.
//!
//! Payloads are sent unsigned (`UNSIGNED-PAYLOAD`) over HTTPS and to a
//! loopback endpoint, where nobody can change them on the way; to a plain
//! `http://` endpoint elsewhere, SigV4 signs their SHA-256.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt as _};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, GetOptions, MultipartUpload, ObjectStore,
    ObjectStoreExt as _, PutMode, PutMultipartOptions, PutOptions, PutPayload,
};

use super::{
    Budget, Committed, Fetched, Listed, Located, ObjectAttributes, Reservation, StoreLimits,
    StoredMeta, Window,
};
use crate::ServerError;
use crate::hashing::{Crc64Only, Digests, HashPipe, md5_of};

/// Where keys S3 cannot hold exactly are kept, by hash.
const HASHED: &str = ".postpolicy";
/// Longest S3 key.
const MAX_S3_KEY_BYTES: usize = 1024;
/// Our own names among the `x-amz-meta-*` headers.
const OURS: &str = "postpolicy-";
const META_ETAG: &str = "postpolicy-etag";
const META_CRC64: &str = "postpolicy-crc64";
const META_KEY: &str = "postpolicy-key";
const META_HEADER: &str = "postpolicy-h-";
const META_RENAMED: &str = "postpolicy-m-";
const META_HEX: &str = "postpolicy-x-";
const USER_META: &str = "x-oss-meta-";
/// The type stored when the form gave none (what OSS answers for it).
const DEFAULT_TYPE: &str = "application/octet-stream";

fn store_error(e: object_store::Error) -> ServerError {
    ServerError::Store(e.to_string())
}

#[derive(Clone, Debug)]
pub(crate) struct S3Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ObjectStore>,
    limits: StoreLimits,
    budget: Budget,
    locks: Arc<Vec<tokio::sync::Mutex<()>>>,
    etags: EtagTrust,
}

/// Matching ETags of single PUTs after which the store's ETag is trusted.
const TRUST_AFTER: u32 = 4;
/// One single PUT in this many is still hashed here once the store's ETag
/// is trusted, and its ETag compared.
const AUDIT_EVERY: u64 = 16;

/// Whether this store's ETag of a single PUT is the MD5 of the bytes sent
/// (as Garage, MinIO and AWS S3 without KMS or customer keys answer): then
/// serve takes it instead of hashing the bytes too. MD5 was two thirds of
/// serve's CPU in front of Garage, which computes it again anyway. Learnt,
/// never assumed: the first single PUTs are hashed here and compared, and
/// then one in every [`AUDIT_EVERY`]; one mismatch, or an ETag that is no
/// MD5 at all, and every upload is hashed here again. Between a change of
/// the store's ways (say, KMS turned on for the bucket) and the next audit,
/// an unaudited upload answers an ETag that is 32 hex digits but no MD5; one
/// whose ETag is no hex MD5 at all answers the MD5 of the bytes still held,
/// but reads back with the store's ETag (it was stored without ours).
#[derive(Debug, Default)]
struct EtagTrust {
    matched: AtomicU32,
    refuted: AtomicBool,
    candidates: AtomicU64,
}

impl EtagTrust {
    /// For an upload that will be one PUT: true to leave its MD5 to the store.
    fn leave_md5_to_store(&self) -> bool {
        if self.refuted.load(Ordering::Relaxed) {
            return false;
        }
        let n = self.candidates.fetch_add(1, Ordering::Relaxed);
        self.matched.load(Ordering::Relaxed) >= TRUST_AFTER && !n.is_multiple_of(AUDIT_EVERY)
    }

    /// The store's ETag of an upload hashed here agreed with its MD5, or not.
    fn record(&self, agreed: bool) {
        if agreed {
            self.matched.fetch_add(1, Ordering::Relaxed);
        } else {
            self.refuted.store(true, Ordering::Relaxed);
        }
    }
}

/// The MD5 in an S3 ETag (`"<32 hex digits>"`), if it holds one.
fn etag_md5(etag: Option<&str>) -> Option<[u8; 16]> {
    let hex_digits = etag?.trim().trim_matches('"');
    let mut md5 = [0u8; 16];
    hex::decode_to_slice(hex_digits, &mut md5).ok()?;
    Some(md5)
}

/// True for endpoints where an unsigned payload cannot be changed on the
/// way: HTTPS, or this machine.
fn payload_safe_unsigned(endpoint: Option<&str>) -> bool {
    let Some(endpoint) = endpoint else {
        // AWS itself, over HTTPS.
        return true;
    };
    let Ok(url) = url::Url::parse(endpoint) else {
        return false;
    };
    match (url.scheme(), url.host()) {
        ("https", _) => true,
        (_, Some(url::Host::Domain(name))) => name.eq_ignore_ascii_case("localhost"),
        (_, Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        (_, Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        _ => false,
    }
}

impl S3Store {
    pub(crate) fn open(
        bucket: &str,
        endpoint: Option<&str>,
        region: Option<&str>,
        limits: StoreLimits,
        budget: Budget,
        locks: Arc<Vec<tokio::sync::Mutex<()>>>,
    ) -> Result<Self, ServerError> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(false)
            .with_unsigned_payload(payload_safe_unsigned(endpoint));
        if let Some(endpoint) = endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = region {
            builder = builder.with_region(region);
        }
        let store = Arc::new(builder.build().map_err(store_error)?);
        Ok(Self::with_store(store, limits, budget, locks))
    }

    /// Over any `object_store` (tests use the in-memory one).
    pub(crate) fn with_store(
        store: Arc<dyn ObjectStore>,
        limits: StoreLimits,
        budget: Budget,
        locks: Arc<Vec<tokio::sync::Mutex<()>>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                limits,
                budget,
                locks,
                etags: EtagTrust::default(),
            }),
        }
    }

    pub(crate) async fn exists(&self, object: &Located) -> Result<bool, ServerError> {
        let (path, _) = location(object);
        match self.inner.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }

    pub(crate) fn begin(
        &self,
        object: &Located,
        attributes: &ObjectAttributes,
        hint: Option<u64>,
    ) -> Upload {
        let limits = &self.inner.limits;
        let (path, hashed) = location(object);
        let one_put = hint.is_some_and(|h| h <= limits.s3_part_bytes as u64);
        let hashes = if one_put && self.inner.etags.leave_md5_to_store() {
            Hashing::Crc64(Box::default())
        } else {
            Hashing::Full(HashPipe::default())
        };
        Upload {
            store: Arc::clone(&self.inner),
            path,
            key: hashed.then(|| object.key.clone()),
            source: attributes.clone(),
            window: Window::new(
                self.inner.budget.clone(),
                limits.s3_part_bytes,
                limits.writes_in_flight,
                hint,
            ),
            hashes,
            part: Vec::new(),
            hold: None,
            multipart: None,
            parts: tokio::task::JoinSet::new(),
        }
    }

    pub(crate) async fn commit(
        &self,
        mut staged: Staged,
        object: &Located,
        meta: StoredMeta,
        no_overwrite: bool,
    ) -> Result<Committed, ServerError> {
        let given = ObjectAttributes {
            content_type: meta.content_type.clone(),
            metadata: meta.metadata.clone(),
        };
        if given != staged.source {
            return Err(ServerError::Store(
                "the object's attributes changed after its upload began".to_owned(),
            ));
        }
        // S3 has no create-only PUT that every store honours: check, then
        // put, under the key's lock (one process serves a bucket).
        let _guard = match no_overwrite {
            true => Some(
                self.inner
                    .locks
                    .get(object.shard())
                    .ok_or_else(|| ServerError::Store("no commit lock".to_owned()))?
                    .lock()
                    .await,
            ),
            false => None,
        };
        if no_overwrite && self.exists(object).await? {
            return Ok(Committed::AlreadyExists);
        }
        match std::mem::replace(&mut staged.body, Body::Done) {
            Body::Single { chunks, hold } => {
                let md5_hex = staged.md5_known.then(|| staged.digests.md5_hex());
                let attributes = encode_attributes(
                    &staged.source,
                    md5_hex,
                    Some(staged.digests.crc64),
                    staged.key.as_deref(),
                );
                let options = PutOptions {
                    mode: PutMode::Overwrite,
                    attributes,
                    ..PutOptions::default()
                };
                let payload: PutPayload = chunks.into_iter().collect();
                let put = self
                    .inner
                    .store
                    .put_opts(&staged.path, payload.clone(), options)
                    .await
                    .map_err(store_error)?;
                let answered = etag_md5(put.e_tag.as_deref());
                if staged.md5_known {
                    self.inner
                        .etags
                        .record(answered == Some(staged.digests.md5));
                } else if let Some(md5) = answered {
                    staged.digests.md5 = md5;
                } else {
                    // Stored, but its ETag is no MD5: hash the bytes still here.
                    self.inner.etags.record(false);
                    staged.digests.md5 =
                        tokio::task::spawn_blocking(move || md5_of(payload.as_ref()))
                            .await
                            .map_err(|e| ServerError::Store(format!("hashing failed: {e}")))?
                            .map_err(|e| ServerError::Store(e.to_string()))?;
                }
                staged.md5_known = true;
                drop(hold);
            }
            Body::Multipart(Some(mut upload)) => {
                if let Err(e) = upload.complete().await {
                    staged.body = Body::Multipart(Some(upload));
                    return Err(store_error(e));
                }
            }
            Body::Multipart(None) | Body::Done => {
                return Err(ServerError::Store("upload already committed".to_owned()));
            }
        }
        Ok(Committed::Stored(staged.digests))
    }

    pub(crate) async fn get(
        &self,
        object: &Located,
        head_only: bool,
    ) -> Result<Option<Fetched>, ServerError> {
        let (path, _) = location(object);
        let options = GetOptions::new().with_head(head_only);
        let result = match self.inner.store.get_opts(&path, options).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(store_error(e)),
        };
        let meta = decode_attributes(&object.key, &result.attributes, &result.meta);
        let size = result.meta.size;
        let last_modified = result.meta.last_modified;
        let body: Option<BoxStream<'static, io::Result<Bytes>>> = if head_only {
            None
        } else {
            Some(
                result
                    .into_stream()
                    .map(|chunk| chunk.map_err(io::Error::other))
                    .boxed(),
            )
        };
        Ok(Some(Fetched {
            meta,
            size,
            last_modified,
            body,
        }))
    }

    pub(crate) async fn list(&self, bucket: &str) -> Result<Vec<Listed>, ServerError> {
        let prefix = Path::from_iter([bucket]);
        let hashed_prefix = format!("{}/{HASHED}/", prefix.as_ref());
        let plain_prefix = format!("{}/", prefix.as_ref());
        let mut stream = self.inner.store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            let listed = item.map_err(store_error)?;
            let name = listed.location.as_ref();
            let key = if name.starts_with(&hashed_prefix) {
                match self
                    .inner
                    .store
                    .get_opts(&listed.location, GetOptions::new().with_head(true))
                    .await
                {
                    Ok(result) => match stored_key(&result.attributes) {
                        Some(key) => key,
                        None => continue,
                    },
                    // Replaced or removed while listing.
                    Err(_) => continue,
                }
            } else {
                match name.strip_prefix(&plain_prefix) {
                    Some(key) => key.to_owned(),
                    None => continue,
                }
            };
            out.push(Listed {
                key,
                size: listed.size,
                last_modified: postpolicy::format_timestamp(listed.last_modified),
            });
        }
        Ok(out)
    }
}

/// Where `object` is kept, and whether by hash.
pub(crate) fn location(object: &Located) -> (Path, bool) {
    let bucket = Path::from_iter([object.bucket.as_str()]);
    let full = format!("{}/{}", bucket.as_ref(), object.key);
    let plain = !object.key.starts_with(&format!("{HASHED}/"))
        && object.key != HASHED
        && full.len() <= MAX_S3_KEY_BYTES;
    if plain
        && let Ok(path) = Path::parse(&full)
        && path.as_ref() == full
    {
        return (path, false);
    }
    (
        Path::from_iter([object.bucket.as_str(), HASHED, object.hash.as_str()]),
        true,
    )
}

/// A header value S3 keeps as it is: printable ASCII that does not look
/// like an encoded word.
fn plain_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        && !value.starts_with("=?")
}

fn encode_value(value: &str) -> String {
    use base64::Engine as _;
    if plain_value(value) {
        value.to_owned()
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

fn decode_value(value: &str) -> String {
    use base64::Engine as _;
    let encoded = value
        .strip_prefix("=?UTF-8?B?")
        .and_then(|rest| rest.strip_suffix("?="));
    match encoded {
        Some(b64) => match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => value.to_owned(),
        },
        None => value.to_owned(),
    }
}

/// A metadata name S3 keeps as it is (it lower-cases names).
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        })
}

/// The S3 attributes of an object: its type, the form's headers, and (when
/// known) its MD5 (upper-case hex) and CRC-64 and, for a key kept by hash,
/// the key.
pub(crate) fn encode_attributes(
    source: &ObjectAttributes,
    md5_hex: Option<String>,
    crc64: Option<u64>,
    key: Option<&str>,
) -> Attributes {
    let mut attributes = Attributes::new();
    let content_type = source.content_type.as_deref().unwrap_or(DEFAULT_TYPE);
    attributes.insert(Attribute::ContentType, encode_value(content_type).into());
    for (name, value) in &source.metadata {
        let attribute = match name.as_str() {
            "cache-control" => Attribute::CacheControl,
            "content-disposition" => Attribute::ContentDisposition,
            "content-encoding" => Attribute::ContentEncoding,
            "content-language" => Attribute::ContentLanguage,
            other => match other.strip_prefix(USER_META) {
                Some(user) if !plain_name(user) => {
                    Attribute::Metadata(format!("{META_HEX}{}", hex::encode(user)).into())
                }
                Some(user) if user.starts_with(OURS) => {
                    Attribute::Metadata(format!("{META_RENAMED}{user}").into())
                }
                Some(user) => Attribute::Metadata(user.to_owned().into()),
                None if plain_name(other) => {
                    Attribute::Metadata(format!("{META_HEADER}{other}").into())
                }
                None => continue,
            },
        };
        attributes.insert(attribute, AttributeValue::from(encode_value(value)));
    }
    if let Some(md5_hex) = md5_hex {
        attributes.insert(Attribute::Metadata(META_ETAG.into()), md5_hex.into());
    }
    if let Some(crc64) = crc64 {
        attributes.insert(
            Attribute::Metadata(META_CRC64.into()),
            crc64.to_string().into(),
        );
    }
    if let Some(key) = key {
        let encoded =
            percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC);
        attributes.insert(
            Attribute::Metadata(META_KEY.into()),
            encoded.to_string().into(),
        );
    }
    attributes
}

fn stored_key(attributes: &Attributes) -> Option<String> {
    let value = attributes.get(&Attribute::Metadata(META_KEY.into()))?;
    Some(
        percent_encoding::percent_decode_str(value.as_ref())
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// What to answer with an object read back from its attributes.
pub(crate) fn decode_attributes(
    key: &str,
    attributes: &Attributes,
    object: &object_store::ObjectMeta,
) -> StoredMeta {
    let mut meta = StoredMeta {
        key: key.to_owned(),
        size: object.size,
        uploaded_at: postpolicy::format_timestamp(object.last_modified),
        ..StoredMeta::default()
    };
    let mut etag = None;
    for (attribute, value) in attributes {
        let value = value.as_ref();
        let header = match attribute {
            Attribute::ContentType => {
                meta.content_type = Some(decode_value(value));
                continue;
            }
            Attribute::CacheControl => "cache-control".to_owned(),
            Attribute::ContentDisposition => "content-disposition".to_owned(),
            Attribute::ContentEncoding => "content-encoding".to_owned(),
            Attribute::ContentLanguage => "content-language".to_owned(),
            Attribute::Metadata(name) => {
                let name = name.to_ascii_lowercase();
                if name == META_ETAG {
                    etag = Some(value.to_ascii_uppercase());
                    continue;
                }
                if name == META_CRC64 {
                    meta.crc64 = value.parse().ok();
                    continue;
                }
                if let Some(header) = name.strip_prefix(META_HEADER) {
                    header.to_owned()
                } else if let Some(user) = name.strip_prefix(META_RENAMED) {
                    format!("{USER_META}{user}")
                } else if let Some(hexed) = name.strip_prefix(META_HEX) {
                    match hex::decode(hexed) {
                        Ok(bytes) => format!("{USER_META}{}", String::from_utf8_lossy(&bytes)),
                        Err(_) => continue,
                    }
                } else if name.starts_with(OURS) {
                    continue;
                } else {
                    format!("{USER_META}{name}")
                }
            }
            _ => continue,
        };
        meta.metadata.push((header, decode_value(value)));
    }
    meta.metadata.sort();
    meta.etag = match etag {
        Some(md5) => format!("\"{md5}\""),
        // A multipart object, or one whose MD5 the store computed: the
        // store's own ETag, upper-cased as OSS writes it.
        None => object
            .e_tag
            .as_deref()
            .map(|e| format!("\"{}\"", e.trim_matches('"').to_ascii_uppercase()))
            .unwrap_or_default(),
    };
    meta
}

/// An upload into S3.
pub(crate) struct Upload {
    store: Arc<Inner>,
    path: Path,
    /// The key, when it is kept by hash.
    key: Option<String>,
    source: ObjectAttributes,
    window: Window,
    hashes: Hashing,
    /// The part being filled, and the reservation its bytes count against.
    part: Vec<Bytes>,
    hold: Option<Arc<Reservation>>,
    multipart: Option<Box<dyn MultipartUpload>>,
    parts: tokio::task::JoinSet<object_store::Result<()>>,
}

/// How an upload into S3 is hashed.
#[derive(Debug)]
enum Hashing {
    /// MD5 and CRC-64 here.
    Full(HashPipe),
    /// CRC-64 here; the MD5 is the store's ETag of the single PUT.
    Crc64(Box<Crc64Only>),
}

impl Default for Hashing {
    fn default() -> Self {
        Self::Crc64(Box::default())
    }
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("path", &self.path)
            .field("multipart", &self.multipart.is_some())
            .field("parts_in_flight", &self.parts.len())
            .finish_non_exhaustive()
    }
}

impl Upload {
    pub(crate) async fn write(&mut self, mut chunk: Bytes) -> Result<(), ServerError> {
        while !chunk.is_empty() {
            if self.window.unit_done() && !self.part.is_empty() {
                self.send_part().await?;
            }
            let (n, hold) = self.window.take(chunk.len()).await?;
            let piece = chunk.split_to(n);
            match &mut self.hashes {
                Hashing::Full(pipe) => pipe
                    .update(piece.clone(), Some(Arc::clone(&hold)))
                    .map_err(|e| ServerError::Store(e.to_string()))?,
                Hashing::Crc64(crc) => crc.update(&piece),
            }
            self.part.push(piece);
            self.hold = Some(hold);
        }
        Ok(())
    }

    /// Sends the filled part (starting the multipart upload with the first).
    async fn send_part(&mut self) -> Result<(), ServerError> {
        while let Some(done) = self.parts.try_join_next() {
            part_result(done)?;
        }
        if let Hashing::Crc64(_) = self.hashes {
            // Longer than its request said it could be (never, as hyper
            // holds the body to its length): a multipart upload needs its
            // MD5 here, from the first part, which is all still held.
            let mut pipe = HashPipe::default();
            for chunk in &self.part {
                pipe.update(chunk.clone(), self.hold.clone())
                    .map_err(|e| ServerError::Store(e.to_string()))?;
            }
            self.hashes = Hashing::Full(pipe);
        }
        if self.multipart.is_none() {
            let options = PutMultipartOptions {
                attributes: encode_attributes(&self.source, None, None, self.key.as_deref()),
                ..PutMultipartOptions::default()
            };
            let upload = self
                .store
                .store
                .put_multipart_opts(&self.path, options)
                .await
                .map_err(store_error)?;
            self.multipart = Some(upload);
        }
        let Some(upload) = self.multipart.as_mut() else {
            return Err(ServerError::Store("no multipart upload".to_owned()));
        };
        let payload: PutPayload = std::mem::take(&mut self.part).into_iter().collect();
        let hold = self.hold.take();
        let sending = upload.put_part(payload);
        self.parts.spawn(async move {
            let sent = sending.await;
            drop(hold);
            sent
        });
        self.window.close_unit();
        Ok(())
    }

    pub(crate) async fn finish(mut self) -> Result<Staged, ServerError> {
        if self.multipart.is_some() && !self.part.is_empty() {
            self.send_part().await?;
        }
        while let Some(done) = self.parts.join_next().await {
            part_result(done)?;
        }
        let (digests, md5_known) = match std::mem::take(&mut self.hashes) {
            Hashing::Full(pipe) => {
                let (hashes, _) = pipe
                    .finish()
                    .await
                    .map_err(|e| ServerError::Store(e.to_string()))?;
                let digests = hashes
                    .finish()
                    .map_err(|e| ServerError::Store(e.to_string()))?;
                (digests, true)
            }
            // The MD5 comes with the store's answer to the PUT.
            Hashing::Crc64(crc) => (crc.finish([0; 16]), false),
        };
        let body = match self.multipart.take() {
            Some(upload) => Body::Multipart(Some(upload)),
            None => Body::Single {
                chunks: std::mem::take(&mut self.part),
                hold: self.hold.take(),
            },
        };
        Ok(Staged {
            path: self.path.clone(),
            key: self.key.take(),
            source: std::mem::take(&mut self.source),
            digests,
            md5_known,
            body,
        })
    }
}

fn part_result(
    done: Result<object_store::Result<()>, tokio::task::JoinError>,
) -> Result<(), ServerError> {
    match done {
        Ok(sent) => sent.map_err(store_error),
        Err(e) => Err(ServerError::Store(format!("a part upload failed: {e}"))),
    }
}

/// Aborts a multipart upload that will not be completed, in the background.
fn abort_later(mut upload: Box<dyn MultipartUpload>) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = upload.abort().await;
        });
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        self.parts.abort_all();
        if let Some(upload) = self.multipart.take() {
            abort_later(upload);
        }
    }
}

/// A received upload of the S3 store.
pub(crate) struct Staged {
    path: Path,
    key: Option<String>,
    source: ObjectAttributes,
    /// Its MD5 only when `md5_known`; otherwise the store's ETag gives it at
    /// the commit.
    digests: Digests,
    md5_known: bool,
    body: Body,
}

enum Body {
    /// Sent with one PUT at the commit.
    Single {
        chunks: Vec<Bytes>,
        hold: Option<Arc<Reservation>>,
    },
    /// Every part sent; completed at the commit.
    Multipart(Option<Box<dyn MultipartUpload>>),
    Done,
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged")
            .field("path", &self.path)
            .field("digests", &self.digests)
            .finish_non_exhaustive()
    }
}

impl Staged {
    /// Its CRC-64 and size; its MD5 only once committed when the store
    /// computes it ([`EtagTrust`]): [`Committed::Stored`] has them all.
    pub(crate) fn digests(&self) -> Digests {
        self.digests
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Body::Multipart(Some(upload)) = std::mem::replace(&mut self.body, Body::Done) {
            abort_later(upload);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::Utc;
    use futures_util::stream::BoxStream;
    use object_store::memory::InMemory;
    use object_store::{CopyOptions, GetResult, ListResult, ObjectMeta, PutResult, UploadPart};

    use super::*;
    use crate::store::{Store, StoredMeta};

    /// The requests a store was asked for, by kind.
    #[derive(Debug, Default)]
    struct Counts {
        puts: usize,
        multipart_starts: usize,
        parts: usize,
        completes: usize,
        aborts: usize,
        copies: usize,
        deletes: usize,
    }

    #[derive(Debug)]
    struct Counting {
        inner: InMemory,
        counts: Arc<Mutex<Counts>>,
        etags: Arc<Mutex<Etags>>,
    }

    /// What the store answers as the ETag of a PUT.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Etags {
        /// The in-memory store's own: a counter, no MD5.
        Own,
        /// The MD5 of the bytes, as Garage answers.
        Md5,
        /// 32 hex digits that are not the MD5 (as with KMS).
        OtherHex,
        /// Something that is no MD5 at all.
        NotHex,
    }

    impl std::fmt::Display for Counting {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Counting({})", self.inner)
        }
    }

    #[derive(Debug)]
    struct CountingUpload {
        inner: Box<dyn MultipartUpload>,
        counts: Arc<Mutex<Counts>>,
    }

    #[async_trait]
    impl MultipartUpload for CountingUpload {
        fn put_part(&mut self, data: PutPayload) -> UploadPart {
            self.counts.lock().unwrap().parts += 1;
            self.inner.put_part(data)
        }
        async fn complete(&mut self) -> object_store::Result<PutResult> {
            self.counts.lock().unwrap().completes += 1;
            self.inner.complete().await
        }
        async fn abort(&mut self) -> object_store::Result<()> {
            self.counts.lock().unwrap().aborts += 1;
            self.inner.abort().await
        }
    }

    #[async_trait]
    impl ObjectStore for Counting {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            use md5::Digest as _;
            self.counts.lock().unwrap().puts += 1;
            let mut md5 = md5::Md5::new();
            for chunk in payload.iter() {
                md5.update(chunk);
            }
            let md5 = hex::encode(md5.finalize());
            let mut result = self.inner.put_opts(location, payload, opts).await?;
            match *self.etags.lock().unwrap() {
                Etags::Own => {}
                Etags::Md5 => result.e_tag = Some(format!("\"{md5}\"")),
                Etags::OtherHex => result.e_tag = Some(format!("\"{}\"", "ab".repeat(16))),
                Etags::NotHex => result.e_tag = Some("\"3858f62230ac3c91-1\"".to_owned()),
            }
            Ok(result)
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.counts.lock().unwrap().multipart_starts += 1;
            let inner = self.inner.put_multipart_opts(location, opts).await?;
            Ok(Box::new(CountingUpload {
                inner,
                counts: Arc::clone(&self.counts),
            }))
        }
        async fn get_opts(
            &self,
            location: &Path,
            options: GetOptions,
        ) -> object_store::Result<GetResult> {
            self.inner.get_opts(location, options).await
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<Path>>,
        ) -> BoxStream<'static, object_store::Result<Path>> {
            self.counts.lock().unwrap().deletes += 1;
            self.inner.delete_stream(locations)
        }
        fn list(
            &self,
            prefix: Option<&Path>,
        ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(
            &self,
            prefix: Option<&Path>,
        ) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(
            &self,
            from: &Path,
            to: &Path,
            options: CopyOptions,
        ) -> object_store::Result<()> {
            self.counts.lock().unwrap().copies += 1;
            self.inner.copy_opts(from, to, options).await
        }
    }

    const PART: usize = 16 * 1024;

    fn store() -> (Store, Arc<Mutex<Counts>>) {
        let (store, counts, _) = store_answering(Etags::Own);
        (store, counts)
    }

    fn store_answering(etags: Etags) -> (Store, Arc<Mutex<Counts>>, Arc<Mutex<Etags>>) {
        let counts = Arc::new(Mutex::new(Counts::default()));
        let etags = Arc::new(Mutex::new(etags));
        let inner = Arc::new(Counting {
            inner: InMemory::new(),
            counts: Arc::clone(&counts),
            etags: Arc::clone(&etags),
        });
        let limits = StoreLimits {
            memory_bytes: 4 * PART,
            s3_part_bytes: PART,
            ..StoreLimits::default()
        };
        let locks = Arc::new(
            (0..crate::store::COMMIT_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        );
        let budget = Budget::new(limits.memory_bytes);
        (
            Store::S3(S3Store::with_store(inner, limits, budget, locks)),
            counts,
            etags,
        )
    }

    fn attributes() -> ObjectAttributes {
        ObjectAttributes {
            content_type: Some("text/plain; charset=utf-8".into()),
            metadata: vec![
                ("cache-control".into(), "no-cache".into()),
                ("expires".into(), "Wed, 21 Oct 2037 07:28:00 GMT".into()),
                ("x-oss-meta-owner".into(), "42".into()),
                ("x-oss-meta-postpolicy-etag".into(), "not ours".into()),
                ("x-oss-meta-Mixed Case".into(), "é 日本".into()),
                ("x-oss-storage-class".into(), "IA".into()),
            ],
        }
    }

    /// Uploads `body` in chunks of 5,000 bytes; the stored meta as answered.
    async fn upload(store: &Store, key: &str, body: &[u8]) -> Result<StoredMeta, ServerError> {
        Ok(upload_seen(store, key, body).await?.0)
    }

    /// [`upload`], and whether its MD5 was computed here.
    async fn upload_seen(
        store: &Store,
        key: &str,
        body: &[u8],
    ) -> Result<(StoredMeta, bool), ServerError> {
        let object = Store::locate("photos", key).unwrap();
        let mut upload = store
            .begin(&object, &attributes(), Some(body.len() as u64 + 300))
            .await?;
        let hashed_here = match &upload {
            crate::store::Upload::S3(upload) => matches!(upload.hashes, Hashing::Full(_)),
            crate::store::Upload::Local(_) => unreachable!(),
        };
        for chunk in body.chunks(5000) {
            upload.write(Bytes::copy_from_slice(chunk)).await?;
        }
        let staged = upload.finish().await?;
        let meta = StoredMeta::new(key, &attributes(), &staged.digests(), Utc::now());
        match store.commit(staged, &object, meta, false).await? {
            Committed::Stored(digests) => Ok((
                StoredMeta::new(key, &attributes(), &digests, Utc::now()),
                hashed_here,
            )),
            Committed::AlreadyExists => panic!("{key} already exists"),
        }
    }

    /// The ETag and CRC-64 OSS would answer for `body`.
    fn oss_digests(body: &[u8]) -> (String, Option<u64>) {
        let mut hashes = crate::hashing::Hashes::default();
        hashes.update(body);
        let digests = hashes.finish().unwrap();
        (digests.etag(), Some(digests.crc64))
    }

    #[tokio::test]
    async fn the_stores_md5_etag_is_learnt_then_taken_and_audited() {
        let (store, _, _) = store_answering(Etags::Md5);
        let mut hashed_here = Vec::new();
        for i in 0..(TRUST_AFTER as usize + 2 * AUDIT_EVERY as usize) {
            let bytes = body(PART / 2 + i);
            let (meta, hashed) = upload_seen(&store, &format!("small/{i}"), &bytes)
                .await
                .unwrap();
            assert_eq!((meta.etag, meta.crc64), oss_digests(&bytes), "upload {i}");
            if hashed {
                hashed_here.push(i);
            }
        }
        // The first TRUST_AFTER, then one in AUDIT_EVERY.
        let first = TRUST_AFTER as usize;
        let audits: Vec<usize> = (first..first + 2 * AUDIT_EVERY as usize)
            .filter(|n| n % AUDIT_EVERY as usize == 0)
            .collect();
        assert_eq!(hashed_here, [(0..first).collect(), audits].concat());
        // A multipart upload is always hashed here (its ETag is no MD5).
        let bytes = body(3 * PART);
        let (meta, hashed) = upload_seen(&store, "large", &bytes).await.unwrap();
        assert!(hashed);
        assert_eq!((meta.etag, meta.crc64), oss_digests(&bytes));
        // Taken from the store, the MD5 is not stored again beside it.
        let (read_back, _) = read(&store, "small/5").await;
        assert_eq!(read_back.crc64, oss_digests(&body(PART / 2 + 5)).1);
    }

    #[tokio::test]
    async fn a_store_whose_etag_is_no_md5_is_never_trusted() {
        let (store, _) = store();
        for i in 0..(TRUST_AFTER as usize + AUDIT_EVERY as usize) {
            let bytes = body(100 + i);
            let (meta, hashed) = upload_seen(&store, &format!("k{i}"), &bytes).await.unwrap();
            assert!(hashed, "upload {i}");
            assert_eq!(meta.etag, oss_digests(&bytes).0);
            assert_eq!(read(&store, &format!("k{i}")).await.0.etag, meta.etag);
        }
    }

    #[tokio::test]
    async fn an_audit_that_disagrees_ends_the_trust() {
        let (store, _, etags) = store_answering(Etags::Md5);
        for i in 0..AUDIT_EVERY as usize {
            upload(&store, &format!("a{i}"), &body(200 + i))
                .await
                .unwrap();
        }
        // The bucket now encrypts with KMS: ETags are hex, but no MD5.
        *etags.lock().unwrap() = Etags::OtherHex;
        let mut audited = None;
        for i in 0..AUDIT_EVERY as usize {
            let bytes = body(300 + i);
            let (meta, hashed) = upload_seen(&store, &format!("b{i}"), &bytes).await.unwrap();
            if hashed {
                // The audit answers the MD5 computed here.
                assert_eq!(meta.etag, oss_digests(&bytes).0);
                audited = Some(i);
                break;
            }
        }
        assert!(audited.is_some(), "no audit within {AUDIT_EVERY} uploads");
        for i in 0..(2 * AUDIT_EVERY as usize) {
            let bytes = body(400 + i);
            let (meta, hashed) = upload_seen(&store, &format!("c{i}"), &bytes).await.unwrap();
            assert!(hashed, "upload {i} after the audit");
            assert_eq!(meta.etag, oss_digests(&bytes).0);
        }
    }

    #[tokio::test]
    async fn an_etag_that_is_no_md5_is_replaced_by_the_md5_of_the_bytes() {
        let (store, _, etags) = store_answering(Etags::Md5);
        for i in 0..(TRUST_AFTER as usize + 1) {
            upload(&store, &format!("a{i}"), &body(200 + i))
                .await
                .unwrap();
        }
        *etags.lock().unwrap() = Etags::NotHex;
        // Trusted and not audited: hashed after the PUT, from the bytes held.
        let bytes = body(PART - 1000);
        let (meta, hashed) = upload_seen(&store, "b", &bytes).await.unwrap();
        assert!(!hashed);
        assert_eq!((meta.etag, meta.crc64), oss_digests(&bytes));
        let (_, hashed) = upload_seen(&store, "c", &body(10)).await.unwrap();
        assert!(hashed);
    }

    async fn read(store: &Store, key: &str) -> (StoredMeta, Vec<u8>) {
        let object = Store::locate("photos", key).unwrap();
        let fetched = store.get(&object, false).await.unwrap().unwrap();
        let body: Vec<Bytes> = fetched.body.unwrap().map(|c| c.unwrap()).collect().await;
        (fetched.meta, body.concat())
    }

    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[tokio::test]
    async fn a_small_object_is_one_put_under_its_key_with_its_attributes() {
        let (store, counts) = store();
        let bytes = body(PART - 100);
        let sent = upload(&store, "user/1/a.txt", &bytes).await.unwrap();
        {
            let counts = counts.lock().unwrap();
            assert_eq!(
                (
                    counts.puts,
                    counts.multipart_starts,
                    counts.copies,
                    counts.deletes
                ),
                (1, 0, 0, 0),
                "{counts:?}"
            );
        }
        let (meta, got) = read(&store, "user/1/a.txt").await;
        assert_eq!(got, bytes);
        assert_eq!(meta.etag, sent.etag);
        assert_eq!(meta.crc64, sent.crc64);
        assert_eq!(meta.content_type, sent.content_type);
        let mut expected = attributes().metadata;
        expected.sort();
        assert_eq!(meta.metadata, expected);
        // Under its own key, readable by any S3 client.
        let Store::S3(s3) = &store else {
            unreachable!()
        };
        let raw = s3
            .inner
            .store
            .head(&Path::parse("photos/user/1/a.txt").unwrap())
            .await
            .unwrap();
        assert_eq!(raw.size, bytes.len() as u64);
    }

    #[tokio::test]
    async fn a_large_object_is_one_multipart_upload_straight_to_its_key() {
        let (store, counts) = store();
        let bytes = body(3 * PART + 777);
        let sent = upload(&store, "big.bin", &bytes).await.unwrap();
        {
            let counts = counts.lock().unwrap();
            assert_eq!(
                (
                    counts.puts,
                    counts.multipart_starts,
                    counts.parts,
                    counts.completes,
                    counts.copies,
                    counts.deletes
                ),
                (0, 1, 4, 1, 0, 0),
                "{counts:?}"
            );
        }
        let (meta, got) = read(&store, "big.bin").await;
        assert_eq!(got, bytes);
        assert_eq!(meta.content_type, sent.content_type);
        assert!(
            meta.metadata
                .contains(&("x-oss-meta-owner".into(), "42".into()))
        );
        // Its MD5 came after its attributes: the store's ETag is answered.
        assert!(!meta.etag.is_empty());
        assert_eq!(meta.crc64, None);
    }

    #[tokio::test]
    async fn a_dropped_upload_leaves_nothing() {
        let (store, counts) = store();
        let object = Store::locate("photos", "gone.bin").unwrap();
        let mut upload = store.begin(&object, &attributes(), None).await.unwrap();
        for chunk in body(3 * PART).chunks(5000) {
            upload.write(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        drop(upload);
        // The abort runs in the background.
        for _ in 0..100 {
            if counts.lock().unwrap().aborts == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(counts.lock().unwrap().aborts, 1);
        assert!(store.get(&object, true).await.unwrap().is_none());
        assert!(store.list("photos").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn keys_s3_cannot_hold_exactly_are_kept_by_hash_and_listed_as_given() {
        let (store, _) = store();
        let long = "k".repeat(1023);
        let keys = [
            "a",
            "a/",
            "a//b",
            "a/b",
            ".",
            "..",
            "x/./y",
            ".postpolicy/a",
            "tab\there",
            &long,
        ];
        for (i, key) in keys.iter().enumerate() {
            upload(&store, key, format!("object {i}").as_bytes())
                .await
                .unwrap();
        }
        for (i, key) in keys.iter().enumerate() {
            let (meta, got) = read(&store, key).await;
            assert_eq!(got, format!("object {i}").into_bytes(), "{key}");
            assert_eq!(meta.key, *key);
        }
        let mut listed: Vec<String> = store
            .list("photos")
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.key)
            .collect();
        let mut expected: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected);
        let plain = location(&Store::locate("photos", "a/b").unwrap());
        assert_eq!((plain.0.as_ref(), plain.1), ("photos/a/b", false));
        let hashed = location(&Store::locate("photos", "a/").unwrap());
        assert!(hashed.0.as_ref().starts_with("photos/.postpolicy/") && hashed.1);
    }

    #[tokio::test]
    async fn forbid_overwrite_keeps_the_first_object() {
        let (store, _) = store();
        upload(&store, "once.txt", b"first").await.unwrap();
        let object = Store::locate("photos", "once.txt").unwrap();
        let mut second = store
            .begin(&object, &attributes(), Some(100))
            .await
            .unwrap();
        second.write(Bytes::from_static(b"second")).await.unwrap();
        let staged = second.finish().await.unwrap();
        let meta = StoredMeta::new("once.txt", &attributes(), &staged.digests(), Utc::now());
        assert_eq!(
            store.commit(staged, &object, meta, true).await.unwrap(),
            Committed::AlreadyExists
        );
        assert_eq!(read(&store, "once.txt").await.1, b"first");
    }

    #[test]
    fn unsigned_payloads_only_where_nobody_can_change_them() {
        assert!(payload_safe_unsigned(None));
        assert!(payload_safe_unsigned(Some("https://s3.example.com")));
        assert!(payload_safe_unsigned(Some("http://127.0.0.1:3900")));
        assert!(payload_safe_unsigned(Some("http://localhost:3900")));
        assert!(payload_safe_unsigned(Some("http://[::1]:3900")));
        assert!(!payload_safe_unsigned(Some("http://10.0.0.5:3900")));
        assert!(!payload_safe_unsigned(Some("http://garage.internal:3900")));
    }
}
