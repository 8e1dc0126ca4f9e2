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
        let stream = TcpStream::connect(address).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let mut client = Self {
            stream: BufReader::new(stream),
        };
        let greeting = client.reply().await;
        assert_eq!(greeting.code, 220, "{greeting:?}");
        client
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
        let mut client = Self::connect(address).await;
        assert_eq!(client.command("EHLO relay.test").await.code, 250);
        let mail = client.command(&format!("MAIL FROM:<{from}>")).await;
        assert_eq!(mail.code, 250, "{mail:?}");
        for rcpt in to {
            let r = client.command(&format!("RCPT TO:<{rcpt}>")).await;
            assert_eq!(r.code, 250, "{r:?}");
        }
        let answer = client.data(message).await;
        let _ = client.command("QUIT").await;
        answer
    }
}
