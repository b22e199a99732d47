//! A TCP relay in front of the gateway's HTTP port, so that a test can take the network away
//! from the browser's signaling WebSocket: [`TcpRelay::cut`] drops every relayed connection at
//! once, without a WebSocket Close frame on either side (RFC 6455 section 7.1.5: the connection
//! is then closed abnormally, code 1006), as a Wi-Fi to 4G handover would.

use anyhow::{Context, Result};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::support::ports::loopback;

/// Relays 127.0.0.1:`port()` to 127.0.0.1:`upstream`; stops on drop.
pub(crate) struct TcpRelay {
    port: u16,
    cut: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl TcpRelay {
    /// Listens on a free port of 127.0.0.1 and relays each connection to `upstream`.
    pub(crate) async fn start(upstream: u16) -> Result<TcpRelay> {
        let listener = TcpListener::bind(loopback(0))
            .await
            .context("binding the relay's port")?;
        let port = listener.local_addr()?.port();
        let (cut, cuts) = watch::channel(0u64);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut cuts = cuts.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(loopback(upstream)).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                    // Both sockets drop here: FIN to each side, no Close frame.
                });
            }
        });
        Ok(TcpRelay { port, cut, task })
    }

    /// The relay's port: `ws://127.0.0.1:<port>/ws?token=...` reaches the gateway through it.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Drops every connection relayed so far; new ones are still relayed.
    pub(crate) fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

impl Drop for TcpRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
