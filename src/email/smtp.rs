//! The inbound SMTP listener (`NIGHTINGALE_SMTP_LISTEN`): mail from the
//! trust's relay or MX, stored as a webhook is (ADR 3, ADR 14).
//!
//! A small, strict server (RFC 5321): `EHLO`/`HELO`, `MAIL`, `RCPT`,
//! `DATA`, `RSET`, `NOOP`, `QUIT`; anything else is `502`.
//! - Mail is taken only for our domains (`NIGHTINGALE_EMAIL_DOMAIN`):
//!   any other recipient is `550`, so it relays nothing.
//! - A message over the size limit (`NIGHTINGALE_EMAIL_MAX_BYTES`) is
//!   `552`: at `MAIL … SIZE=`, or while reading `DATA`, where what is
//!   over the limit is read and dropped, never buffered; far over it, the
//!   connection is closed.
//! - `250` only once the message is stored durably, as an inbound item
//!   keyed on its `Message-ID` (a resent message is a duplicate, answered
//!   `250`); a store failure is `451`, so the sending server tries again
//!   and nothing is lost. A message with no usable `From` is `550`.
//! - Command lines are limited to 1,000 bytes and every read to a timeout;
//!   at most [`MAX_SESSIONS`] conversations at once (past them, `421`).
//!
//! - `STARTTLS` is offered when a certificate is configured
//!   (`NIGHTINGALE_SMTP_TLS_CERT`, `NIGHTINGALE_SMTP_TLS_KEY`); the
//!   conversation then starts again inside TLS (RFC 3207), and anything the
//!   client sent after the command and before the handshake is refused
//!   (it could be a command injected in the clear).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::operations::Operations;
use crate::store::{Inbound, InboundKind};

/// The longest command line taken (RFC 5321 §4.5.3.1.4: 512; text lines 1,000).
const MAX_LINE: usize = 1000;
/// How long a client may take to send one line.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How many recipients one message may have.
const MAX_RECIPIENTS: usize = 100;
/// How many conversations are served at once; a client past them is told
/// `421` at once, so the relay queues and comes back.
const MAX_SESSIONS: usize = 256;

/// What the listener accepts.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The domains mail is taken for (lower case), e.g. `nightingale.trust.nhs.uk`.
    pub domains: Vec<String>,
    /// The largest message taken, in bytes.
    pub max_bytes: usize,
    /// The name it greets with.
    pub hostname: String,
}

impl Policy {
    /// Whether mail for `address` is ours to take.
    pub fn takes(&self, address: &str) -> bool {
        address.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
        })
    }
}

/// The domains in `NIGHTINGALE_EMAIL_DOMAIN`: one, or several separated by commas.
pub fn domains(setting: &str) -> Vec<String> {
    setting
        .split(',')
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// The TLS `STARTTLS` offers: the certificate chain and key in PEM files.
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the certificates in {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read the private key in {}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the SMTP certificate and key do not go together")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serve SMTP on `listener` until `shutdown` completes, offering
/// `STARTTLS` with `tls` when given.
pub async fn serve(
    listener: TcpListener,
    policy: Arc<Policy>,
    tls: Option<TlsAcceptor>,
    ops: Operations,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let sessions = Arc::new(tokio::sync::Semaphore::new(MAX_SESSIONS));
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP accept failed");
                    continue;
                }
            },
        };
        // Replies are whole lines, written once: nothing to gain from Nagle.
        let _ = stream.set_nodelay(true);
        let Ok(permit) = Arc::clone(&sessions).try_acquire_owned() else {
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = reply(&mut stream, "421 4.3.2 Too busy: try again later".into()).await;
            });
            continue;
        };
        let policy = Arc::clone(&policy);
        let ops = ops.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = connection(stream, tls, &policy, &ops, peer).await {
                tracing::debug!(error = %e, "SMTP session ended");
            }
        });
    }
}

/// One connection: a conversation in the clear, and, if the client asks
/// for `STARTTLS`, a new one inside TLS.
async fn connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    policy: &Policy,
    ops: &Operations,
    peer: SocketAddr,
) -> std::io::Result<()> {
    let mut clear = BufReader::new(stream);
    let greeting = format!("220 {} Nightingale ESMTP", policy.hostname);
    reply(&mut clear, greeting).await?;
    let Some(acceptor) = tls else {
        return session(&mut clear, Security::NoTls, policy, ops, peer)
            .await
            .map(drop);
    };
    if session(&mut clear, Security::Offered, policy, ops, peer).await? != Next::StartTls {
        return Ok(());
    }
    if !clear.buffer().is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "commands sent before the TLS handshake",
        ));
    }
    let secure = acceptor.accept(clear.into_inner()).await?;
    let mut secure = BufReader::new(secure);
    session(&mut secure, Security::Tls, policy, ops, peer)
        .await
        .map(drop)
}

/// Where a conversation stands on TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// No certificate configured.
    NoTls,
    /// In the clear, with `STARTTLS` offered.
    Offered,
    /// Inside TLS.
    Tls,
}

/// How a conversation ended.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// `QUIT`, the client went away, or the connection must close.
    Close,
    /// The client asked for TLS and was told to go ahead.
    StartTls,
}

/// One SMTP conversation (after the greeting), until `QUIT` or `STARTTLS`.
async fn session<S>(
    stream: &mut BufReader<S>,
    security: Security,
    policy: &Policy,
    ops: &Operations,
    peer: SocketAddr,
) -> std::io::Result<Next>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut greeted = false;
    let mut sender: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_line(stream).await? else {
            return Ok(Next::Close);
        };
        let Ok(line) = String::from_utf8(line) else {
            reply(stream, "500 5.5.2 Command not understood".into()).await?;
            continue;
        };
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let answer = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                greeted = true;
                sender = None;
                recipients.clear();
                let starttls = if security == Security::Offered {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                format!(
                    "250-{}\r\n250-SIZE {}\r\n{starttls}250 8BITMIME",
                    policy.hostname, policy.max_bytes
                )
            }
            "STARTTLS" if security != Security::Offered => {
                "502 5.5.1 TLS is not offered here".into()
            }
            "STARTTLS" if !arg.is_empty() => "501 5.5.4 STARTTLS takes no argument".into(),
            "STARTTLS" => {
                reply(stream, "220 2.0.0 Ready to start TLS".into()).await?;
                return Ok(Next::StartTls);
            }
            "HELO" => {
                greeted = true;
                sender = None;
                recipients.clear();
                format!("250 {}", policy.hostname)
            }
            "MAIL" if !greeted => "503 5.5.1 Say EHLO first".into(),
            "MAIL" => match mail_from(arg) {
                Some((_, Some(size))) if size > policy.max_bytes => format!(
                    "552 5.3.4 Message too big: the limit is {} bytes",
                    policy.max_bytes
                ),
                Some((from, _)) => {
                    sender = Some(from);
                    recipients.clear();
                    "250 2.1.0 OK".into()
                }
                None => "501 5.5.4 Write MAIL FROM:<address>".into(),
            },
            "RCPT" if sender.is_none() => "503 5.5.1 MAIL first".into(),
            "RCPT" => match path(arg, "TO:") {
                Some(to) if policy.takes(&to) => {
                    if recipients.len() >= MAX_RECIPIENTS {
                        "452 4.5.3 Too many recipients".into()
                    } else {
                        recipients.push(to);
                        "250 2.1.5 OK".into()
                    }
                }
                Some(_) => {
                    "550 5.7.1 Relaying denied: we take mail for our own addresses only".into()
                }
                None => "501 5.5.4 Write RCPT TO:<address>".into(),
            },
            "DATA" if recipients.is_empty() => "503 5.5.1 RCPT first".into(),
            "DATA" => {
                reply(stream, "354 End data with <CR><LF>.<CR><LF>".into()).await?;
                let answer = match read_data(stream, policy.max_bytes).await? {
                    Data::Whole(bytes) => store(ops, &bytes, &recipients, peer).await,
                    Data::TooBig => format!(
                        "552 5.3.4 Message too big: the limit is {} bytes",
                        policy.max_bytes
                    ),
                    Data::FarTooBig => {
                        let text = format!(
                            "552 5.3.4 Message too big: the limit is {} bytes",
                            policy.max_bytes
                        );
                        reply(stream, text).await?;
                        return Ok(Next::Close);
                    }
                };
                sender = None;
                recipients.clear();
                answer
            }
            "RSET" => {
                sender = None;
                recipients.clear();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                reply(stream, "221 2.0.0 Bye".into()).await?;
                return Ok(Next::Close);
            }
            _ => "502 5.5.2 Command not implemented".into(),
        };
        reply(stream, answer).await?;
    }
}

/// Send one reply (its lines joined by CRLF already).
async fn reply<W: AsyncWrite + Unpin>(w: &mut W, mut text: String) -> std::io::Result<()> {
    // One write: a reply split in two waits on the client's delayed ACK.
    text.push_str("\r\n");
    w.write_all(text.as_bytes()).await?;
    w.flush().await
}

/// Store a message whole; the reply to DATA says whether it was.
async fn store(ops: &Operations, bytes: &[u8], recipients: &[String], peer: SocketAddr) -> String {
    let mail = match super::read(bytes) {
        Ok(mail) => mail,
        Err(e) => {
            tracing::warn!(%peer, reason = %e, "email refused");
            return format!("550 5.6.0 Refused: {e}");
        }
    };
    let key = mail.key.clone();
    let item = Inbound {
        key: mail.key,
        kind: InboundKind::Email {
            from: mail.from.as_str().to_owned(),
            to: recipients.to_vec(),
            subject: mail.subject,
            text: mail.text,
            attachments: mail.attachments,
            delivery: mail.delivery,
        },
        received_at: ops.clock.now(),
    };
    match ops.record_inbound(item).await {
        Ok(new) => {
            tracing::info!(key = %key, duplicate = !new, "email stored");
            "250 2.0.0 Stored".into()
        }
        Err(e) => {
            tracing::error!(key = %key, error = %e, "email not stored; asking the sender to retry");
            "451 4.3.0 Cannot store the message now: try again later".into()
        }
    }
}

/// `FROM:<address> [SIZE=n]`: the address (empty for a bounce) and the size declared.
fn mail_from(arg: &str) -> Option<(String, Option<usize>)> {
    let from = path(arg, "FROM:")?;
    let size = arg
        .split_whitespace()
        .skip(1)
        .find_map(|p| {
            p.get(..5)
                .filter(|k| k.eq_ignore_ascii_case("SIZE="))
                .map(|_| &p[5..])
        })
        .map(|n| n.parse().unwrap_or(usize::MAX));
    Some((from, size))
}

/// The address in `TO:<address>` or `FROM:<address>` (after `prefix`).
fn path(arg: &str, prefix: &str) -> Option<String> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?.split_once('>')?.0;
    // A source route (`<@relay:user@host>`) names the mailbox after the colon.
    let mailbox = inner.rsplit_once(':').map_or(inner, |(_, m)| m);
    Some(mailbox.to_ascii_lowercase())
}

/// One line without its CRLF, at most [`MAX_LINE`] bytes; `None` at the
/// end of the stream or on a timeout.
async fn read_line<R: AsyncRead + Unpin>(
    read: &mut BufReader<R>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let limited = async {
        let mut taken = (&mut *read).take(MAX_LINE as u64 + 2);
        taken.read_until(b'\n', &mut line).await
    };
    match tokio::time::timeout(READ_TIMEOUT, limited).await {
        Ok(Ok(0)) | Err(_) => Ok(None),
        Ok(Ok(_)) if !line.ends_with(b"\n") => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long",
        )),
        Ok(Ok(_)) => {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            Ok(Some(line))
        }
        Ok(Err(e)) => Err(e),
    }
}

/// What DATA carried.
enum Data {
    /// The message, dot-unstuffed, with CRLF line ends.
    Whole(Vec<u8>),
    /// Over the limit; read to its end and dropped.
    TooBig,
    /// So far over that it was not read to its end.
    FarTooBig,
}

/// Read DATA up to the line `.`, keeping at most `max` bytes.
async fn read_data<R: AsyncRead + Unpin>(
    read: &mut BufReader<R>,
    max: usize,
) -> std::io::Result<Data> {
    let mut message = Vec::new();
    let mut over = 0usize;
    loop {
        let Some(line) = read_line(read).await? else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        if line == b"." {
            break;
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if over > 0 || message.len() + line.len() + 2 > max {
            over += line.len() + 2;
            if over > max.saturating_mul(4) {
                return Ok(Data::FarTooBig);
            }
            continue;
        }
        message.extend_from_slice(line);
        message.extend_from_slice(b"\r\n");
    }
    Ok(if over > 0 {
        Data::TooBig
    } else {
        Data::Whole(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_paths_are_read_strictly() {
        assert_eq!(
            mail_from("FROM:<Sian@Example.org> SIZE=1200"),
            Some(("sian@example.org".into(), Some(1200)))
        );
        assert_eq!(mail_from("FROM:<>"), Some((String::new(), None)));
        assert_eq!(mail_from("FROM: sian@example.org"), None);
        assert_eq!(
            path("TO:<@relay.example:page+ab@n.nhs.uk>", "TO:"),
            Some("page+ab@n.nhs.uk".into())
        );
        assert_eq!(path("TOO:<a@b.c>", "TO:"), None);
    }

    #[test]
    fn only_our_domains_are_taken() {
        let policy = Policy {
            domains: domains(" nightingale.trust.nhs.uk, @Other.nhs.uk "),
            max_bytes: 1000,
            hostname: "mx".into(),
        };
        assert!(policy.takes("ward7@nightingale.trust.nhs.uk"));
        assert!(policy.takes("x@other.nhs.uk"));
        assert!(!policy.takes("x@evil.example"));
        assert!(!policy.takes("x@sub.nightingale.trust.nhs.uk"));
        assert!(!policy.takes("@nightingale.trust.nhs.uk"));
    }
}
