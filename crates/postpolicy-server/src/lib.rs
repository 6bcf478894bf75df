//! postpolicy's local dev stack, `postpolicy serve`: the whole OSS form-upload
//! flow on one machine, with no cloud account.
//!
//! - An **OSS-compatible upload endpoint** (`POST /<bucket>`, path style, or
//!   `POST /` with a `<bucket>.…` Host header) that parses the multipart form
//!   with `multer`, judges it with the core [`postpolicy::Verifier`], streams
//!   the file into storage (a local folder, or any S3-compatible store through
//!   `object_store`) while enforcing the allowed size, hashing it on the way
//!   and holding its memory to [`StoreLimits`], commits it only when complete and
//!   accepted, answers like OSS (204/200/201 XML, redirects, error XML), serves
//!   objects back (`GET`/`HEAD /<bucket>/<key>`) and performs signed upload
//!   callbacks.
//! - A **demo application server** on its own port: an upload page, the
//!   signature endpoint (`/upload-token`), the callback receiver
//!   (`/callback`) and a listing (`/uploads`).
//!
//! No policy rule lives here: every accept/reject decision and every error
//! message comes from the core crate.
//!
//! `serve` is what a developer leaves running while browsing the web, so it
//! holds up like a public endpoint: pages of other origins get no CORS
//! access unless allowed ([`Config::cors_origins`]), callbacks go only to
//! allowed hosts ([`Config::callback_allow`]), every connection and form is
//! bounded ([`Limits`]), and it refuses to listen beyond loopback with the
//! built-in development key, whose secret is in this source.
//!
//! ```no_run
//! # async fn run() -> Result<(), postpolicy_server::ServerError> {
//! let server = postpolicy_server::start(postpolicy_server::Config::new()?).await?;
//! println!("upload page: {}", server.app_url());
//! server.wait().await;
//! # Ok(()) }
//! ```

mod callback;
mod conn;
mod cors;
mod demo;
mod facts;
pub mod form;
mod hashing;
mod log;
mod objects;
mod respond;
mod store;
mod upload;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use postpolicy::callback::CallbackSigner;
use postpolicy::{Credentials, Policy};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use conn::MAX_REQUEST_HEAD_BYTES;
pub use cors::normalize_origin;
pub use demo::CallbackRecord;
pub use store::{
    DEFAULT_LOCAL_WRITE_BYTES, DEFAULT_S3_PART_BYTES, DEFAULT_UPLOAD_MEMORY_BYTES,
    DEFAULT_WRITES_IN_FLIGHT, Listed, StoreLimits, StoreSpec,
};

/// The policy the demo application signs unless `--policy` names another.
pub const DEFAULT_POLICY: &str = include_str!("../default-policy.policy");

/// The built-in development access key id (not a real account).
pub const DEV_ACCESS_KEY_ID: &str = "postpolicy-dev";
const DEV_ACCESS_KEY_SECRET: &str = "postpolicy-dev-secret-not-for-production";

/// Where the upload endpoint publishes its callback public key.
pub const CALLBACK_KEY_PATH: &str = "/.well-known/postpolicy/callback_pub_key_v1.pem";

/// The built-in development credentials.
pub fn dev_credentials() -> Result<Credentials, ServerError> {
    Ok(Credentials::new(
        DEV_ACCESS_KEY_ID,
        DEV_ACCESS_KEY_SECRET,
        None,
    )?)
}

/// Connections served at once per port; more wait in the backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Time a client has to send a request line and its headers (nginx and
/// Apache use 10-60 s).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest pause in a request body, or in reading an answer.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Most bytes of a rejected upload read and discarded so that the browser,
/// still sending, sees the answer rather than a reset connection.
pub const DEFAULT_DRAIN_BYTES: u64 = 64 * 1024 * 1024;
/// Longest time spent on that.
pub const DEFAULT_DRAIN_TIME: Duration = Duration::from_secs(15);

/// The bounds of every connection and request (both ports).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]; also how long an idle keep-alive
    /// connection is kept.
    pub header_read_timeout: Duration,
    /// [`DEFAULT_IDLE_TIMEOUT`]: a body that pauses this long is answered
    /// `RequestTimeout`; a client that reads nothing of the answer this long
    /// is dropped.
    pub idle_timeout: Duration,
    /// [`DEFAULT_DRAIN_BYTES`].
    pub drain_bytes: u64,
    /// [`DEFAULT_DRAIN_TIME`].
    pub drain_time: Duration,
    /// The multipart form's bounds.
    pub form: form::FormLimits,
    /// The upload memory the store may hold, per upload and in total.
    pub store: StoreLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            drain_bytes: DEFAULT_DRAIN_BYTES,
            drain_time: DEFAULT_DRAIN_TIME,
            form: form::FormLimits::default(),
            store: StoreLimits::default(),
        }
    }
}

/// Everything `postpolicy serve` can be told.
#[derive(Debug)]
pub struct Config {
    /// Listen address (default 127.0.0.1).
    pub host: IpAddr,
    /// Port of the OSS-compatible endpoint (0: any free port).
    pub oss_port: u16,
    /// Port of the demo application (0: any free port).
    pub app_port: u16,
    pub bucket: String,
    pub region: String,
    pub store: StoreSpec,
    pub credentials: Credentials,
    /// The demo application's policy.
    pub policy: Policy,
    /// The callback signing key; `None` generates one at start.
    pub callback_signer: Option<CallbackSigner>,
    /// How long a callback may take (OSS: 5 s).
    pub callback_timeout: Duration,
    /// Print one line per request to stderr.
    pub log_requests: bool,
    /// Origins whose pages may read the endpoint's answers (CORS), each
    /// `scheme://host[:port]` or `*`; `None`: the demo application's own
    /// origin only, like a bucket whose one CORS rule names it.
    pub cors_origins: Option<Vec<String>>,
    /// Where upload callbacks may be sent, each `HOST[:PORT]` (without a
    /// port: the callback URL scheme's default port); `None`: the demo
    /// application only. A `callbackHost` is sent only when it names one of
    /// these hosts.
    pub callback_allow: Option<Vec<String>>,
    /// Origins whose pages may fetch upload tokens from the demo
    /// application (`GET /upload-token`), each `scheme://host[:port]` or
    /// `*`: a front end served from another port (a Vite or Next.js dev
    /// server). An exact origin may send its cookies. Empty: the demo's own
    /// page only.
    pub app_cors_origins: Vec<String>,
    pub limits: Limits,
    /// Judge Google Cloud Storage V4 forms signed with these credentials at
    /// `POST /<bucket>`, instead of OSS forms (`serve --dialect gcs`). The
    /// demo application still signs OSS forms.
    pub gcs: Option<postpolicy::GcsCredentials>,
}

impl Config {
    /// The defaults: 127.0.0.1, endpoint on 9090, demo on 8080, bucket
    /// `postpolicy-dev` in `cn-hangzhou`, objects under `./postpolicy-data`,
    /// the built-in development credentials and the default policy.
    pub fn new() -> Result<Self, ServerError> {
        let policy = Policy::parse(DEFAULT_POLICY)
            .map_err(|e| ServerError::Config(format!("default policy: {e}")))?;
        Ok(Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            oss_port: 9090,
            app_port: 8080,
            bucket: "postpolicy-dev".to_owned(),
            region: "cn-hangzhou".to_owned(),
            store: StoreSpec::Local("postpolicy-data".into()),
            credentials: dev_credentials()?,
            policy,
            callback_signer: None,
            callback_timeout: Duration::from_secs(5),
            log_requests: false,
            cors_origins: None,
            callback_allow: None,
            app_cors_origins: Vec::new(),
            limits: Limits::default(),
            gcs: None,
        })
    }
}

/// Why the dev stack could not start or an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("{0}")]
    Config(String),
    #[error(
        "refusing to listen on {host} with the built-in development key: its secret is public (it is in postpolicy's source), and {host} is reachable from other machines. Set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET to credentials of your own, or listen on 127.0.0.1"
    )]
    DevKeyBeyondLoopback { host: IpAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("storage: {0}")]
    Store(String),
    #[error(transparent)]
    Signature(#[from] postpolicy::SignatureError),
    #[error(transparent)]
    Callback(#[from] postpolicy::callback::CallbackError),
}

/// A running dev stack. Dropping it does not stop it; call
/// [`Server::shutdown`].
#[derive(Debug)]
pub struct Server {
    oss_addr: SocketAddr,
    app_addr: SocketAddr,
    bucket: String,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    demo: Arc<demo::Demo>,
    cors_origins: Vec<String>,
    app_cors_origins: Vec<String>,
    callback_allow: Vec<String>,
}

impl Server {
    pub fn oss_addr(&self) -> SocketAddr {
        self.oss_addr
    }

    pub fn app_addr(&self) -> SocketAddr {
        self.app_addr
    }

    /// `http://127.0.0.1:PORT`, the endpoint's origin.
    pub fn oss_origin(&self) -> String {
        format!("http://{}", self.oss_addr)
    }

    /// `http://127.0.0.1:PORT/<bucket>`, where forms are posted.
    pub fn upload_url(&self) -> String {
        format!("http://{}/{}", self.oss_addr, self.bucket)
    }

    /// `http://127.0.0.1:PORT/`, the demo page.
    pub fn app_url(&self) -> String {
        format!("http://{}/", self.app_addr)
    }

    /// The origins allowed by CORS (`*` for any).
    pub fn cors_origins(&self) -> &[String] {
        &self.cors_origins
    }

    /// The origins allowed to fetch upload tokens from the demo application.
    pub fn app_cors_origins(&self) -> &[String] {
        &self.app_cors_origins
    }

    /// Where callbacks may be sent (`HOST[:PORT]`).
    pub fn callback_allow(&self) -> &[String] {
        &self.callback_allow
    }

    /// The callbacks the demo application has received and verified.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.demo.records()
    }

    /// Stops accepting connections and waits for both servers to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Runs until both servers end (they end on [`Server::shutdown`] only).
    pub async fn wait(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// True for the built-in development credentials.
fn is_dev_key(credentials: &Credentials) -> bool {
    credentials.access_key_id() == DEV_ACCESS_KEY_ID
        && credentials.secret().expose() == DEV_ACCESS_KEY_SECRET
}

/// True for addresses only this machine can reach.
fn is_loopback(host: IpAddr) -> bool {
    host.to_canonical().is_loopback()
}

/// Binds both ports and starts serving.
pub async fn start(config: Config) -> Result<Server, ServerError> {
    if config.bucket.starts_with('.') {
        return Err(ServerError::Config(format!(
            "invalid bucket name `{}`",
            config.bucket
        )));
    }
    if !is_loopback(config.host) && is_dev_key(&config.credentials) {
        return Err(ServerError::DevKeyBeyondLoopback { host: config.host });
    }
    let oss_listener = bind(SocketAddr::new(config.host, config.oss_port)).await?;
    let app_listener = bind(SocketAddr::new(config.host, config.app_port)).await?;
    let oss_addr = local_addr(&oss_listener)?;
    let app_addr = local_addr(&app_listener)?;

    let store = store::Store::open(&config.store, &config.limits.store)?;
    let signer = match config.callback_signer {
        Some(signer) => signer,
        None => generate_callback_signer()?,
    };
    let oss_origin = format!("http://{oss_addr}");
    let app_origin = format!("http://{app_addr}");
    let key_url = format!("{oss_origin}{CALLBACK_KEY_PATH}");
    let callback_allow = config
        .callback_allow
        .clone()
        .unwrap_or_else(|| vec![app_addr.to_string()]);
    let allowed = callback::AllowList::parse(&callback_allow)?;
    let cors_origins = config
        .cors_origins
        .clone()
        .unwrap_or_else(|| vec![app_origin.clone()]);
    let cors = cors::Cors::parse(&cors_origins)?;
    let app_cors = cors::Cors::parse_for("--app-cors-origin", &config.app_cors_origins)?;
    let sender = callback::Sender::new(
        signer,
        key_url.clone(),
        config.callback_timeout,
        allowed,
        config.log_requests,
    )?;

    let oss_state = Arc::new(upload::Oss::new(upload::OssConfig {
        bucket: &config.bucket,
        region: &config.region,
        credentials: &config.credentials,
        gcs: config.gcs.as_ref(),
        store: store.clone(),
        callbacks: sender,
        cors,
        limits: config.limits.clone(),
        log: config.log_requests,
    }));
    let upload_url = format!("{oss_origin}/{}", config.bucket);
    let demo = Arc::new(demo::Demo::new(demo::DemoConfig {
        credentials: config.credentials,
        region: config.region,
        bucket: config.bucket.clone(),
        upload_url,
        oss_origin: oss_origin.clone(),
        app_origin,
        policy: config.policy,
        key_url_prefix: format!("{oss_origin}/.well-known/postpolicy/"),
        store,
        log_requests: config.log_requests,
        cors: app_cors,
    })?);

    let (stop, stopped) = watch::channel(false);
    let oss_app = upload::router(oss_state);
    let demo_app = demo::router(Arc::clone(&demo)).layer(axum::middleware::from_fn_with_state(
        config.limits.idle_timeout,
        conn::idle_bodies,
    ));
    let limits = config.limits;
    let tasks = vec![
        tokio::spawn(conn::serve(
            oss_listener,
            oss_app,
            limits.clone(),
            stopped.clone(),
        )),
        tokio::spawn(conn::serve(app_listener, demo_app, limits, stopped)),
    ];
    Ok(Server {
        oss_addr,
        app_addr,
        bucket: config.bucket,
        stop,
        tasks,
        demo,
        cors_origins,
        app_cors_origins: config.app_cors_origins,
        callback_allow,
    })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr, ServerError> {
    listener
        .local_addr()
        .map_err(|e| ServerError::Config(format!("cannot read the listening address: {e}")))
}

/// A fresh 1024-bit callback signing key (OSS's own is 512 bits).
pub fn generate_callback_signer() -> Result<CallbackSigner, ServerError> {
    use rand_core::RngCore as _;
    Ok(CallbackSigner::generate(1024, |bytes| {
        rand_core::OsRng.fill_bytes(bytes)
    })?)
}

/// `bytes` random bytes as lower-case hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    use rand_core::RngCore as _;
    let mut buf = vec![0u8; bytes];
    rand_core::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// An OSS-style request id: 24 upper-case hex digits.
pub(crate) fn request_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let secs = chrono::Utc::now().timestamp() as u32;
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{secs:08X}{count:08X}{}",
        random_hex(4).to_ascii_uppercase()
    )
}
