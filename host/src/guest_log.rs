//! A guest's stderr, kept to its last few KiB: enough to explain a trap ("panicked at …") without
//! letting a chatty guest fill the host's memory or see its writes fail.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi_io::async_trait;
use wasmtime_wasi_io::bytes::Bytes;

const KEEP: usize = 4096;

#[derive(Clone, Default)]
pub struct GuestLog(Arc<Mutex<Vec<u8>>>);

impl GuestLog {
    fn append(&self, bytes: &[u8]) {
        let mut log = self.0.lock().unwrap();
        log.extend_from_slice(bytes);
        if log.len() > KEEP {
            let excess = log.len() - KEEP;
            log.drain(..excess);
        }
    }

    /// The last two lines written, leaving out hints like Rust's "note: run with
    /// RUST_BACKTRACE=1": for a panic, where it happened and its message.
    pub fn last_words(&self) -> Option<String> {
        let log = self.0.lock().unwrap();
        let text = String::from_utf8_lossy(&log);
        let mut lines: Vec<&str> =
            text.lines().rev().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("note: ")).take(2).collect();
        lines.reverse();
        (!lines.is_empty()).then(|| lines.join(" "))
    }
}

impl IsTerminal for GuestLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestLog {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait]
impl OutputStream for GuestLog {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(KEEP)
    }
}

#[async_trait]
impl Pollable for GuestLog {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestLog {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
