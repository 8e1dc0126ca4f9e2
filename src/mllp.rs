//! The MLLP listener: HL7 v2 messages from the trust's integration engine
//! (NextGen Connect/Mirth, Rhapsody, InterSystems) over TCP, each framed
//! `0x0B` … `0x1C 0x0D`, each answered with its ACK in a frame of its own.
//!
//! It accepts many connections, and on each takes one message at a time:
//! the next is not read until the last is answered, so a connection's
//! messages are acted on in the order they were sent (an engine sends the
//! next only after the ACK anyway). Bytes outside a frame are skipped; a
//! frame larger than [`Policy::max_bytes`] is read to its end, not kept,
//! and answered `AR`; a connection silent for [`Policy::idle`] is closed.
//! Only addresses [`Policy::allows`] may connect (`NIGHTINGALE_MLLP_ALLOW`),
//! and with a certificate the connection is TLS from its first byte (as
//! engines' "TLS" MLLP settings expect), by rustls as the SMTP listener's.
//!
//! What a message means and what it is answered is not decided here: each
//! whole frame goes to a [`MessageSink`] (`operations` acts on it), which
//! answers once it has stored it. Logs name connections by peer address
//! only; nothing of a message is logged here.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Starts a frame.
pub const START: u8 = 0x0B;
/// Ends a frame, followed by [`CR`].
pub const END: u8 = 0x1C;
/// After [`END`].
pub const CR: u8 = 0x0D;

/// How many connections are served at once; past it a connection is
/// closed at once and the engine retries.
pub const MAX_CONNECTIONS: usize = 64;

/// How much of a message too large to take is kept, to read its MSH for the `AR`.
pub const HEAD_KEPT: usize = 4096;

/// Where the listener hands each message, and who writes the answers.
pub trait MessageSink: Clone + Send + Sync + 'static {
    /// Store and act on one message (its bytes as text); answer the ACK,
    /// which goes back once this returns.
    fn take(&self, message: String) -> impl Future<Output = String> + Send;
    /// The `AR` for a message larger than the listener takes, from its
    /// first [`HEAD_KEPT`] bytes.
    fn too_large(&self, head: String) -> String;
}

/// What the listener allows.
#[derive(Clone)]
pub struct Policy {
    /// Who may connect: the integration engine's addresses.
    pub allows: Arc<dyn Fn(IpAddr) -> bool + Send + Sync>,
    /// The largest message taken, in bytes.
    pub max_bytes: usize,
    /// How long a connection may stay silent before it is closed.
    pub idle: Duration,
}

/// What a run of bytes held, frame by frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole message.
    Message(Vec<u8>),
    /// A message past the limit: its first [`HEAD_KEPT`] bytes.
    TooLarge(Vec<u8>),
}

/// Splits bytes as they arrive into frames.
#[derive(Debug)]
pub struct Deframer {
    max_bytes: usize,
    /// Inside a frame: its bytes so far (at most `HEAD_KEPT` once too large).
    current: Option<Vec<u8>>,
    /// How many bytes the current frame has had.
    length: usize,
    /// The last byte was [`END`]: a [`CR`] after it is part of the frame end.
    after_end: bool,
    /// Bytes skipped outside frames (garbage between messages).
    skipped: usize,
}

impl Deframer {
    /// Frames of at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            current: None,
            length: 0,
            after_end: false,
            skipped: 0,
        }
    }

    /// Bytes skipped outside frames since the last call.
    pub fn take_skipped(&mut self) -> usize {
        std::mem::take(&mut self.skipped)
    }

    /// Add bytes; the frames they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        for &b in bytes {
            if self.after_end {
                self.after_end = false;
                if b == CR {
                    continue;
                }
            }
            match (&mut self.current, b) {
                (_, START) => {
                    // A frame begun again: what came before it is dropped.
                    if let Some(partial) = self.current.take() {
                        self.skipped += partial.len();
                    }
                    self.current = Some(Vec::new());
                    self.length = 0;
                }
                (None, _) => self.skipped += 1,
                (Some(_), END) => {
                    let body = self.current.take().unwrap_or_default();
                    out.push(if self.length > self.max_bytes {
                        Frame::TooLarge(body)
                    } else {
                        Frame::Message(body)
                    });
                    self.after_end = true;
                }
                (Some(body), b) => {
                    self.length += 1;
                    if self.length <= self.max_bytes {
                        body.push(b);
                    } else if body.len() > HEAD_KEPT {
                        body.truncate(HEAD_KEPT);
                        body.shrink_to_fit();
                    }
                }
            }
        }
        out
    }
}

/// A message's bytes as text: UTF-8, or else Latin-1 (HL7 v2's usual
/// 8-bit set), so no byte is lost.
pub fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| e.into_bytes().iter().map(|&b| b as char).collect())
}

/// `text` framed.
pub fn frame(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 3);
    out.push(START);
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&[END, CR]);
    out
}

/// Serve MLLP on `listener` until `shutdown` completes, in TLS with `tls`
/// when given, handing each message to `sink`.
pub async fn serve<S: MessageSink>(
    listener: TcpListener,
    policy: Policy,
    tls: Option<TlsAcceptor>,
    sink: S,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "MLLP accept failed");
                    continue;
                }
            },
        };
        if !(policy.allows)(peer.ip().to_canonical()) {
            tracing::warn!(%peer, "MLLP connection refused: not in NIGHTINGALE_MLLP_ALLOW");
            continue;
        }
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, "MLLP connection refused: {MAX_CONNECTIONS} already open");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (policy, sink, tls) = (policy.clone(), sink.clone(), tls.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let result = match tls {
                None => connection(stream, &policy, &sink, peer).await,
                Some(acceptor) => {
                    match tokio::time::timeout(policy.idle, acceptor.accept(stream)).await {
                        Ok(Ok(secure)) => connection(secure, &policy, &sink, peer).await,
                        Ok(Err(e)) => Err(e),
                        Err(_) => Ok(()),
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "MLLP connection ended");
            }
        });
    }
}

/// One connection: frames read and answered one at a time, until the
/// peer closes it or stays silent past the idle limit.
async fn connection<T, S>(
    mut stream: T,
    policy: &Policy,
    sink: &S,
    peer: SocketAddr,
) -> std::io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    S: MessageSink,
{
    tracing::debug!(%peer, "MLLP connection opened");
    let mut deframer = Deframer::new(policy.max_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match tokio::time::timeout(policy.idle, stream.read(&mut buf)).await {
            Err(_) => {
                tracing::info!(%peer, "MLLP connection closed: idle");
                return Ok(());
            }
            Ok(read) => read?,
        };
        if n == 0 {
            return Ok(());
        }
        for f in deframer.push(&buf[..n]) {
            let answer = match f {
                Frame::Message(bytes) => sink.take(text(bytes)).await,
                Frame::TooLarge(head) => {
                    tracing::warn!(%peer, limit = policy.max_bytes, "MLLP message too large: answered AR");
                    sink.too_large(text(head))
                }
            };
            stream.write_all(&frame(&answer)).await?;
            stream.flush().await?;
        }
        let skipped = deframer.take_skipped();
        if skipped > 0 {
            tracing::warn!(%peer, bytes = skipped, "MLLP bytes outside a frame skipped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_found_across_reads_and_garbage_between_them_is_skipped() {
        let mut d = Deframer::new(100);
        let mut bytes = b"noise".to_vec();
        bytes.extend(frame("MSH|one"));
        bytes.extend(b"\r\n??");
        bytes.extend(frame("MSH|two"));
        let (a, b) = bytes.split_at(9);
        let mut frames = d.push(a);
        frames.extend(d.push(b));
        assert_eq!(
            frames,
            [
                Frame::Message(b"MSH|one".to_vec()),
                Frame::Message(b"MSH|two".to_vec())
            ]
        );
        assert_eq!(d.take_skipped(), 5 + 4);
    }

    #[test]
    fn a_frame_past_the_limit_keeps_only_its_head_and_the_next_is_whole() {
        let mut d = Deframer::new(10);
        let big = "MSH|".to_owned() + &"x".repeat(HEAD_KEPT * 2);
        let mut bytes = frame(&big);
        bytes.extend(frame("MSH|ok"));
        let frames = d.push(&bytes);
        match &frames[0] {
            Frame::TooLarge(head) => assert!(head.starts_with(b"MSH|") && head.len() <= HEAD_KEPT),
            other => panic!("{other:?}"),
        }
        assert_eq!(frames[1], Frame::Message(b"MSH|ok".to_vec()));
    }

    #[test]
    fn a_frame_begun_again_drops_the_unfinished_one() {
        let mut d = Deframer::new(100);
        let mut bytes = vec![START];
        bytes.extend(b"MSH|half");
        bytes.extend(frame("MSH|whole"));
        assert_eq!(d.push(&bytes), [Frame::Message(b"MSH|whole".to_vec())]);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_read_as_latin1() {
        assert_eq!(text(b"Bront\xeb".to_vec()), "Brontë");
        assert_eq!(text("Brontë".as_bytes().to_vec()), "Brontë");
    }
}
