//! Shared helpers: start the dev stack on free ports over a fresh folder,
//! sign forms and post them as a browser would.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use postpolicy::callback::CallbackSigner;
use postpolicy::{OssSigner, Policy, SignOptions, SignedForm};
use postpolicy_server::{Config, Server, StoreSpec};

/// The throw-away callback key of the shared vectors (no key generation per test).
pub fn test_signer() -> CallbackSigner {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/oss-signatures.json"),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn find(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::Object(map) => map
                .get("private_key_pem")
                .and_then(|p| p.as_str().map(str::to_owned))
                .or_else(|| map.values().find_map(find)),
            serde_json::Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    CallbackSigner::from_pem(&find(&json).unwrap()).unwrap()
}

pub struct Stack {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new().unwrap();
        config.oss_port = 0;
        config.app_port = 0;
        config.store = StoreSpec::Local(dir.path().to_owned());
        config.callback_signer = Some(test_signer());
        config.callback_timeout = Duration::from_secs(5);
        configure(&mut config);
        let server = postpolicy_server::start(config).await.unwrap();
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            server,
            dir,
            client,
        }
    }

    pub fn signer(&self) -> OssSigner {
        OssSigner::new(
            postpolicy_server::dev_credentials().unwrap(),
            "cn-hangzhou",
            "postpolicy-dev",
        )
        .unwrap()
        .with_endpoint(&self.server.upload_url())
        .unwrap()
    }

    /// Signs `dsl` with `options` at `now`.
    pub fn sign_at(&self, dsl: &str, options: &SignOptions, now: DateTime<Utc>) -> SignedForm {
        let policy = Policy::parse(dsl).unwrap();
        self.signer().sign_with(&policy, options, now).unwrap()
    }

    pub fn sign(&self, dsl: &str, key: &str) -> SignedForm {
        self.sign_at(dsl, &SignOptions::default().key(key), Utc::now())
    }

    /// Posts `fields` then the file part (name, type, bytes) to the form's URL.
    pub async fn post(
        &self,
        url: &str,
        fields: &[(String, String)],
        file: Option<(&str, &str, Vec<u8>)>,
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.clone(), value.clone());
        }
        if let Some((filename, content_type, bytes)) = file {
            let part = reqwest::multipart::Part::bytes(bytes)
                .file_name(filename.to_owned())
                .mime_str(content_type)
                .unwrap();
            form = form.part("file", part);
        }
        self.client.post(url).multipart(form).send().await.unwrap()
    }

    /// Uploads `bytes` with the signed form (plus `extra` fields before the file).
    pub async fn upload(
        &self,
        form: &SignedForm,
        extra: &[(&str, &str)],
        filename: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let mut fields = form.fields.to_vec();
        fields.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        self.post(&form.url, &fields, Some((filename, "text/plain", bytes)))
            .await
    }

    pub fn object_url(&self, key: &str) -> String {
        format!("{}/{key}", self.server.upload_url())
    }

    /// Every file under the data folder (objects, sidecars, temporaries).
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out.sort();
        out
    }

    /// The records of the bucket's objects (one per stored object).
    pub fn objects(&self) -> Vec<PathBuf> {
        let bucket = self.dir.path().join("postpolicy-dev").join("keys");
        self.files()
            .into_iter()
            .filter(|p| p.starts_with(&bucket))
            .collect()
    }
}

/// Reads `<Tag>…</Tag>` from an XML body.
pub fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].to_owned())
}

/// The OSS ETag of `bytes`: quoted upper-case hex MD5.
pub fn etag_of(bytes: &[u8]) -> String {
    use md5::Digest as _;
    format!("\"{}\"", hex::encode_upper(md5::Md5::digest(bytes)))
}
