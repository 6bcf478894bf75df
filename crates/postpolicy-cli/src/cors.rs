//! `postpolicy cors --origin ORIGIN`: the bucket CORS configuration browser
//! form uploads need — the most common reason an upload "does nothing" is a
//! bucket without it — and `postpolicy cors check`, which tries it.
//!
//! What a browser upload needs, and nothing more: POST from the page's
//! origins (GET and HEAD only when the page reads objects back), the request
//! headers the uploader adds (postpolicy's helper and Uppy's POST mode add
//! none: a form post is a CORS "simple" request but for its progress events,
//! which make the browser ask first), the answer headers a page reads
//! (`ETag`, `Location`, the request id), a preflight cache time, and never
//! credentials: a signed form needs no cookies.

use clap::ValueEnum;
use serde_json::json;

use crate::cors_check;
use crate::{Exit, Failure, Outcome};

/// The services `cors` writes and checks a configuration for. (A GCS
/// bucket's CORS is a JSON list set with `gcloud storage buckets update
/// --cors-file`; `cors` does not write it yet.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Dialect {
    /// Alibaba Cloud OSS.
    #[default]
    Oss,
    /// S3 and S3-compatible stores.
    S3,
}

/// How long browsers may cache a preflight answer unless `--max-age` says.
const DEFAULT_MAX_AGE: u32 = 600;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Send a real preflight and a real tiny POST from ORIGIN to URL, and
    /// explain each failure in one line; exit 0 when a browser upload from
    /// ORIGIN would work, 1 when it would not. The POST is signed with the
    /// credentials in the environment (and stores a 22-byte object), or
    /// else a form the service must reject, whose answer still shows the
    /// CORS headers.
    Check(cors_check::Args),
}

#[derive(Debug, clap::Args)]
struct ConfigArgs {
    /// An origin whose pages upload, such as https://app.example.com, or
    /// `*` (any site: the signature still decides what is stored);
    /// repeatable.
    #[arg(long = "origin", value_name = "ORIGIN", required = true)]
    origins: Vec<String>,
    /// `oss` (PutBucketCors) or `s3` (put-bucket-cors: AWS S3, Garage, R2).
    #[arg(long, value_enum, default_value_t)]
    dialect: Dialect,
    /// `xml` (the API's body; the default for oss) or `json` (`ossutil api
    /// put-bucket-cors` / `aws s3api put-bucket-cors`; the default for s3).
    /// The equivalent SDK calls are printed as comments: in the XML, or on
    /// standard error next to JSON.
    #[arg(long, value_enum)]
    format: Option<ConfigFormat>,
    /// Also allow GET and HEAD, for pages that read the uploaded objects
    /// back.
    #[arg(long)]
    read: bool,
    /// A request header the uploader adds (repeatable). postpolicy's
    /// browser helper and Uppy's POST mode add none.
    #[arg(long = "header", value_name = "NAME")]
    headers: Vec<String>,
    /// How long browsers may cache the preflight answer, in seconds.
    #[arg(long, default_value_t = DEFAULT_MAX_AGE)]
    max_age: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ConfigFormat {
    Xml,
    Json,
}

pub(crate) fn run(args: &Args) -> Outcome {
    if let Some(Command::Check(check)) = &args.command {
        return cors_check::run(check);
    }
    let args = &args.config;
    let config = Config::new(
        &args.origins,
        args.dialect,
        args.read,
        &args.headers,
        args.max_age,
    )?;
    let format = args.format.unwrap_or(match args.dialect {
        Dialect::Oss => ConfigFormat::Xml,
        Dialect::S3 => ConfigFormat::Json,
    });
    let code = config.code();
    match format {
        ConfigFormat::Xml => {
            // An XML comment may not hold `--` (a punycode host has it):
            // such code goes to standard error instead.
            let inline = !code.contains("--");
            print!("{}", config.xml(inline.then_some(code.as_str())));
            eprint!("{}", comment_lines(&config.apply(format), "# "));
            if !inline {
                eprint!("{}", comment_lines(&code, "# "));
            }
        }
        ConfigFormat::Json => {
            println!("{:#}", config.json());
            eprint!("{}", comment_lines(&config.apply(format), "// "));
            eprint!("{}", comment_lines(&code, "// "));
        }
    }
    Ok(Exit::Ok)
}

/// `text`'s lines, each behind `prefix`.
fn comment_lines(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| format!("{prefix}{line}\n").replace(&format!("{prefix}\n"), "\n"))
        .collect()
}

/// One CORS rule for browser uploads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    dialect: Dialect,
    origins: Vec<String>,
    methods: Vec<&'static str>,
    headers: Vec<String>,
    max_age: u32,
}

impl Config {
    pub(crate) fn new(
        origins: &[String],
        dialect: Dialect,
        read: bool,
        headers: &[String],
        max_age: u32,
    ) -> Result<Self, Failure> {
        let mut normalized: Vec<String> = Vec::new();
        for origin in origins {
            let origin = if origin == "*" {
                origin.clone()
            } else {
                postpolicy_server::normalize_origin(origin)
                    .map_err(|why| Failure(format!("--origin {why}")))?
            };
            if !normalized.contains(&origin) {
                normalized.push(origin);
            }
        }
        let mut names: Vec<String> = Vec::new();
        for name in headers {
            check_header_name(name)?;
            if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                names.push(name.clone());
            }
        }
        let methods = if read {
            vec!["POST", "GET", "HEAD"]
        } else {
            vec!["POST"]
        };
        Ok(Self {
            dialect,
            origins: normalized,
            methods,
            headers: names,
            max_age,
        })
    }

    /// The answer headers a page reads: the stored object's ETag, its
    /// Location, and the request id support asks for.
    fn exposed(dialect: Dialect) -> [&'static str; 3] {
        match dialect {
            Dialect::Oss => ["ETag", "Location", "x-oss-request-id"],
            Dialect::S3 => ["ETag", "Location", "x-amz-request-id"],
        }
    }

    /// The configuration document as XML (OSS's and S3's PutBucketCors
    /// body), with `comments` inside when given.
    fn xml(&self, comments: Option<&str>) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        if let Some(comments) = comments {
            out.push_str("<!--\n");
            out.push_str(&comment_lines(comments, "  "));
            out.push_str("-->\n");
        }
        match self.dialect {
            Dialect::Oss => out.push_str("<CORSConfiguration>\n"),
            Dialect::S3 => out.push_str(
                "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n",
            ),
        }
        out.push_str("  <CORSRule>\n");
        let mut element = |name: &str, value: &str| {
            out.push_str(&format!(
                "    <{name}>{}</{name}>\n",
                quick_xml::escape::escape(value)
            ));
        };
        for origin in &self.origins {
            element("AllowedOrigin", origin);
        }
        for method in &self.methods {
            element("AllowedMethod", method);
        }
        for header in &self.headers {
            element("AllowedHeader", header);
        }
        for header in Self::exposed(self.dialect) {
            element("ExposeHeader", header);
        }
        element("MaxAgeSeconds", &self.max_age.to_string());
        out.push_str("  </CORSRule>\n</CORSConfiguration>\n");
        out
    }

    /// The configuration as JSON: ossutil 2's form of the XML for OSS, the
    /// AWS CLI's `--cors-configuration` for S3.
    fn json(&self) -> serde_json::Value {
        // OSS's element names, pluralised by AWS.
        let (plural, rules) = match self.dialect {
            Dialect::Oss => ("", "CORSRule"),
            Dialect::S3 => ("s", "CORSRules"),
        };
        let mut rule = serde_json::Map::new();
        let mut put = |name: &str, value: serde_json::Value| {
            rule.insert(format!("{name}{plural}"), value);
        };
        put("AllowedOrigin", json!(self.origins));
        put("AllowedMethod", json!(self.methods));
        if !self.headers.is_empty() {
            put("AllowedHeader", json!(self.headers));
        }
        put("ExposeHeader", json!(Self::exposed(self.dialect)));
        rule.insert("MaxAgeSeconds".to_owned(), json!(self.max_age));
        json!({ rules: [rule] })
    }

    /// The command that applies a saved copy of the document.
    fn apply(&self, format: ConfigFormat) -> String {
        let file = match format {
            ConfigFormat::Xml => "cors.xml",
            ConfigFormat::Json => "cors.json",
        };
        match self.dialect {
            Dialect::Oss => format!(
                "Save the rule as {file} and apply it (it replaces the bucket's CORS rules):\n  ossutil api put-bucket-cors --bucket BUCKET --cors-configuration file://{file}\n"
            ),
            Dialect::S3 => format!(
                "Save the rule as {file} and apply it (it replaces the bucket's CORS rules; add\n--endpoint-url for Garage or R2):\n  aws s3api put-bucket-cors --bucket BUCKET --cors-configuration file://{file}\n"
            ),
        }
    }

    /// The same rule applied from Python and from Node.
    fn code(&self) -> String {
        // JSON string literals are Python and JavaScript literals too.
        let list = |items: &[&str]| {
            let quoted: Vec<String> = items
                .iter()
                .map(|i| serde_json::to_string(i).unwrap_or_default())
                .collect();
            format!("[{}]", quoted.join(", "))
        };
        let origins: Vec<&str> = self.origins.iter().map(String::as_str).collect();
        let headers: Vec<&str> = self.headers.iter().map(String::as_str).collect();
        let exposed = Self::exposed(self.dialect);
        let (origins, methods, headers, exposed) = (
            list(&origins),
            list(&self.methods),
            list(&headers),
            list(&exposed),
        );
        let age = self.max_age;
        let no_headers = self.headers.is_empty();
        match self.dialect {
            Dialect::Oss => {
                let py_headers = if no_headers {
                    String::new()
                } else {
                    format!("\n    allowed_headers={headers},")
                };
                let js_headers = if no_headers {
                    String::new()
                } else {
                    format!("\n  allowedHeader: {headers},")
                };
                format!(
                    "The CORS rule browser form uploads need (postpolicy cors), from code:

Python (oss2):
  from oss2.models import BucketCors, CorsRule
  bucket.put_bucket_cors(BucketCors([CorsRule(
    allowed_origins={origins},
    allowed_methods={methods},{py_headers}
    expose_headers={exposed},
    max_age_seconds={age},
  )]))

Node (ali-oss):
  await client.putBucketCORS('BUCKET', [{{
    allowedOrigin: {origins},
    allowedMethod: {methods},{js_headers}
    exposeHeader: {exposed},
    maxAgeSeconds: {age},
  }}]);
"
                )
            }
            Dialect::S3 => {
                let py_headers = if no_headers {
                    String::new()
                } else {
                    format!("\n    \"AllowedHeaders\": {headers},")
                };
                let js_headers = if no_headers {
                    String::new()
                } else {
                    format!("\n    AllowedHeaders: {headers},")
                };
                format!(
                    "The CORS rule browser form uploads need (postpolicy cors), from code:

Python (boto3):
  boto3.client(\"s3\").put_bucket_cors(Bucket=\"BUCKET\", CORSConfiguration={{\"CORSRules\": [{{
    \"AllowedOrigins\": {origins},
    \"AllowedMethods\": {methods},{py_headers}
    \"ExposeHeaders\": {exposed},
    \"MaxAgeSeconds\": {age},
  }}]}})

Node (@aws-sdk/client-s3):
  await s3.send(new PutBucketCorsCommand({{ Bucket: 'BUCKET', CORSConfiguration: {{ CORSRules: [{{
    AllowedOrigins: {origins},
    AllowedMethods: {methods},{js_headers}
    ExposeHeaders: {exposed},
    MaxAgeSeconds: {age},
  }}] }} }}));
"
                )
            }
        }
    }
}

/// A request header name: an HTTP token.
pub(crate) fn check_header_name(name: &str) -> Result<(), Failure> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if token {
        Ok(())
    } else {
        Err(Failure(format!(
            "--header `{name}`: not a header name (letters, digits and !#$%&'*+-.^_`|~)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dialect: Dialect, read: bool, headers: &[&str]) -> Config {
        let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
        Config::new(
            &[
                "https://App.Example.com:443".to_owned(),
                "http://127.0.0.1:5173".to_owned(),
                "https://app.example.com".to_owned(),
            ],
            dialect,
            read,
            &headers,
            600,
        )
        .unwrap()
    }

    #[test]
    fn oss_xml_names_post_the_exposed_headers_and_no_credentials() {
        let xml = config(Dialect::Oss, false, &[]).xml(None);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CORSConfiguration>\n  <CORSRule>\n    <AllowedOrigin>https://app.example.com</AllowedOrigin>\n    <AllowedOrigin>http://127.0.0.1:5173</AllowedOrigin>\n    <AllowedMethod>POST</AllowedMethod>\n    <ExposeHeader>ETag</ExposeHeader>\n    <ExposeHeader>Location</ExposeHeader>\n    <ExposeHeader>x-oss-request-id</ExposeHeader>\n    <MaxAgeSeconds>600</MaxAgeSeconds>\n  </CORSRule>\n</CORSConfiguration>\n"
        );
        let read = config(Dialect::Oss, true, &["X-Trace"]).xml(None);
        assert!(read.contains(
            "<AllowedMethod>GET</AllowedMethod>\n    <AllowedMethod>HEAD</AllowedMethod>"
        ));
        assert!(read.contains("<AllowedHeader>X-Trace</AllowedHeader>"));
        assert!(!read.to_ascii_lowercase().contains("credential"));
    }

    #[test]
    fn s3_json_is_what_the_aws_cli_takes() {
        let value = config(Dialect::S3, false, &[]).json();
        assert_eq!(
            value,
            json!({"CORSRules": [{
                "AllowedOrigins": ["https://app.example.com", "http://127.0.0.1:5173"],
                "AllowedMethods": ["POST"],
                "ExposeHeaders": ["ETag", "Location", "x-amz-request-id"],
                "MaxAgeSeconds": 600,
            }]})
        );
        let xml = config(Dialect::S3, false, &[]).xml(None);
        assert!(xml.contains("xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""));
        assert!(xml.contains("<ExposeHeader>x-amz-request-id</ExposeHeader>"));
        let oss = config(Dialect::Oss, false, &["X-Trace"]).json();
        assert_eq!(oss["CORSRule"][0]["AllowedHeader"], json!(["X-Trace"]));
    }

    #[test]
    fn code_comments_carry_the_same_rule_for_python_and_node() {
        let oss = config(Dialect::Oss, false, &[]).code();
        assert!(oss.contains("bucket.put_bucket_cors(BucketCors([CorsRule("));
        assert!(
            oss.contains(
                "allowed_origins=[\"https://app.example.com\", \"http://127.0.0.1:5173\"]"
            )
        );
        assert!(oss.contains("client.putBucketCORS('BUCKET'"));
        assert!(oss.contains("exposeHeader: [\"ETag\", \"Location\", \"x-oss-request-id\"]"));
        assert!(!oss.contains("allowed_headers"), "{oss}");
        let s3 = config(Dialect::S3, true, &["X-Trace"]).code();
        assert!(s3.contains("put_bucket_cors(Bucket=\"BUCKET\""));
        assert!(s3.contains("new PutBucketCorsCommand("));
        assert!(s3.contains("AllowedMethods: [\"POST\", \"GET\", \"HEAD\"]"));
        assert!(s3.contains("\"AllowedHeaders\": [\"X-Trace\"]"));
        // Inside the XML they are one comment: no `--` may end it early.
        let xml = config(Dialect::Oss, false, &[]).xml(Some(&oss));
        let inner = xml
            .split_once("<!--")
            .unwrap()
            .1
            .split_once("-->")
            .unwrap()
            .0;
        assert!(!inner.contains("--"));
    }

    #[test]
    fn bad_origins_and_headers_are_refused() {
        for origin in [
            "app.example.com",
            "https://app.example.com/path",
            "ftp://x.example",
        ] {
            let error =
                Config::new(&[origin.to_owned()], Dialect::Oss, false, &[], 600).unwrap_err();
            assert!(error.0.contains(origin), "{}", error.0);
        }
        let error = Config::new(
            &["*".to_owned()],
            Dialect::Oss,
            false,
            &["bad header".to_owned()],
            600,
        )
        .unwrap_err();
        assert!(error.0.contains("`bad header`"), "{}", error.0);
    }
}
