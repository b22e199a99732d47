//! A minimal HTTP server on 127.0.0.1 that answers every request with 200 "ok": a secure-context
//! page (http://127.0.0.1 is potentially trustworthy) for browser tests that need no gateway.

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The stub server; stops on drop.
pub(crate) struct StubHttp {
    port: u16,
    task: JoinHandle<()>,
}

impl StubHttp {
    /// Starts the server on a free port of 127.0.0.1.
    pub(crate) async fn start() -> Result<StubHttp> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    // One read is enough for a browser's GET head; the content is ignored.
                    let _ = stream.read(&mut request).await;
                    let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
                                    Content-Length: 2\r\nConnection: close\r\n\r\nok";
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Ok(StubHttp { port, task })
    }

    /// `http://127.0.0.1:<port>/`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for StubHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}
