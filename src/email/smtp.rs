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
//! - What one sender can hold is bounded too (docs/adr/0022):
//!   - at most `NIGHTINGALE_SMTP_MAX_PER_HOST` conversations from one
//!     address (one IPv6 /64) at once, past them `421 4.7.0`; the trust's
//!     named relays (`NIGHTINGALE_SMTP_TRUSTED_RELAYS`) are not counted,
//!     and have [`MAX_SESSIONS`] conversations of their own, apart from
//!     everyone else's;
//!   - a whole connection lasts at most `NIGHTINGALE_SMTP_SESSION_LIMIT`
//!     from connect, then `421 4.4.2` and close: `NOOP` every so often
//!     no longer keeps a slot for ever;
//!   - the unfinished DATA of all conversations together holds at most
//!     `NIGHTINGALE_SMTP_BUFFER_BYTES`. `DATA` takes its share first (the
//!     size declared at `MAIL … SIZE=`, else the largest message) and is
//!     `452 4.3.1` when it cannot; a message that outgrows what it took
//!     and finds no more is read to its end, dropped, and answered `452`.
//!     Either way the sending server keeps the message and tries later.
//! - With each message it records how it came: the envelope sender and
//!   the connecting address, which [`super::auth`] reads to decide whether
//!   it is from whom its `From` says.
//!
//! - `STARTTLS` is offered when a certificate is configured
//!   (`NIGHTINGALE_SMTP_TLS_CERT`, `NIGHTINGALE_SMTP_TLS_KEY`); the
//!   conversation then starts again inside TLS (RFC 3207), and anything the
//!   client sent after the command and before the handshake is refused
//!   (it could be a command injected in the clear).
//!
//! The listener knows nothing of what stores a message: it hands each one
//! to an [`InboundSink`], which the application wires to its operations.
//! So this edge sits above the email parsing the engine uses, and nothing
//! below it reaches back up.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsAcceptor;

use super::Mail;
use super::auth::SenderTrust;

/// The longest command line taken (RFC 5321 §4.5.3.1.4: 512; text lines 1,000).
const MAX_LINE: usize = 1000;
/// How long a client may take to send one line.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How many recipients one message may have.
const MAX_RECIPIENTS: usize = 100;
/// How many conversations are served at once; a client past them is told
/// `421` at once, so the relay queues and comes back.
const MAX_SESSIONS: usize = 256;
/// How long past its deadline a conversation may take to hear that it is
/// over (a client that reads nothing cannot hold its slot by that).
const CLOSING_GRACE: Duration = Duration::from_secs(10);
/// The reply when a conversation has lasted its whole time.
const LATE: &str = "421 4.4.2 Session time limit reached: closing";
/// The reply when unfinished mail holds all the memory set aside for it.
const NO_ROOM: &str = "452 4.3.1 Too much mail in progress here: try again later";

/// Where the listener hands each message it takes: `250` is only said
/// once [`InboundSink::take`] has stored it durably.
pub trait InboundSink: Clone + Send + Sync + 'static {
    /// Why a message could not be stored (the sender is asked to retry).
    type Error: std::fmt::Display;

    /// Store a message, received now, keyed by its [`Mail::key`]: `true`
    /// when it is new, `false` when it was stored before.
    fn take(
        &self,
        email: Received,
    ) -> impl std::future::Future<Output = Result<bool, Self::Error>> + Send;
}

/// A message the listener took: as read, and how it came.
pub struct Received {
    /// The message, read.
    pub mail: Mail,
    /// `RCPT TO`, each.
    pub recipients: Vec<String>,
    /// `MAIL FROM` (empty for a bounce).
    pub envelope_from: String,
    /// Who handed it over.
    pub peer: IpAddr,
}

/// What the listener accepts.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The domains mail is taken for (lower case), e.g. `nightingale.trust.nhs.uk`.
    pub domains: Vec<String>,
    /// The largest message taken, in bytes.
    pub max_bytes: usize,
    /// The name it greets with.
    pub hostname: String,
    /// How many conversations one address (one IPv6 /64) may hold at once.
    pub max_per_host: usize,
    /// How long one connection may last, from connect.
    pub session_limit: Duration,
    /// How many bytes of unfinished DATA all conversations together hold.
    pub buffer_bytes: usize,
    /// The trust's relays: not counted against `max_per_host`.
    pub trust: SenderTrust,
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

/// The TLS `STARTTLS` offers (and the MLLP listener's): the certificate
/// chain and key in PEM files.
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
        .context("the certificate and key do not go together")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serve SMTP on `listener` until `shutdown` completes, offering
/// `STARTTLS` with `tls` when given, handing each message to `sink`.
pub async fn serve<S: InboundSink>(
    listener: TcpListener,
    policy: Arc<Policy>,
    tls: Option<TlsAcceptor>,
    sink: S,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let sessions = Arc::new(tokio::sync::Semaphore::new(MAX_SESSIONS));
    let relay_sessions = Arc::new(tokio::sync::Semaphore::new(MAX_SESSIONS));
    let hosts = Arc::new(Hosts::new(policy.max_per_host));
    let budget = Arc::new(Budget::new(policy.buffer_bytes));
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
        // The trust's relays have conversations of their own to draw on, so
        // no flood from elsewhere, however many hosts it comes from, keeps
        // them out.
        let relay = policy.trust.is_relay(peer.ip());
        let pool = if relay { &relay_sessions } else { &sessions };
        let Ok(permit) = Arc::clone(pool).try_acquire_owned() else {
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = reply(&mut stream, "421 4.3.2 Too busy: try again later".into()).await;
            });
            continue;
        };
        let host = if relay {
            None
        } else {
            match Hosts::enter(&hosts, peer.ip()) {
                Some(slot) => Some(slot),
                None => {
                    tracing::info!(%peer, "SMTP connection refused: too many from its address");
                    tokio::spawn(async move {
                        let mut stream = stream;
                        let text =
                            "421 4.7.0 Too many connections from your address: try again later";
                        let _ = reply(&mut stream, text.into()).await;
                    });
                    continue;
                }
            }
        };
        let policy = Arc::clone(&policy);
        let sink = sink.clone();
        let tls = tls.clone();
        let budget = Arc::clone(&budget);
        tokio::spawn(async move {
            let _held = (permit, host);
            let deadline = Instant::now() + policy.session_limit;
            let conversation = connection(stream, tls, &policy, &sink, peer, &budget, deadline);
            match timeout_at(deadline + CLOSING_GRACE, conversation).await {
                Ok(Err(e)) => tracing::debug!(error = %e, "SMTP session ended"),
                Ok(Ok(())) => {}
                Err(_) => tracing::info!(%peer, "SMTP session cut off: past its time limit"),
            }
        });
    }
}

/// One connection: a conversation in the clear, and, if the client asks
/// for `STARTTLS`, a new one inside TLS.
async fn connection<S: InboundSink>(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    policy: &Policy,
    sink: &S,
    peer: SocketAddr,
    budget: &Arc<Budget>,
    deadline: Instant,
) -> std::io::Result<()> {
    let mut clear = BufReader::new(stream);
    let greeting = format!("220 {} Nightingale ESMTP", policy.hostname);
    reply(&mut clear, greeting).await?;
    let with = With {
        policy,
        sink,
        peer,
        budget,
        deadline,
    };
    let Some(acceptor) = tls else {
        return session(&mut clear, Security::NoTls, &with).await.map(drop);
    };
    if session(&mut clear, Security::Offered, &with).await? != Next::StartTls {
        return Ok(());
    }
    if !clear.buffer().is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "commands sent before the TLS handshake",
        ));
    }
    let secure = timeout_at(deadline, acceptor.accept(clear.into_inner()))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let mut secure = BufReader::new(secure);
    session(&mut secure, Security::Tls, &with).await.map(drop)
}

/// What one conversation works with.
struct With<'a, S> {
    policy: &'a Policy,
    sink: &'a S,
    /// Who connected.
    peer: SocketAddr,
    /// The bytes of unfinished DATA all conversations share.
    budget: &'a Arc<Budget>,
    /// When the connection's time is up.
    deadline: Instant,
}

/// The conversations each address holds, at most `limit` each; IPv6
/// addresses count by their /64, which one host usually has whole.
struct Hosts {
    limit: usize,
    open: std::sync::Mutex<HashMap<IpAddr, usize>>,
}

/// One conversation's place in [`Hosts`], given back when dropped.
struct HostSlot {
    hosts: Arc<Hosts>,
    key: IpAddr,
}

impl Hosts {
    fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            open: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn key(ip: IpAddr) -> IpAddr {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let mask = !0u128 << 64;
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
            v4 => v4,
        }
    }

    /// A place for one more conversation from `ip`, if it has fewer than the limit.
    fn enter(hosts: &Arc<Hosts>, ip: IpAddr) -> Option<HostSlot> {
        let key = Self::key(ip);
        let mut open = hosts.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key).or_insert(0);
        if *count >= hosts.limit {
            return None;
        }
        *count += 1;
        Some(HostSlot {
            hosts: Arc::clone(hosts),
            key,
        })
    }
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let mut open = self.hosts.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The bytes of unfinished DATA all conversations may hold together.
struct Budget {
    limit: usize,
    held: AtomicUsize,
}

/// One message's share of the [`Budget`], given back when dropped.
struct Share {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            held: AtomicUsize::new(0),
        }
    }

    /// `bytes` of the budget, if that many are free.
    fn take(budget: &Arc<Budget>, bytes: usize) -> Option<Share> {
        budget.reserve(bytes).then(|| Share {
            budget: Arc::clone(budget),
            bytes,
        })
    }

    fn reserve(&self, bytes: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|&after| after <= self.limit)
            })
            .is_ok()
    }
}

impl Share {
    /// Take `more` bytes into this share, if they are free.
    fn grow(&mut self, more: usize) -> bool {
        let grown = self.budget.reserve(more);
        if grown {
            self.bytes += more;
        }
        grown
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
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
async fn session<S, K>(
    stream: &mut BufReader<S>,
    security: Security,
    with: &With<'_, K>,
) -> std::io::Result<Next>
where
    S: AsyncRead + AsyncWrite + Unpin,
    K: InboundSink,
{
    let policy = with.policy;
    let mut greeted = false;
    let mut sender: Option<String> = None;
    let mut declared: Option<usize> = None;
    let mut recipients: Vec<String> = Vec::new();
    loop {
        let Ok(line) = timeout_at(with.deadline, read_line(stream)).await else {
            reply(stream, LATE.into()).await?;
            return Ok(Next::Close);
        };
        let Some(line) = line? else {
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
                Some((from, size)) => {
                    sender = Some(from);
                    declared = size;
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
                // Its share of the memory set aside for mail on its way in:
                // what it said it would be, else the most it may be.
                let want = declared.unwrap_or(policy.max_bytes).min(policy.max_bytes);
                let Some(mut share) = Budget::take(with.budget, want) else {
                    tracing::info!(peer = %with.peer, "DATA refused: the mail buffer is full");
                    reply(stream, NO_ROOM.into()).await?;
                    continue;
                };
                reply(stream, "354 End data with <CR><LF>.<CR><LF>".into()).await?;
                let read = read_data(stream, policy.max_bytes, &mut share);
                let Ok(data) = timeout_at(with.deadline, read).await else {
                    reply(stream, LATE.into()).await?;
                    return Ok(Next::Close);
                };
                let envelope = Envelope {
                    sender: sender.as_deref().unwrap_or_default(),
                    recipients: &recipients,
                    peer: with.peer,
                };
                let answer = match data? {
                    Data::Whole(bytes) => store(with.sink, &bytes, &envelope).await,
                    Data::NoRoom => {
                        tracing::info!(peer = %with.peer, "message dropped: the mail buffer filled while it came");
                        NO_ROOM.into()
                    }
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
                drop(share);
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

/// How a message came: what is recorded with it.
struct Envelope<'a> {
    /// `MAIL FROM` (empty for a bounce).
    sender: &'a str,
    /// `RCPT TO`, each.
    recipients: &'a [String],
    /// Who handed it over.
    peer: SocketAddr,
}

/// Store a message whole; the reply to DATA says whether it was.
async fn store<S: InboundSink>(sink: &S, bytes: &[u8], envelope: &Envelope<'_>) -> String {
    let peer = envelope.peer;
    let mail = match super::read(bytes) {
        Ok(mail) => mail,
        Err(e) => {
            tracing::warn!(%peer, reason = %e, "email refused");
            return format!("550 5.6.0 Refused: {e}");
        }
    };
    let key = mail.key.clone();
    let email = Received {
        mail,
        recipients: envelope.recipients.to_vec(),
        envelope_from: envelope.sender.to_owned(),
        peer: peer.ip().to_canonical(),
    };
    match sink.take(email).await {
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
    /// Outgrew its share of the mail buffer and found no more free; read
    /// to its end and dropped.
    NoRoom,
    /// So far over that it was not read to its end.
    FarTooBig,
}

/// Read DATA up to the line `.`, keeping at most `max` bytes, and no
/// more than `share` holds or can grow to.
async fn read_data<R: AsyncRead + Unpin>(
    read: &mut BufReader<R>,
    max: usize,
    share: &mut Share,
) -> std::io::Result<Data> {
    let mut message = Vec::new();
    let mut over = 0usize;
    let mut no_room = false;
    loop {
        let Some(line) = read_line(read).await? else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        if line == b"." {
            break;
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        let after = message.len() + line.len() + 2;
        if !no_room && over == 0 && after <= max && after > share.bytes {
            no_room = !share.grow(after - share.bytes);
        }
        if no_room || over > 0 || after > max {
            over += line.len() + 2;
            if over > max.saturating_mul(4) {
                return Ok(Data::FarTooBig);
            }
            continue;
        }
        message.extend_from_slice(line);
        message.extend_from_slice(b"\r\n");
    }
    Ok(match (over > 0, no_room) {
        (_, true) => Data::NoRoom,
        (true, false) => Data::TooBig,
        (false, false) => Data::Whole(message),
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
            max_per_host: 16,
            session_limit: Duration::from_secs(300),
            buffer_bytes: 4000,
            trust: SenderTrust::default(),
        };
        assert!(policy.takes("ward7@nightingale.trust.nhs.uk"));
        assert!(policy.takes("x@other.nhs.uk"));
        assert!(!policy.takes("x@evil.example"));
        assert!(!policy.takes("x@sub.nightingale.trust.nhs.uk"));
        assert!(!policy.takes("@nightingale.trust.nhs.uk"));
    }

    #[test]
    fn one_address_holds_at_most_its_share_of_conversations() {
        let hosts = Arc::new(Hosts::new(2));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a = Hosts::enter(&hosts, ip("192.0.2.1")).unwrap();
        let _b = Hosts::enter(&hosts, ip("192.0.2.1")).unwrap();
        assert!(Hosts::enter(&hosts, ip("192.0.2.1")).is_none());
        assert!(Hosts::enter(&hosts, ip("192.0.2.2")).is_some());
        drop(a);
        assert!(Hosts::enter(&hosts, ip("192.0.2.1")).is_some());
        // One IPv6 /64 is one host.
        let _c = Hosts::enter(&hosts, ip("2001:db8::1")).unwrap();
        let _d = Hosts::enter(&hosts, ip("2001:db8::2")).unwrap();
        assert!(Hosts::enter(&hosts, ip("2001:db8::ffff")).is_none());
        assert!(Hosts::enter(&hosts, ip("2001:db8:0:1::1")).is_some());
    }

    #[test]
    fn shares_of_the_mail_buffer_are_given_back_when_dropped() {
        let budget = Arc::new(Budget::new(100));
        let mut a = Budget::take(&budget, 60).unwrap();
        assert!(Budget::take(&budget, 50).is_none());
        assert!(a.grow(40));
        assert!(!a.grow(1));
        drop(a);
        assert_eq!(budget.held.load(Ordering::Acquire), 0);
        assert!(Budget::take(&budget, 100).is_some());
    }
}
