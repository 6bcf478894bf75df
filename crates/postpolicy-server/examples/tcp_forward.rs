//! A TCP forwarder on 127.0.0.1: the cheapest gateway there is, measured by
//! `scripts/bench-ingest.sh` (`BENCH_INGEST_FLOOR=1`) in front of Garage.
//!
//! ```text
//! tcp_forward TARGET_HOST:PORT [--md5] [--buffer BYTES] [--listen ADDR]
//! ```
//!
//! Issue #16 asks `postpolicy serve --store s3://…` for 0.9× the throughput
//! of Garage direct on a 2-core machine. Any gateway there receives every
//! byte on one loopback connection and sends it again on a second one, on
//! the cores Garage needs too. This one does nothing else: no HTTP parsing,
//! no signature check, no multipart, one `copy_bidirectional` per
//! connection, so its throughput relative to Garage direct bounds any
//! gateway that hands Garage the same request (one that sends other
//! requests, a PUT or parts, also changes what Garage itself spends; the
//! benchmark's CPU table shows both). With `--md5` it also hashes
//! every byte sent towards the target, as `serve` must for the ETag of an
//! object the store uploads in parts (OpenSSL's MD5 under the server
//! crate's `openssl-md5` feature, md-5 otherwise, as the server chooses).
//!
//! It prints `listening on ADDR` once bound and forwards until killed.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug)]
struct Args {
    target: String,
    listen: SocketAddr,
    md5: bool,
    buffer: usize,
}

/// Tokio's own `copy_bidirectional` buffer is 8 KiB; 64 KiB cuts the read
/// and write calls per 64 MiB upload eightfold.
const DEFAULT_BUFFER: usize = 64 * 1024;

fn parse_args() -> Result<Args, String> {
    let usage = "usage: tcp_forward TARGET_HOST:PORT [--md5] [--buffer BYTES] [--listen ADDR]";
    let mut target = None;
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut md5 = false;
    let mut buffer = DEFAULT_BUFFER;
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--md5" => md5 = true,
            "--buffer" => {
                let value = iter.next().ok_or("--buffer needs a number of bytes")?;
                buffer =
                    value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--buffer {value}: not a positive number of bytes")
                    })?;
            }
            "--listen" => {
                let value = iter.next().ok_or("--listen needs an address")?;
                listen = value
                    .parse()
                    .map_err(|e| format!("--listen {value}: {e}"))?;
            }
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other}\n{usage}"));
            }
            other if target.is_none() => target = Some(other.to_owned()),
            other => return Err(format!("unexpected argument {other}\n{usage}")),
        }
    }
    let target = target.ok_or(usage)?;
    Ok(Args {
        target,
        listen,
        md5,
        buffer,
    })
}

/// The MD5 `serve` computes: OpenSSL's when the server crate uses it.
enum Md5 {
    #[cfg(feature = "openssl-md5")]
    OpenSsl(openssl::hash::Hasher),
    Portable(md5::Md5),
}

impl Md5 {
    fn new() -> Self {
        #[cfg(feature = "openssl-md5")]
        if let Ok(hasher) = openssl::hash::Hasher::new(openssl::hash::MessageDigest::md5()) {
            return Self::OpenSsl(hasher);
        }
        Self::Portable(<md5::Md5 as md5::Digest>::new())
    }

    fn update(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            #[cfg(feature = "openssl-md5")]
            Self::OpenSsl(hasher) => hasher.update(bytes).map_err(io::Error::other),
            Self::Portable(md5) => {
                md5::Digest::update(md5, bytes);
                Ok(())
            }
        }
    }

    fn finish(self) -> io::Result<[u8; 16]> {
        match self {
            #[cfg(feature = "openssl-md5")]
            Self::OpenSsl(mut hasher) => {
                let digest = hasher.finish().map_err(io::Error::other)?;
                <[u8; 16]>::try_from(&*digest).map_err(io::Error::other)
            }
            Self::Portable(md5) => Ok(md5::Digest::finalize(md5).into()),
        }
    }
}

/// A stream whose reads are MD5-hashed on their way through.
struct Hashing<S> {
    inner: S,
    md5: Md5,
}

impl<S: AsyncRead + Unpin> AsyncRead for Hashing<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = buf.filled().get(before..).unwrap_or_default();
        Poll::Ready(this.md5.update(read))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Hashing<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

async fn forward(client: TcpStream, target: &str, md5: bool, buffer: usize) -> io::Result<()> {
    let mut upstream = TcpStream::connect(target).await?;
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    if md5 {
        let mut client = Hashing {
            inner: client,
            md5: Md5::new(),
        };
        tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, buffer, buffer)
            .await?;
        // Keep the digest alive, or the optimiser could drop the hashing.
        std::hint::black_box(client.md5.finish()?);
    } else {
        let mut client = client;
        tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, buffer, buffer)
            .await?;
    }
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("tcp_forward: {message}");
            std::process::exit(2);
        }
    };
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .and_then(|runtime| runtime.block_on(serve(args)));
    if let Err(e) = served {
        eprintln!("tcp_forward: {e}");
        std::process::exit(1);
    }
}

async fn serve(args: Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    let target: Arc<str> = args.target.into();
    loop {
        let (client, _) = listener.accept().await?;
        let (target, md5, buffer) = (Arc::clone(&target), args.md5, args.buffer);
        tokio::spawn(async move {
            // A refused or reset connection ends that connection only; the
            // benchmark client counts it as a failed upload.
            if let Err(e) = forward(client, &target, md5, buffer).await {
                eprintln!("tcp_forward: {e}");
            }
        });
    }
}
