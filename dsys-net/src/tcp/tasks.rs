//! The transport's tasks: connecting with capped exponential backoff, the
//! handshake frames, a link's write loop, listening, and serving an inbound
//! connection. The transport's state and public API are in `tcp.rs`.

use super::*;

/// Exponential backoff with jitter: waits `d` drawn from `[b/2, b]`, then
/// doubles `b` up to the maximum.
#[derive(Debug)]
pub(super) struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max,
            current: min,
        }
    }

    fn reset(&mut self) {
        self.current = self.min;
    }

    fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        let nanos = base.as_nanos().min(u64::MAX as u128) as u64;
        Duration::from_nanos(rand::random_range(nanos / 2..=nanos))
    }
}

/// Waits until shutdown is signalled.
pub(super) async fn shut_down(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|&down| down).await;
}

/// Reads the next handshake frame.
pub(super) async fn read_handshake_frame(
    stream: &mut TcpStream,
    decoder: &mut FrameDecoder,
) -> std::result::Result<Vec<u8>, Rejection> {
    let mut buf = [0u8; 512];
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => {}
            Err(e) => return Err(Rejection::Malformed(e.to_string())),
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return Err(Rejection::Closed),
            Ok(n) => decoder.extend(&buf[..n]),
        }
    }
}

pub(super) async fn write_handshake_frame(
    stream: &mut TcpStream,
    payload: &[u8],
) -> std::result::Result<(), Rejection> {
    let mut frame = Vec::with_capacity(payload.len() + 4);
    encode_frame(payload, handshake::HANDSHAKE_FRAME_BYTES_MAX, &mut frame)
        .map_err(|e| Rejection::Malformed(e.to_string()))?;
    stream
        .write_all(&frame)
        .await
        .map_err(|_| Rejection::Closed)
}

/// Why connecting failed.
#[derive(Debug)]
pub(super) enum ConnectError {
    Io(std::io::Error),
    Refused(Rejection),
    Timeout,
    NoAddress,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Io(e) => write!(f, "{e}"),
            ConnectError::Refused(r) => write!(f, "{r}"),
            ConnectError::Timeout => f.write_str("connecting and the handshake timed out"),
            ConnectError::NoAddress => f.write_str("no address in the peer table"),
        }
    }
}

pub(super) async fn connect<M: Message>(
    shared: &Shared<M>,
    from: NodeId,
    to: NodeId,
    addr: SocketAddr,
) -> std::result::Result<(TcpStream, Session), ConnectError> {
    let (mut connector, hello) =
        Connector::start(&shared.credentials(), from, to).map_err(ConnectError::Refused)?;
    let mut stream = TcpStream::connect(addr).await.map_err(ConnectError::Io)?;
    stream.set_nodelay(true).map_err(ConnectError::Io)?;
    let mut decoder = FrameDecoder::new(handshake::HANDSHAKE_FRAME_BYTES_MAX);
    write_handshake_frame(&mut stream, &hello)
        .await
        .map_err(ConnectError::Refused)?;
    loop {
        let frame = read_handshake_frame(&mut stream, &mut decoder)
            .await
            .map_err(ConnectError::Refused)?;
        match connector.on_frame(&frame).map_err(ConnectError::Refused)? {
            ConnectorStep::Send(payload) => write_handshake_frame(&mut stream, &payload)
                .await
                .map_err(ConnectError::Refused)?,
            ConnectorStep::Open(session) => {
                if decoder.buffered() > 0 {
                    return Err(ConnectError::Refused(Rejection::Unexpected(
                        "the acceptor sent bytes after its welcome",
                    )));
                }
                return Ok((stream, session));
            }
        }
    }
}

/// How a connected link's writing ended.
pub(super) enum Ended {
    Shutdown,
    Broken,
}

/// One outbound link: connect (with backoff), write, reconnect, until shutdown.
pub(super) async fn run_link<M: Message>(
    shared: Arc<Shared<M>>,
    link: Arc<LinkCounters>,
    mut rx: mpsc::Receiver<M>,
) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut backoff = Backoff::new(shared.backoff_min, shared.backoff_max);
    let mut connected_before = false;
    let mut failures = 0u64;
    let mut disconnected_since = tokio::time::Instant::now();
    loop {
        let attempt = async {
            let addr = shared.peer_addr(link.to).ok_or(ConnectError::NoAddress)?;
            match tokio::time::timeout(
                shared.handshake_timeout,
                connect(&shared, link.from, link.to, addr),
            )
            .await
            {
                Ok(result) => result.map(|(stream, session)| (stream, session, addr)),
                Err(_) => Err(ConnectError::Timeout),
            }
        };
        let result = tokio::select! {
            result = attempt => result,
            _ = shut_down(&mut shutdown) => break,
        };
        match result {
            Ok((stream, session, addr)) => {
                shared.counters.connections_opened.bump();
                if connected_before {
                    shared.counters.reconnects.bump();
                    link.reconnects.bump();
                }
                connected_before = true;
                failures = 0;
                backoff.reset();
                tracing::info!(%addr, "connected");
                link.connected.store(true, Ordering::Relaxed);
                let ended =
                    write_loop(&shared, &link, &mut rx, stream, session, &mut shutdown).await;
                link.connected.store(false, Ordering::Relaxed);
                disconnected_since = tokio::time::Instant::now();
                if let Ended::Shutdown = ended {
                    return;
                }
            }
            Err(error) => {
                failures += 1;
                shared.counters.connect_failures.bump();
                link.connect_failures.bump();
                if let ConnectError::Refused(rejection) = &error {
                    shared.rejections.count(rejection.reason());
                }
                if worth_warning(failures) {
                    tracing::warn!(%error, failures, "cannot connect to peer; retrying with backoff");
                } else {
                    tracing::debug!(%error, failures, "cannot connect to peer");
                }
                let unreachable = disconnected_since.elapsed();
                if unreachable >= shared.give_up_after {
                    let lost = shared.give_up(link.from, link.to, &mut rx);
                    tracing::info!(
                        ?unreachable,
                        lost,
                        "peer unreachable: link closed, queued messages dropped (the next message tries again)"
                    );
                    return;
                }
            }
        }
        let delay = backoff.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = link.wake.notified() => {
                tracing::debug!("the peer connected to us: dialling it now");
                backoff.reset();
            }
            _ = shut_down(&mut shutdown) => break,
        }
    }
    // Shut down while disconnected: what is queued cannot go.
    rx.close();
    let mut lost = 0;
    while rx.try_recv().is_ok() {
        lost += 1;
    }
    if lost > 0 {
        shared.counters.dropped_shutdown.add(lost);
        tracing::info!(lost, "shutdown: messages for an unreachable peer dropped");
    }
}

/// Writes batches until the connection breaks or shutdown.
pub(super) async fn write_loop<M: Message>(
    shared: &Shared<M>,
    link: &LinkCounters,
    rx: &mut mpsc::Receiver<M>,
    stream: TcpStream,
    mut session: Session,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let (mut reader, mut writer) = stream.into_split();
    let mut batch = Vec::with_capacity(BATCH_BYTES_MAX + 4096);
    let mut sealed = Vec::with_capacity(BATCH_BYTES_MAX + 8192);
    let mut scratch = Vec::with_capacity(1024);
    let mut probe = [0u8; 64];
    loop {
        let (first, closing) = tokio::select! {
            biased;
            msg = rx.recv() => match msg {
                Some(msg) => (msg, false),
                None => return Ended::Shutdown,
            },
            _ = shut_down(shutdown) => {
                rx.close();
                match rx.try_recv() {
                    Ok(msg) => (msg, true),
                    Err(_) => {
                        let _ = writer.shutdown().await;
                        return Ended::Shutdown;
                    }
                }
            }
            read = reader.read(&mut probe) => {
                match read {
                    Ok(0) => tracing::info!("the peer closed the connection; reconnecting"),
                    Ok(_) => tracing::warn!("the peer sent bytes on an outbound connection (protocol error); reconnecting"),
                    Err(error) => tracing::info!(%error, "connection lost; reconnecting"),
                }
                return Ended::Broken;
            }
        };
        // Drain everything queued into one buffer: one write for the lot.
        batch.clear();
        let mut frames = u64::from(shared.encode_into(link.to, &first, &mut scratch, &mut batch));
        let mut taken = 1u64;
        while batch.len() < BATCH_BYTES_MAX || closing {
            match rx.try_recv() {
                Ok(msg) => {
                    taken += 1;
                    frames +=
                        u64::from(shared.encode_into(link.to, &msg, &mut scratch, &mut batch));
                }
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        sealed.clear();
        if let Err(error) = session.seal(&batch, &mut sealed) {
            shared.counters.dropped_connection_lost.add(frames);
            link.dropped_connection_lost.add(frames);
            tracing::warn!(%error, lost = frames, "cannot encrypt: messages lost; reconnecting");
            return Ended::Broken;
        }
        if let Err(error) = writer.write_all(&sealed).await {
            shared.counters.dropped_connection_lost.add(frames);
            link.dropped_connection_lost.add(frames);
            tracing::warn!(%error, lost = frames, "write failed: messages lost; reconnecting");
            return Ended::Broken;
        }
        let bytes = sealed.len() as u64;
        let c = &shared.counters;
        c.frames_sent.add(frames);
        c.bytes_sent.add(bytes);
        c.writes.bump();
        link.frames_sent.add(frames);
        link.bytes_sent.add(bytes);
        tracing::trace!(frames, taken, bytes, "batch written");
        if closing {
            let _ = writer.shutdown().await;
            return Ended::Shutdown;
        }
    }
}

/// Accepts connections until shutdown.
pub(super) async fn listen<M: Message>(shared: Arc<Shared<M>>, listener: TcpListener) {
    let mut shutdown = shared.shutdown.subscribe();
    let handshakes = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES_MAX));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shut_down(&mut shutdown) => return,
        };
        match accepted {
            Ok((stream, remote)) => {
                let Ok(permit) = Arc::clone(&handshakes).try_acquire_owned() else {
                    shared.rejections.count(handshake::RejectReason::Busy);
                    tracing::warn!(%remote, reason = %Rejection::Busy, "connection refused");
                    continue;
                };
                let span = tracing::info_span!("tcp_conn", %remote);
                tokio::spawn(serve(Arc::clone(&shared), stream, remote, permit).instrument(span));
            }
            Err(error) => {
                // Typically out of file descriptors: wait instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves one inbound connection until it ends or shutdown.
pub(super) async fn serve<M: Message>(
    shared: Arc<Shared<M>>,
    stream: TcpStream,
    remote: SocketAddr,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let mut shutdown = shared.shutdown.subscribe();
    tokio::select! {
        _ = serve_connection(&shared, stream, remote, permit) => {}
        _ = shut_down(&mut shutdown) => {}
    }
}

pub(super) async fn accept_handshake(
    stream: &mut TcpStream,
    acceptor: &mut Acceptor,
) -> std::result::Result<(NodeId, NodeId, Session), Rejection> {
    let mut decoder = FrameDecoder::new(handshake::HANDSHAKE_FRAME_BYTES_MAX);
    loop {
        let frame = read_handshake_frame(stream, &mut decoder).await?;
        match acceptor.on_frame(&frame)? {
            AcceptorStep::Send(payload) => write_handshake_frame(stream, &payload).await?,
            AcceptorStep::Open {
                peer,
                local,
                welcome,
                session,
            } => {
                if decoder.buffered() > 0 {
                    return Err(Rejection::Unexpected("data sent before the welcome"));
                }
                write_handshake_frame(stream, &welcome).await?;
                return Ok((peer, local, session));
            }
        }
    }
}

pub(super) async fn serve_connection<M: Message>(
    shared: &Shared<M>,
    mut stream: TcpStream,
    remote: SocketAddr,
    handshake_permit: tokio::sync::OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let mut acceptor = Acceptor::new(shared.credentials());
    let handshake = tokio::time::timeout(
        shared.handshake_timeout,
        accept_handshake(&mut stream, &mut acceptor),
    )
    .await
    .unwrap_or(Err(Rejection::Timeout));
    let (peer, local, mut session) = match handshake {
        Ok(opened) => opened,
        Err(rejection) => {
            shared.rejections.count(rejection.reason());
            tracing::warn!(%remote, reason = %rejection, "connection refused");
            return;
        }
    };
    drop(handshake_permit);
    shared.counters.connections_accepted.bump();
    tracing::info!(%remote, %peer, "peer connected");
    shared.wake_links_to(peer);
    let (number, close) = shared.inbound_opened(peer, local);
    /// Forgets the connection however serving it ends.
    struct Registered<'a, M: Message>(&'a Shared<M>, NodeId, NodeId, u64);
    impl<M: Message> Drop for Registered<'_, M> {
        fn drop(&mut self) {
            self.0.inbound_closed(self.1, self.2, self.3);
        }
    }
    let _registered = Registered(shared, peer, local, number);
    let c = &shared.counters;
    // Records are read into `wire[..filled]`; whole ones are opened into
    // `plain`, whose bytes from `start` on are decrypted and not yet
    // decoded. Frames are decoded in place from `plain` (no copy per
    // frame). `wire` holds one largest record; `plain` grows only with
    // bytes that actually arrived, never on a header's say-so, and is
    // bounded by one largest frame plus one record.
    let mut wire = vec![0u8; handshake::RECORD_HEADER_BYTES + handshake::RECORD_BYTES_MAX];
    let mut filled = 0usize;
    let mut plain: Vec<u8> = Vec::with_capacity(READ_BUFFER_BYTES);
    let mut start = 0usize;
    loop {
        let read = tokio::select! {
            read = stream.read(&mut wire[filled..]) => read,
            _ = close.notified() => {
                tracing::info!(%remote, %peer, "a newer connection from the peer replaces this one");
                return;
            }
        };
        let n = match read {
            Ok(0) => {
                if filled > 0 || start < plain.len() {
                    c.closed_malformed_frame.bump();
                    tracing::warn!(%remote, %peer, bytes = filled + plain.len() - start, "the connection ended in the middle of a frame");
                } else {
                    tracing::info!(%remote, %peer, "peer disconnected");
                }
                return;
            }
            Ok(n) => n,
            Err(error) => {
                tracing::info!(%remote, %peer, %error, "connection lost");
                return;
            }
        };
        c.bytes_received.add(n as u64);
        filled += n;
        match session.open(&wire[..filled], &mut plain) {
            Ok(used) => {
                wire.copy_within(used..filled, 0);
                filled -= used;
            }
            Err(error) => {
                c.closed_unauthenticated.bump();
                tracing::warn!(%remote, %peer, %error, "closing the connection: nothing more from it is trusted");
                return;
            }
        }
        loop {
            match decode_frame(&plain[start..], shared.frame_bytes_max) {
                Ok((frame, rest)) => {
                    match Postcard.decode::<(NodeId, M)>(frame) {
                        Ok((to, msg)) => {
                            c.frames_received.bump();
                            shared.kinds.count_received(msg.kind(), frame.len());
                            shared.inboxes.deliver(peer, to, msg);
                        }
                        Err(error) => {
                            c.closed_malformed_frame.bump();
                            tracing::warn!(%remote, %peer, %error, "malformed frame: closing the connection");
                            return;
                        }
                    }
                    start = plain.len() - rest.len();
                }
                Err(dsys_core::Error::Truncated { .. }) => break,
                Err(error @ dsys_core::Error::FrameTooLarge { .. }) => {
                    c.closed_oversized_frame.bump();
                    tracing::warn!(%remote, %peer, %error, "oversized frame: closing the connection");
                    return;
                }
                Err(error) => {
                    c.closed_malformed_frame.bump();
                    tracing::warn!(%remote, %peer, %error, "bad frame: closing the connection");
                    return;
                }
            }
        }
        if start == plain.len() {
            plain.clear();
            start = 0;
        } else if start >= plain.len() / 2 {
            plain.drain(..start);
            start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(45));
        let bounds = [(5, 10), (10, 20), (20, 40), (22, 45), (22, 45)];
        for (low, high) in bounds {
            let d = backoff.next_delay();
            assert!(
                d >= Duration::from_micros(low * 1000 - 500) && d <= Duration::from_millis(high),
                "{d:?} not in [{low}, {high}] ms"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(10));
    }
}
