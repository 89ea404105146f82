//! envd, the sandbox's own API on port 49983, as far as the kit uses it: `GET /health`, and
//! `GET /files?path=P&username=U` with `X-Access-Token` serving a file from the folder
//! registered as the sandbox's `/`.

use std::path::{Component, Path, PathBuf};

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::wire::{query_pairs, Head, Response};

/// Answers the one request in `head` (the sandbox is running and, when it is private, its
/// traffic was accepted at the edge) and closes the connection.
pub(crate) async fn answer(
    mut conn: TcpStream,
    head: &Head,
    root: Option<PathBuf>,
    token: Option<String>,
    mut cut: watch::Receiver<u64>,
) {
    let answer = respond(head, root.as_deref(), token.as_deref());
    tokio::select! {
        _ = answer.write(&mut conn, true) => {}
        _ = cut.changed() => return,
    }
    let _ = conn.shutdown().await;
}

fn error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({ "code": status, "message": message }))
}

fn respond(head: &Head, root: Option<&Path>, token: Option<&str>) -> Response {
    match (head.method.as_str(), head.path()) {
        ("GET", "/health") => Response::empty(204),
        ("GET", "/files") => {
            if let Some(want) = token {
                match head.header("x-access-token") {
                    Some(got) if got == want => {}
                    Some(_) => return error(401, "invalid access token"),
                    None => return error(401, "missing access token"),
                }
            }
            let query = query_pairs(head.query());
            let Some((_, path)) = query.iter().find(|(k, _)| k == "path") else {
                return error(400, "path is required");
            };
            let Some(local) = root.and_then(|root| inside(root, path)) else {
                return error(404, &format!("path '{path}' does not exist"));
            };
            // A few small files: reading them in place does not hold the runtime up.
            match std::fs::read(&local) {
                Ok(bytes) => Response {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                    body: bytes,
                },
                Err(_) => error(404, &format!("path '{path}' does not exist")),
            }
        }
        _ => error(404, "not found"),
    }
}

/// `path` (absolute, in the sandbox) under `root`, refusing `..` and relative paths.
fn inside(root: &Path, path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return None;
    }
    let mut out = root.to_path_buf();
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => out.push(part),
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = Path::new("/tmp/root");
        assert_eq!(
            inside(root, "/etc/ssh/k.pub"),
            Some(PathBuf::from("/tmp/root/etc/ssh/k.pub"))
        );
        assert_eq!(inside(root, "/etc/../../x"), None);
        assert_eq!(inside(root, "etc/x"), None);
    }
}
