//! An OTLP/HTTP receiver on loopback (`otlp_receiver.py`) that decodes what the hosts export with
//! the official protocol definitions from PyPI, for the tests of trace export.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROTO: &str = "opentelemetry-proto==1.45.2";

/// A running receiver, stopped when dropped.
pub struct Receiver {
    _server: super::Killed,
    dir: tempfile::TempDir,
    /// Its base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub url: String,
}

impl Receiver {
    /// Starts the receiver and waits until it listens.
    pub fn start() -> Receiver {
        let python = super::python_venv("otlp-receiver", PROTO).join("bin/python");
        let dir = tempfile::tempdir().unwrap();
        let (port_file, spans) = (dir.path().join("port"), dir.path().join("spans.jsonl"));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/end_to_end/support/otlp_receiver.py");
        let server = super::Killed(Command::new(python).arg(script).arg(&port_file).arg(&spans).stdout(Stdio::null()).spawn().expect("the receiver starts"));
        let started = Instant::now();
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file).ok().filter(|p| !p.is_empty()) {
                break port;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the OTLP receiver did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        Receiver { _server: server, dir, url: format!("http://127.0.0.1:{port}") }
    }

    /// Every span received so far, as the receiver decoded it.
    pub fn spans(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.path().join("spans.jsonl")).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).expect("the receiver writes JSON lines")).collect()
    }
}
