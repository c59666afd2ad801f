//! Network faults: a TCP proxy a test switches off, on or stalls, to cut a dependency without
//! touching it.

/// A TCP proxy to a fixed target that a test can switch off (refusing and cutting connections)
/// and on again, or stall, to simulate a broker or storage outage without touching the target.
#[derive(Debug)]
pub struct Proxy {
    pub addr: String,
    enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Cut the next connection once it has carried this many bytes from the client (0: never).
    cut_after: std::sync::Arc<std::sync::atomic::AtomicU64>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        use std::sync::{Arc, Mutex, atomic::AtomicBool};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let enabled = Arc::new(AtomicBool::new(true));
        let stalled = Arc::new(AtomicBool::new(false));
        let stall = stalled.clone();
        let cut_after = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let cut = cut_after.clone();
        let connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> =
            Arc::new(Mutex::new(Vec::new()));
        let (target, on, conns) = (target.to_owned(), enabled.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !on.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (target, stalled, cut) = (target.clone(), stall.clone(), cut.clone());
                let task = tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut from_client, mut to_client) = inbound.split();
                    let (mut from_target, mut to_target) = outbound.into_split();
                    let upstream = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut carried = 0u64;
                        loop {
                            let n = from_client.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<(), std::io::Error>(());
                            }
                            let limit = cut.load(std::sync::atomic::Ordering::SeqCst);
                            if limit > 0 && carried + n as u64 >= limit {
                                // Forward up to the limit, then drop both sides.
                                let rest = usize::try_from(limit - carried).unwrap_or(n).min(n);
                                to_target.write_all(&buf[..rest]).await?;
                                to_target.flush().await?;
                                cut.store(0, std::sync::atomic::Ordering::SeqCst);
                                return Ok(());
                            }
                            carried += n as u64;
                            to_target.write_all(&buf[..n]).await?;
                        }
                    };
                    let downstream = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = from_target.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<(), std::io::Error>(());
                            }
                            if !stalled.load(std::sync::atomic::Ordering::SeqCst) {
                                to_client.write_all(&buf[..n]).await?;
                            }
                        }
                    };
                    tokio::select! {
                        _ = upstream => {}
                        _ = downstream => {}
                    }
                });
                conns.lock().expect("proxy lock").push(task);
            }
        });
        Self {
            addr,
            enabled,
            stalled,
            cut_after,
            connections,
            accept,
        }
    }

    /// Stalled: what the target sends is dropped (the connection stays open, nothing arrives:
    /// a broker whose confirms never come); what the client sends still goes through. Ending a
    /// stall cuts the open connections, whose streams have lost bytes.
    pub fn set_stalled(&self, stalled: bool) {
        self.stalled
            .store(stalled, std::sync::atomic::Ordering::SeqCst);
        if !stalled {
            for task in self.connections.lock().expect("proxy lock").drain(..) {
                task.abort();
            }
        }
    }

    /// Cuts the next connection that carries `bytes` from the client, once it has forwarded
    /// them: a network that drops mid-request.
    pub fn cut_after(&self, bytes: u64) {
        self.cut_after
            .store(bytes, std::sync::atomic::Ordering::SeqCst);
    }

    /// Off: new connections are refused and open ones are cut.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, std::sync::atomic::Ordering::SeqCst);
        if !on {
            for task in self.connections.lock().expect("proxy lock").drain(..) {
                task.abort();
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.set_enabled(false);
        self.accept.abort();
    }
}
