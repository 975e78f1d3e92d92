//! A TCP proxy on 127.0.0.1 that puts real network faults between Rota and its database (the
//! Toxiproxy pattern, written here so the tests need nothing else): it passes traffic, cuts
//! every connection and refuses new ones (a database restart or failover), or freezes traffic
//! in both directions without closing anything (a network that stops delivering: a hung
//! switch, a paused VM). The proxy and its connections stop when it is dropped.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does to traffic right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes flow both ways.
    None,
    /// Every open connection is closed and new ones are reset as soon as they are accepted.
    Cut,
    /// Connections stay open (new ones are accepted) but no byte moves in either direction
    /// until the fault ends; what was sent meanwhile waits in the sockets' buffers.
    Freeze,
}

pub struct FaultProxy {
    addr: SocketAddr,
    faults: watch::Sender<Fault>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on a free port of 127.0.0.1 that forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fault proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let (faults, _) = watch::channel(Fault::None);
        let accept = tokio::spawn(accept_loop(listener, upstream, faults.subscribe()));
        FaultProxy { addr, faults, accept }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` (a `postgres://` URL) with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let credentials = authority.rsplit_once('@').map(|(user, _)| format!("{user}@"));
        format!("{scheme}://{}{}/{path}", credentials.unwrap_or_default(), self.addr)
    }

    pub fn fault(&self) -> Fault {
        *self.faults.borrow()
    }

    /// Traffic flows again (after a cut, clients must reconnect).
    pub fn pass(&self) {
        self.faults.send_replace(Fault::None);
    }

    /// Closes every connection and refuses new ones until [`FaultProxy::pass`].
    pub fn cut(&self) {
        self.faults.send_replace(Fault::Cut);
    }

    /// Holds every byte in both directions until [`FaultProxy::pass`], closing nothing.
    pub fn freeze(&self) {
        self.faults.send_replace(Fault::Freeze);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Every relay ends when the sender is gone; the accept loop is stopped here.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, faults: watch::Receiver<Fault>) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        if *faults.borrow() == Fault::Cut {
            // A reset, not an orderly close: the client's connect fails at once, as against a
            // server that is not there. (Deprecated because a positive linger blocks the
            // thread on drop; a zero linger never does.)
            #[allow(deprecated)]
            let _ = client.set_linger(Some(Duration::ZERO));
            drop(client);
            continue;
        }
        let faults = faults.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else { return };
            relay(client, server, faults).await;
        });
    }
}

/// Copies bytes both ways until either side closes or the connection is cut.
async fn relay(client: TcpStream, server: TcpStream, mut faults: watch::Receiver<Fault>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let both_ways = futures::future::join(
        pump(client_read, server_write, faults.clone()),
        pump(server_read, client_write, faults.clone()),
    );
    tokio::select! {
        _ = both_ways => {}
        // Returning drops all four halves: both sockets close.
        _ = faults.wait_for(|fault| *fault == Fault::Cut) => {}
    }
}

/// One direction of a connection: reads only while traffic passes, and holds what it read
/// while frozen.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut faults: watch::Receiver<Fault>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if faults.wait_for(|fault| *fault == Fault::None).await.is_err() {
            return;
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            // A fault began while waiting for bytes: look again before reading any.
            changed = faults.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        let count = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(count) => count,
        };
        if faults.wait_for(|fault| *fault == Fault::None).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..count]).await.is_err() {
            return;
        }
    }
}
