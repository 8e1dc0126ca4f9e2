//! An SMTP client for tests: speaks to Nightingale's listener over a real
//! socket, one command at a time, and returns each reply's code and text,
//! so a test can see exactly what the listener answers at each step.

#![allow(dead_code)]

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

/// One conversation with an SMTP server, in the clear or inside TLS.
pub struct SmtpClient<S = TcpStream> {
    stream: BufReader<S>,
}

/// A reply: its code and its lines' text, joined by newlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl SmtpClient {
    /// Connect and read the greeting (which must be 220).
    pub async fn connect(address: &str) -> Self {
        let (client, greeting) = Self::open_from(address, "127.0.0.1".parse().unwrap()).await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        client
    }

    /// Connect from the loopback address `local` (any of 127.0.0.0/8 on
    /// Linux), as another host would, and read the greeting, whatever it is.
    pub async fn open_from(address: &str, local: std::net::IpAddr) -> (Self, Reply) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(std::net::SocketAddr::new(local, 0)).unwrap();
        let stream = socket.connect(address.parse().unwrap()).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut client = Self {
            stream: BufReader::new(stream),
        };
        let greeting = client.reply().await;
        (client, greeting)
    }

    /// As [`SmtpClient::send`], from the loopback address `local`, with
    /// `SIZE=` declared at `MAIL` as a relay declares it.
    pub async fn send_from(
        address: &str,
        local: std::net::IpAddr,
        from: &str,
        to: &[&str],
        message: &str,
    ) -> Reply {
        let (client, greeting) = Self::open_from(address, local).await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        let mail_from = format!("MAIL FROM:<{from}> SIZE={}", message.len());
        client.transaction(&mail_from, to, message).await
    }

    /// From `EHLO` to the reply to `DATA`, then `QUIT`; every step before
    /// DATA must be accepted.
    async fn transaction(mut self, mail_from: &str, to: &[&str], message: &str) -> Reply {
        assert_eq!(self.command("EHLO relay.test").await.code, 250);
        let mail = self.command(mail_from).await;
        assert_eq!(mail.code, 250, "{mail:?}");
        for rcpt in to {
            let r = self.command(&format!("RCPT TO:<{rcpt}>")).await;
            assert_eq!(r.code, 250, "{r:?}");
        }
        let answer = self.data(message).await;
        let _ = self.command("QUIT").await;
        answer
    }

    /// Write raw bytes (part of a message after a 354), with no reply awaited.
    pub async fn write(&mut self, bytes: &[u8]) {
        let stream = self.stream.get_mut();
        stream.write_all(bytes).await.unwrap();
        stream.flush().await.unwrap();
    }

    /// Whether the server has closed the connection (the next read ends).
    pub async fn closed(&mut self) -> bool {
        let mut line = String::new();
        matches!(self.stream.read_line(&mut line).await, Ok(0) | Err(_))
    }

    /// Ask for `STARTTLS` (it must be granted) and shake hands, trusting
    /// only the CA certificate in PEM `ca` for the name `localhost`.
    pub async fn starttls(mut self, ca: &[u8]) -> SmtpClient<TlsStream<TcpStream>> {
        let go = self.command("STARTTLS").await;
        assert_eq!(go.code, 220, "{go:?}");
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(ca) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let stream = connector
            .connect(name, self.stream.into_inner())
            .await
            .unwrap();
        SmtpClient {
            stream: BufReader::new(stream),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> SmtpClient<S> {
    /// Read one reply, all its lines.
    pub async fn reply(&mut self) -> Reply {
        let mut text = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.stream.read_line(&mut line).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            let line = line.trim_end();
            let code: u16 = line[..3].parse().unwrap();
            text.push(line[4.min(line.len())..].to_owned());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Reply {
                    code,
                    text: text.join("\n"),
                };
            }
        }
    }

    /// Send one command line and read its reply.
    pub async fn command(&mut self, line: &str) -> Reply {
        let stream = self.stream.get_mut();
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        stream.flush().await.unwrap();
        self.reply().await
    }

    /// Send a message's bytes after a 354, dot-stuffed, and read the reply.
    pub async fn data(&mut self, message: &str) -> Reply {
        let go = self.command("DATA").await;
        assert_eq!(go.code, 354, "{go:?}");
        self.data_after_go(message).await
    }

    /// Send a message's bytes once `DATA` was answered 354, dot-stuffed,
    /// and read the reply.
    pub async fn data_after_go(&mut self, message: &str) -> Reply {
        let mut body = String::new();
        for line in message.lines() {
            if line.starts_with('.') {
                body.push('.');
            }
            body.push_str(line);
            body.push_str("\r\n");
        }
        body.push_str(".\r\n");
        let stream = self.stream.get_mut();
        stream.write_all(body.as_bytes()).await.unwrap();
        stream.flush().await.unwrap();
        self.reply().await
    }
}

impl SmtpClient {
    /// A whole transaction from `EHLO` to the reply to `DATA`; every step
    /// before DATA must be accepted.
    pub async fn send(address: &str, from: &str, to: &[&str], message: &str) -> Reply {
        let client = Self::connect(address).await;
        client
            .transaction(&format!("MAIL FROM:<{from}>"), to, message)
            .await
    }
}

/// One message a [`MailServer`] took: its envelope and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// `MAIL FROM`.
    pub mail_from: String,
    /// `RCPT TO`, each.
    pub rcpt_to: Vec<String>,
    /// The message, as DATA carried it (dot-unstuffed, CRLF line ends).
    pub data: String,
    /// When its DATA was taken (before the `250`).
    pub received_at: std::time::Instant,
}

impl Delivered {
    /// A header's value, unfolded, as written (not decoded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }

    /// The message read by mail-parser: its plain text and HTML parts, decoded.
    pub fn parts(&self) -> (String, String) {
        let message = mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .unwrap();
        (
            message.body_text(0).unwrap_or_default().into_owned(),
            message.body_html(0).unwrap_or_default().into_owned(),
        )
    }

    /// The subject, decoded.
    pub fn subject(&self) -> String {
        mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .unwrap()
            .subject()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A mail server for tests, on a random loopback port: it speaks enough
/// SMTP for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), records
/// every message it takes, and answers a recipient with a code a test
/// chose (`550` for good, `451` for now) instead of `250`.
#[derive(Clone)]
pub struct MailServer {
    address: std::net::SocketAddr,
    delivered: Arc<std::sync::Mutex<Vec<Delivered>>>,
    /// Recipient → the replies to give its `RCPT`, in turn (then `250`).
    refusals: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl MailServer {
    /// Start it.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let delivered = Arc::new(std::sync::Mutex::new(Vec::new()));
        let refusals = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
        let (d, r) = (Arc::clone(&delivered), Arc::clone(&refusals));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (d, r) = (Arc::clone(&d), Arc::clone(&r));
                tokio::spawn(async move {
                    let _ = serve_one(stream, d, r).await;
                });
            }
        });
        Self {
            address,
            delivered,
            refusals,
            task: Arc::new(task),
        }
    }

    /// The URL Nightingale sends through (`NIGHTINGALE_SMTP_URL`).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    /// Answer `RCPT TO:<to>` with each of `replies` in turn (e.g. "550 5.1.1
    /// No such user"), then with `250` again.
    pub fn refuse(&self, to: &str, replies: &[&str]) {
        self.refusals.lock().unwrap().insert(
            to.to_ascii_lowercase(),
            replies.iter().map(|r| (*r).to_owned()).collect(),
        );
    }

    /// Every message taken so far.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.delivered.lock().unwrap().clone()
    }

    /// Wait until at least `count` messages were taken, or `timeout` passed.
    pub async fn wait_for(&self, count: usize, timeout: std::time::Duration) {
        let until = std::time::Instant::now() + timeout;
        while self.delivered.lock().unwrap().len() < count && std::time::Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// The messages taken for `to`.
    pub fn delivered_to(&self, to: &str) -> Vec<Delivered> {
        self.delivered()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
            .collect()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

async fn serve_one(
    stream: TcpStream,
    delivered: Arc<std::sync::Mutex<Vec<Delivered>>>,
    refusals: Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut stream = BufReader::new(stream);
    stream
        .get_mut()
        .write_all(b"220 mail.test ESMTP\r\n")
        .await?;
    let (mut from, mut rcpts) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let path = || {
            let (a, b) = (line.find('<'), line.find('>'));
            match (a, b) {
                (Some(a), Some(b)) if a < b => line[a + 1..b].to_owned(),
                _ => String::new(),
            }
        };
        let answer = match verb.as_str() {
            "EHLO" => "250-mail.test\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned(),
            "HELO" | "NOOP" => "250 OK".to_owned(),
            "RSET" => {
                (from, rcpts) = (String::new(), Vec::new());
                "250 OK".to_owned()
            }
            "MAIL" => {
                (from, rcpts) = (path(), Vec::new());
                "250 OK".to_owned()
            }
            "RCPT" => {
                let to = path();
                let refusal = {
                    let mut refusals = refusals.lock().unwrap();
                    refusals
                        .get_mut(&to.to_ascii_lowercase())
                        .and_then(|r| (!r.is_empty()).then(|| r.remove(0)))
                };
                match refusal {
                    Some(reply) => reply,
                    None => {
                        rcpts.push(to);
                        "250 OK".to_owned()
                    }
                }
            }
            "DATA" if rcpts.is_empty() => "554 No valid recipients".to_owned(),
            "DATA" => {
                stream.get_mut().write_all(b"354 Go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if stream.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                delivered.lock().unwrap().push(Delivered {
                    mail_from: std::mem::take(&mut from),
                    rcpt_to: std::mem::take(&mut rcpts),
                    data,
                    received_at: std::time::Instant::now(),
                });
                "250 2.0.0 Queued".to_owned()
            }
            "QUIT" => {
                stream.get_mut().write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 Command not implemented".to_owned(),
        };
        stream
            .get_mut()
            .write_all(format!("{answer}\r\n").as_bytes())
            .await?;
    }
}
