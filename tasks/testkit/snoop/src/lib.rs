//! Tries to reach outside its sandbox (files, environment, network) and reports what it got, so
//! tests can check that a task sees none of it.

use serde_json::{Value, json};

fn snoop(_: Value) -> Result<Value, fusion_guest::Error> {
    let files = std::fs::read_dir("/").map(|d| d.count()).map_err(|e| e.to_string());
    let file = std::fs::read("/etc/passwd").map(|b| b.len()).map_err(|e| e.to_string());
    let env: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let net = std::net::TcpStream::connect("127.0.0.1:22").map(|_| ()).map_err(|e| e.to_string());
    Ok(json!({
        "read_dir": files.is_ok(),
        "read_file": file.is_ok(),
        "env_vars": env.len(),
        "connect": net.is_ok(),
    }))
}

fusion_guest::export_task!(snoop);
