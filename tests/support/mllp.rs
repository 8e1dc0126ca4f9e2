//! An integration engine's side of MLLP, as Mirth or Rhapsody speaks it:
//! one frame out, wait for the ACK's frame back; and the pieces of an ACK
//! a test reads.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A connection to Nightingale's MLLP listener.
pub struct Engine {
    stream: TcpStream,
}

impl Engine {
    /// Connect to `address` (`host:port`).
    pub async fn connect(address: &str) -> Self {
        Self {
            stream: TcpStream::connect(address)
                .await
                .expect("MLLP listener reachable"),
        }
    }

    /// Send raw bytes, framed or not (garbage, half a frame).
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Send one message in a frame and wait for its ACK.
    pub async fn send(&mut self, message: &str) -> Ack {
        let mut bytes = vec![0x0B];
        bytes.extend_from_slice(message.as_bytes());
        bytes.extend_from_slice(&[0x1C, 0x0D]);
        self.send_bytes(&bytes).await;
        self.ack().await
    }

    /// Read the next ACK frame.
    pub async fn ack(&mut self) -> Ack {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            let n = self.stream.read(&mut byte).await.unwrap();
            assert_eq!(
                n,
                1,
                "the connection closed before the ACK ended: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.push(byte[0]);
            if got.ends_with(&[0x1C, 0x0D]) {
                break;
            }
        }
        assert_eq!(got[0], 0x0B, "an ACK frame starts with 0x0B");
        Ack(String::from_utf8(got[1..got.len() - 2].to_vec()).unwrap())
    }
}

/// An ACK as ER7 text.
#[derive(Debug, Clone)]
pub struct Ack(pub String);

impl Ack {
    /// Field `n` of the first segment named `name` (MSH counted as HL7 does).
    pub fn field(&self, name: &str, n: usize) -> String {
        let segment = self
            .0
            .split('\r')
            .find(|s| s.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.0));
        let fields: Vec<&str> = segment.split('|').collect();
        let i = if name == "MSH" { n - 1 } else { n };
        fields.get(i).copied().unwrap_or("").to_owned()
    }

    /// MSA-1: AA, AE or AR.
    pub fn code(&self) -> String {
        self.field("MSA", 1)
    }

    /// MSA-2: the MSH-10 it answers.
    pub fn answers(&self) -> String {
        self.field("MSA", 2)
    }
}
