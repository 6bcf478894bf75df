//! `postpolicy sign FILE --bucket B --region R` (`--dialect gcs`: no region):
//! the signed form as JSON, an HTML page or a curl command.

use std::path::PathBuf;

use chrono::Utc;
use clap::ValueEnum;
use postpolicy::callback::{BodyType, CallbackSpec};
use postpolicy::{
    Credentials, GcsCredentials, GcsSigner, OssSigner, OssVersion, S3Signer, Severity, SignOptions,
    SignedForm,
};
use quick_xml::escape::escape as xml_escape;

use crate::input::{load_policy_with, parse_param, render_lint};
use crate::{Exit, Failure, Outcome, read_arg};

/// The body OSS posts to `--callback-url` unless `--callback-body` says otherwise.
const DEFAULT_CALLBACK_BODY: &str =
    "bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
enum SignFormat {
    /// The JSON token a browser helper takes.
    #[default]
    Json,
    /// A ready HTML page with the `<form>`.
    Html,
    /// A curl command that uploads `--file`.
    Curl,
}

/// Which service the form is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Dialect {
    /// Alibaba Cloud OSS PostObject (V4 by default, `--v1` for V1).
    #[default]
    Oss,
    /// S3 presigned POST (SigV4): AWS S3, MinIO, Garage, R2, …; credentials
    /// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
    S3,
    /// Google Cloud Storage V4 POST policy: a service account key file named
    /// by GOOGLE_APPLICATION_CREDENTIALS (GOOG4-RSA-SHA256), or an HMAC key
    /// from GCS_HMAC_ACCESS_ID / GCS_HMAC_SECRET (GOOG4-HMAC-SHA256).
    Gcs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The policy: DSL, JSON or base64 (`-` reads standard input).
    file: PathBuf,
    /// A value for the DSL's `{NAME}` placeholder (repeatable): taken as a
    /// value, never as policy text.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, String)>,
    /// `oss`, `s3` or `gcs`.
    #[arg(long, value_enum, default_value_t)]
    dialect: Dialect,
    /// S3 only: post to `<endpoint>/<bucket>` instead of `<bucket>.<endpoint>`.
    #[arg(long)]
    path_style: bool,
    #[arg(long)]
    bucket: String,
    /// Region id, e.g. cn-hangzhou (an `oss-` prefix is allowed); OSS and S3
    /// only (a GCS credential names no region).
    #[arg(long)]
    region: Option<String>,
    /// Post somewhere else: an http(s) URL used as is (CNAME, local endpoint),
    /// or an endpoint host the bucket is prefixed to. GCS: the XML API
    /// endpoint path-style and virtual-hosted URLs use.
    #[arg(long)]
    endpoint: Option<String>,
    /// GCS only: `path` (default), `virtual-hosted` or `bucket-bound`.
    #[arg(long)]
    url_style: Option<String>,
    /// GCS only: the host name bound to the bucket (a CNAME or load
    /// balancer), `cdn.example.com` or `http://cdn.example.com`.
    #[arg(long)]
    bound_hostname: Option<String>,
    /// GCS only: `https` (default) or `http`.
    #[arg(long)]
    scheme: Option<String>,
    /// Sign with the legacy V1 signature (HMAC-SHA1) instead of V4.
    #[arg(long)]
    v1: bool,
    /// The object key, or a template ending in `${filename}`.
    #[arg(long)]
    key_template: Option<String>,
    /// Callback URL (repeat for up to 5, tried in order).
    #[arg(long = "callback-url")]
    callback_urls: Vec<String>,
    /// Callback body template.
    #[arg(long, default_value = DEFAULT_CALLBACK_BODY)]
    callback_body: String,
    /// Send the callback body as JSON instead of form-urlencoded.
    #[arg(long)]
    callback_json: bool,
    /// A custom callback variable `x:name=value` (repeatable).
    #[arg(long = "callback-var", value_parser = parse_var)]
    callback_vars: Vec<(String, String)>,
    /// `json`, `html` or `curl`.
    #[arg(long, value_enum, default_value_t)]
    format: SignFormat,
    /// The file the curl command uploads.
    #[arg(long, default_value = "./file")]
    file_to_upload: String,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{text}`: expected x:name=value"))
}

pub(crate) fn run(args: &Args) -> Outcome {
    let source = read_arg(&args.file)?;
    let name = args.file.display().to_string();
    let policy = load_policy_with(&name, &source, &args.params)?;
    let now = Utc::now();
    let mut errors = 0;
    // Linted as signed: the key condition of --key-template included.
    let key = args.key_template.as_deref();
    for diagnostic in postpolicy::lint::lint_with_key(&policy, key, now) {
        if diagnostic.severity == Severity::Error {
            errors += 1;
        }
        eprintln!("{}", render_lint(&name, &source, &diagnostic));
    }
    if errors > 0 {
        eprintln!("{name}: not signed, {errors} error(s)");
        return Ok(Exit::Errors);
    }
    let options = sign_options(args)?;
    let gcs_only =
        args.url_style.is_some() || args.bound_hostname.is_some() || args.scheme.is_some();
    if gcs_only && args.dialect != Dialect::Gcs {
        return Err(Failure(
            "--url-style, --bound-hostname and --scheme are for --dialect gcs".to_owned(),
        ));
    }
    let region = || {
        args.region.as_deref().ok_or_else(|| {
            Failure(
                "--region is required for OSS and S3 forms (e.g. cn-hangzhou, us-east-1)"
                    .to_owned(),
            )
        })
    };
    let form = match args.dialect {
        Dialect::Oss => {
            let credentials = match Credentials::from_env() {
                Some(credentials) => credentials?,
                None => {
                    return Err(Failure(
                        "no credentials: set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET (and OSS_SESSION_TOKEN for STS), or the ALIBABA_CLOUD_* names".to_owned(),
                    ));
                }
            };
            let mut signer = OssSigner::new(credentials, region()?, &args.bucket)?;
            if let Some(endpoint) = &args.endpoint {
                signer = signer.with_endpoint(endpoint)?;
            }
            if args.v1 {
                signer = signer.with_version(OssVersion::V1);
            }
            signer.sign_with(&policy, &options, now)?
        }
        Dialect::S3 => {
            if args.v1 || !args.callback_urls.is_empty() {
                return Err(Failure(
                    "--v1 and --callback-url are OSS features; S3 forms have neither".to_owned(),
                ));
            }
            let credentials = match s3_credentials_from_env() {
                Some(credentials) => credentials?,
                None => {
                    return Err(Failure(
                        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for STS)".to_owned(),
                    ));
                }
            };
            let mut signer = S3Signer::new(credentials, region()?, &args.bucket)?;
            if let Some(endpoint) = &args.endpoint {
                signer = signer.with_endpoint(endpoint)?;
            }
            if args.path_style {
                signer = signer.with_path_style(true);
            }
            signer.sign_with(&policy, &options, now)?
        }
        Dialect::Gcs => gcs_signer(args)?.sign_with(&policy, &options, now)?,
    };
    match args.format {
        SignFormat::Json => {
            let value: serde_json::Value = serde_json::from_str(&form.to_json())?;
            println!("{value:#}");
        }
        SignFormat::Html => print!("{}", html(&form)),
        SignFormat::Curl => println!("{}", curl(&form, &args.file_to_upload)),
    }
    Ok(Exit::Ok)
}

/// The GCS signer the arguments and the environment describe.
fn gcs_signer(args: &Args) -> Result<GcsSigner, Failure> {
    if args.v1 || !args.callback_urls.is_empty() || args.path_style || args.region.is_some() {
        return Err(Failure(
            "--v1, --callback-url, --path-style and --region are not for GCS forms (use --url-style)"
                .to_owned(),
        ));
    }
    let credentials = GcsCredentials::from_env().ok_or_else(|| {
        Failure(
            "no credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, or GCS_HMAC_ACCESS_ID and GCS_HMAC_SECRET to an HMAC key".to_owned(),
        )
    })??;
    let signer = GcsSigner::new(credentials, &args.bucket)?.with_url_options(
        args.url_style.as_deref(),
        args.bound_hostname.as_deref(),
        args.scheme.as_deref(),
        args.endpoint.as_deref(),
    )?;
    Ok(signer)
}

/// S3 credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
/// AWS_SESSION_TOKEN; `None` when they are not set.
pub(crate) fn s3_credentials_from_env() -> Option<Result<Credentials, postpolicy::SignatureError>> {
    let aws = |name: &str| {
        let aws_name = match name {
            "OSS_ACCESS_KEY_ID" => "AWS_ACCESS_KEY_ID",
            "OSS_ACCESS_KEY_SECRET" => "AWS_SECRET_ACCESS_KEY",
            "OSS_SESSION_TOKEN" => "AWS_SESSION_TOKEN",
            _ => return None,
        };
        std::env::var(aws_name).ok()
    };
    Credentials::from_lookup(aws)
}

/// The key template and callback fields of the form.
fn sign_options(args: &Args) -> Result<SignOptions, Failure> {
    let mut options = SignOptions::default();
    if let Some(key) = &args.key_template {
        options = options.key(key.clone());
    }
    if !args.callback_urls.is_empty() {
        let body_type = if args.callback_json {
            BodyType::Json
        } else {
            BodyType::FormUrlEncoded
        };
        let fields = CallbackSpec::new(String::new(), args.callback_body.clone())
            .with_urls(args.callback_urls.iter().cloned())
            .with_body_type(body_type)
            .with_vars(args.callback_vars.iter().cloned())
            .to_fields()?;
        options = options.callback(fields.callback, fields.vars);
    }
    Ok(options)
}

/// A page with the form: hidden signed fields, inputs for the fields the page
/// must fill, the file last.
pub(crate) fn html(form: &SignedForm) -> String {
    let mut inputs = String::new();
    for (name, value) in &form.fields {
        inputs.push_str(&format!(
            "    <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            xml_escape(name),
            xml_escape(value)
        ));
    }
    for name in &form.fields_to_fill {
        inputs.push_str(&format!(
            "    <label>{0} <input type=\"text\" name=\"{0}\" required></label><br>\n",
            xml_escape(name)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Upload</title></head>\n<body>\n  <!-- Signed by postpolicy; valid until {expires}. The file must be the last field. -->\n  <form action=\"{url}\" method=\"post\" enctype=\"multipart/form-data\">\n{inputs}    <input type=\"file\" name=\"file\" required>\n    <button type=\"submit\">Upload</button>\n  </form>\n</body>\n</html>\n",
        expires = postpolicy::format_timestamp(form.expires_at),
        url = xml_escape(&form.url),
    )
}

/// Single-quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A curl command that posts the form with `file` last.
pub(crate) fn curl(form: &SignedForm, file: &str) -> String {
    let mut command = format!("curl -sS -i -X POST {}", shell_quote(&form.url));
    for (name, value) in &form.fields {
        command.push_str(" \\\n  --form-string ");
        command.push_str(&shell_quote(&format!("{name}={value}")));
    }
    for name in &form.fields_to_fill {
        command.push_str(" \\\n  --form-string ");
        command.push_str(&shell_quote(&format!("{name}=FILL-ME")));
    }
    command.push_str(" \\\n  -F ");
    command.push_str(&shell_quote(&format!("file=@{file}")));
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SignedForm {
        SignedForm {
            url: "http://127.0.0.1:9090/b".into(),
            fields: [
                ("key", "u/${filename}"),
                ("x-oss-meta-note", "it's \"quoted\" <b>"),
            ]
            .into_iter()
            .collect(),
            expires_at: chrono::DateTime::UNIX_EPOCH,
            fields_to_fill: vec!["Content-Type".into()],
            rules: postpolicy::Rules::default(),
        }
    }

    #[test]
    fn curl_quotes_values() {
        let c = curl(&form(), "a b.txt");
        assert!(c.starts_with("curl -sS -i -X POST 'http://127.0.0.1:9090/b'"));
        assert!(c.contains("--form-string 'key=u/${filename}'"));
        assert!(c.contains(r#"--form-string 'x-oss-meta-note=it'\''s "quoted" <b>'"#));
        assert!(c.ends_with("-F 'file=@a b.txt'"));
    }

    #[test]
    fn html_escapes_and_puts_the_file_last() {
        let h = html(&form());
        assert!(h.contains("value=\"it&apos;s &quot;quoted&quot; &lt;b&gt;\""));
        assert!(h.contains("name=\"Content-Type\" required"));
        let file = h.find("type=\"file\"").unwrap();
        assert!(h.rfind("type=\"hidden\"").unwrap() < file);
    }
}
