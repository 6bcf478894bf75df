//! `postpolicy serve`: the dev stack.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::ValueEnum;
use postpolicy::callback::CallbackSigner;
use postpolicy::{Credentials, GcsCredentials};
use postpolicy_server::{Config, StoreSpec};

use crate::input::load_policy;
use crate::{Exit, Failure, Outcome};

/// Which service's forms the endpoint judges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum ServeDialect {
    #[default]
    Oss,
    Gcs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on. Anything but loopback needs your own
    /// credentials (OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET): the built-in
    /// development key's secret is public.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port of the demo application (upload page); 0 picks a free port.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Port of the OSS-compatible endpoint; 0 picks a free port.
    #[arg(long, default_value_t = 9090)]
    oss_port: u16,
    #[arg(long, default_value = "postpolicy-dev")]
    bucket: String,
    /// `oss`, or `gcs`: the endpoint judges Google Cloud Storage V4 forms at
    /// POST /<bucket> (keys: GOOGLE_APPLICATION_CREDENTIALS or
    /// GCS_HMAC_ACCESS_ID / GCS_HMAC_SECRET, else the development key as an
    /// HMAC key). The demo page still signs OSS forms; sign GCS forms with
    /// `postpolicy sign --dialect gcs --endpoint <endpoint origin>`.
    #[arg(long, value_enum, default_value_t)]
    dialect: ServeDialect,
    #[arg(long, default_value = "cn-hangzhou")]
    region: String,
    /// Folder the objects are stored in.
    #[arg(long, default_value = "postpolicy-data")]
    data_dir: PathBuf,
    /// Store objects elsewhere: s3://bucket?endpoint=…&region=… (credentials
    /// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Overrides --data-dir.
    #[arg(long)]
    store: Option<String>,
    /// The policy the demo application signs (DSL or JSON).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// PEM private key that signs callbacks (default: a new key at each start).
    #[arg(long)]
    callback_key: Option<PathBuf>,
    /// An origin whose pages may read the endpoint's answers (CORS), such as
    /// https://app.example.com, or `*` for any; repeatable. Default: the demo
    /// application's own origin only.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// An origin whose pages may fetch upload tokens from the demo
    /// application (`GET /upload-token`), such as a front-end dev server
    /// on http://localhost:5173, or `*`; repeatable. An exact origin may
    /// send its cookies. Default: the demo's own page only.
    #[arg(long = "app-cors-origin", value_name = "ORIGIN")]
    app_cors_origins: Vec<String>,
    /// A host callbacks may be sent to, HOST or HOST:PORT (without a port:
    /// the URL scheme's default port); repeatable. Default: the demo
    /// application only. Other callback URLs fail as unreachable ones do.
    #[arg(long = "callback-allow", value_name = "HOST[:PORT]")]
    callback_allow: Vec<String>,
    /// Do not log requests.
    #[arg(long)]
    quiet: bool,
}

pub(crate) fn run(args: Args) -> Outcome {
    let mut config = Config::new()?;
    config.host = args.host;
    config.app_port = args.port;
    config.oss_port = args.oss_port;
    config.bucket = args.bucket.clone();
    config.region = args.region.clone();
    config.store = match &args.store {
        Some(spec) => StoreSpec::parse(spec)?,
        None => StoreSpec::Local(args.data_dir.clone()),
    };
    let from_env = Credentials::from_env().transpose()?;
    let credentials_note = match &from_env {
        Some(c) => format!("{} (from the environment)", c.access_key_id()),
        None => format!(
            "built-in development key {} (set OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET to use your own)",
            postpolicy_server::DEV_ACCESS_KEY_ID
        ),
    };
    if let Some(credentials) = from_env {
        config.credentials = credentials;
    }
    let gcs_note = match args.dialect {
        ServeDialect::Oss => None,
        ServeDialect::Gcs => {
            let credentials = match GcsCredentials::from_env().transpose()? {
                Some(credentials) => credentials,
                None => GcsCredentials::Hmac(postpolicy_server::dev_credentials()?),
            };
            let note = format!("{} ({})", credentials.access_id(), credentials.algorithm());
            config.gcs = Some(credentials);
            Some(note)
        }
    };
    if let Some(path) = &args.policy {
        let text = crate::read_arg(path)?;
        let name = path.display().to_string();
        let policy = load_policy(&name, &text)?;
        // Errors would make every token fail; warnings are the author's call
        // (the demo adds the key condition itself).
        let errors: Vec<_> = postpolicy::lint::lint(&policy, chrono::Utc::now())
            .into_iter()
            .filter(|d| d.severity == postpolicy::Severity::Error)
            .collect();
        if !errors.is_empty() {
            for diagnostic in &errors {
                eprintln!("{}", crate::input::render_lint(&name, &text, diagnostic));
            }
            return Err(Failure(format!(
                "{name}: {} error(s); fix the policy (see `postpolicy check {name}`)",
                errors.len()
            )));
        }
        config.policy = policy;
    }
    if let Some(path) = &args.callback_key {
        let pem = crate::read_arg(path)?;
        config.callback_signer = Some(CallbackSigner::from_pem(&pem)?);
    }
    config.log_requests = !args.quiet;
    if !args.cors_origins.is_empty() {
        config.cors_origins = Some(args.cors_origins.clone());
    }
    config.app_cors_origins = args.app_cors_origins.clone();
    if !args.callback_allow.is_empty() {
        config.callback_allow = Some(args.callback_allow.clone());
    }
    let store_note = config.store.to_string();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let server = postpolicy_server::start(config).await?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "postpolicy serve: the OSS form-upload flow on this machine"
        )?;
        writeln!(out, "  upload page    {}", server.app_url())?;
        match &gcs_note {
            None => writeln!(
                out,
                "  OSS endpoint   {}  (region {})",
                server.upload_url(),
                args.region
            )?,
            Some(key) => writeln!(
                out,
                "  GCS endpoint   {}/  (V4 forms signed by {key}; sign with --dialect gcs --endpoint {})",
                server.upload_url(),
                server.oss_origin()
            )?,
        }
        writeln!(
            out,
            "  callback key   {}{}",
            server.oss_origin(),
            postpolicy_server::CALLBACK_KEY_PATH
        )?;
        writeln!(out, "  storage        {store_note}")?;
        writeln!(
            out,
            "  CORS origins   {}  (--cors-origin)",
            server.cors_origins().join(" ")
        )?;
        if !server.app_cors_origins().is_empty() {
            writeln!(
                out,
                "  token CORS     {}  (--app-cors-origin)",
                server.app_cors_origins().join(" ")
            )?;
        }
        writeln!(
            out,
            "  callbacks to   {}  (--callback-allow)",
            server.callback_allow().join(" ")
        )?;
        writeln!(out, "  credentials    {credentials_note}")?;
        writeln!(out, "Press Ctrl-C to stop.")?;
        out.flush()?;
        drop(out);
        shutdown_signal().await;
        eprintln!("postpolicy serve: stopping");
        server.shutdown().await;
        Ok::<_, Failure>(())
    })?;
    Ok(Exit::Ok)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
