//! The one connection to the broker: a task owns rumqttc's event loop, reconnects with
//! backoff (0.5 s doubling to 30 s), publishes a retained `online` at every connect (the last
//! will says `offline`) and tells the workers, through [`Broker`], when it is connected and
//! when the broker acknowledged (PUBACK) a publish they wait for.
//!
//! rumqttc numbers QoS 1 publishes itself and reports each one as `Outgoing::Publish(pkid)`
//! in the order they were handed to it, so a FIFO of waiters, one entry per publish, maps
//! waiters to packet ids. The session is clean: after a reconnect rumqttc drops what was not
//! acknowledged (`session_present` is false), so every waiter of the lost connection is told
//! it failed and the durable outbox sends again: at least once, never silently lost.

use super::settings::MqttSettings;
use super::topics::Topics;
use bytes::Bytes;
use lookout_core::{Error, ErrorKind};
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration,
    Transport,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// While the broker stays away, a warning at most this often (the rest at debug level).
const WARN_EVERY: Duration = Duration::from_secs(60);
/// Event pictures are JPEGs of a few hundred kB; mosquitto takes up to 256 MB by default.
const MAX_OUTGOING_BYTES: usize = 16 << 20;
/// Commands are a few bytes.
const MAX_INCOMING_BYTES: usize = 64 << 10;

/// One message to publish.
#[derive(Debug)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    pub retain: bool,
}

struct Request {
    message: Message,
    /// Told when the broker acknowledged it; dropped if it was not sent or the connection
    /// was lost first.
    acked: Option<oneshot::Sender<()>>,
}

/// What the workers hold: publish, and the connection's state.
#[derive(Debug, Clone)]
pub struct Broker {
    requests: mpsc::Sender<Request>,
    /// 0 while disconnected, else the number of connections made so far.
    connected: watch::Receiver<u64>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("topic", &self.message.topic)
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// The connection count, 0 while disconnected; changes at each connect and disconnect.
    pub fn connected(&self) -> watch::Receiver<u64> {
        self.connected.clone()
    }

    /// Publishes at QoS 1 and waits for the broker's PUBACK, at most `timeout`.
    pub async fn publish_acked(&self, message: Message, timeout: Duration) -> Result<(), Error> {
        if *self.connected.borrow() == 0 {
            return Err(Error::unavailable("not connected to the MQTT broker"));
        }
        let topic = message.topic.clone();
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request {
                message,
                acked: Some(tx),
            })
            .await
            .map_err(|_| Error::unavailable("the MQTT connection has stopped"))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Error::unavailable(format!(
                "the connection to the MQTT broker was lost before it acknowledged {topic}"
            ))),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("the MQTT broker did not acknowledge {topic} within {timeout:?}"),
            )),
        }
    }

    /// Publishes state at QoS 1 without waiting: it is published again at every connect, so
    /// one lost with a connection is replaced.
    pub fn publish_state(&self, message: Message) {
        // Full only while the broker is away: the state is published again at the connect.
        let _ = self.requests.try_send(Request {
            message,
            acked: None,
        });
    }
}

/// The connection before it runs.
pub struct Connection {
    client: AsyncClient,
    events: EventLoop,
    requests: mpsc::Receiver<Request>,
    connected: watch::Sender<u64>,
    commands: mpsc::Sender<rumqttc::Publish>,
    command_filters: Vec<String>,
    status_topic: String,
    endpoint: String,
}

impl Connection {
    /// The connection, the workers' handle and the commands received (when subscribed).
    pub fn new(
        settings: &MqttSettings,
        topics: &Topics,
    ) -> Result<(Broker, mpsc::Receiver<rumqttc::Publish>, Connection), Error> {
        let mut options = MqttOptions::new(&settings.client_id, &settings.host, settings.port);
        options
            .set_keep_alive(settings.keep_alive)
            .set_clean_session(true)
            .set_max_packet_size(MAX_INCOMING_BYTES, MAX_OUTGOING_BYTES)
            .set_last_will(LastWill::new(
                topics.status(),
                "offline",
                QoS::AtLeastOnce,
                true,
            ));
        if let Some(user) = &settings.username {
            options.set_credentials(user, settings.password.clone().unwrap_or_default());
        }
        if settings.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::new(tls_config(settings)?),
            )));
        }
        let (client, events) = AsyncClient::new(options, 64);
        let (requests_tx, requests) = mpsc::channel(64);
        let (connected_tx, connected) = watch::channel(0);
        let (commands_tx, commands) = mpsc::channel(64);
        let command_filters = if settings.commands {
            vec![
                topics.every_camera("alerts/set"),
                topics.every_camera("snapshot/set"),
            ]
        } else {
            Vec::new()
        };
        let scheme = if settings.tls { "mqtts" } else { "mqtt" };
        Ok((
            Broker {
                requests: requests_tx,
                connected,
            },
            commands,
            Connection {
                client,
                events,
                requests,
                connected: connected_tx,
                commands: commands_tx,
                command_filters,
                status_topic: topics.status(),
                endpoint: format!("{scheme}://{}:{}", settings.host, settings.port),
            },
        ))
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        // One entry per publish handed to rumqttc, in order (see the module's comment).
        let mut handed: VecDeque<Option<oneshot::Sender<()>>> = VecDeque::new();
        let mut waiting: HashMap<u16, oneshot::Sender<()>> = HashMap::new();
        let mut backoff = BACKOFF_FIRST;
        let mut connections = 0u64;
        let mut failures = 0u64;
        let mut last_warned: Option<tokio::time::Instant> = None;
        loop {
            let is_connected = *self.connected.borrow() != 0;
            tokio::select! {
                event = self.events.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        connections += 1;
                        backoff = BACKOFF_FIRST;
                        failures = 0;
                        last_warned = None;
                        tracing::info!(broker = self.endpoint, "connected to the MQTT broker");
                        handed.clear();
                        waiting.clear();
                        self.hand(&mut handed, "online", None);
                        for filter in &self.command_filters {
                            if let Err(e) = self.client.try_subscribe(filter, QoS::AtLeastOnce) {
                                tracing::warn!("MQTT: cannot subscribe to {filter}: {e}");
                            }
                        }
                        self.connected.send_replace(connections);
                    }
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                        if let Some(Some(acked)) = handed.pop_front() {
                            // QoS 0 (pkid 0) is never acknowledged; we only send QoS 1.
                            waiting.insert(pkid, acked);
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        if let Some(acked) = waiting.remove(&ack.pkid) {
                            let _ = acked.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if self.commands.try_send(p).is_err() {
                            tracing::warn!("MQTT: a command was dropped (too many at once)");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        // Waiters of this connection fail now; the outbox sends again.
                        handed.clear();
                        waiting.clear();
                        if is_connected {
                            self.connected.send_replace(0);
                        }
                        failures += 1;
                        // The first failure says why; a broker down for hours is one line a
                        // minute, not one per retry.
                        if last_warned.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                            last_warned = Some(tokio::time::Instant::now());
                            tracing::warn!(broker = self.endpoint, "cannot connect to the MQTT broker ({failures} attempts), retrying in {backoff:?}: {e}");
                        } else {
                            tracing::debug!(broker = self.endpoint, "MQTT: {e}");
                        }
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {}
                            () = shutdown.cancelled() => return,
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                },
                request = self.requests.recv(), if is_connected => {
                    let Some(request) = request else { return };
                    // Its waiter gave up (a timeout): the outbox sends it again later.
                    if request.acked.as_ref().is_some_and(oneshot::Sender::is_closed) {
                        continue;
                    }
                    let Request { message, acked } = request;
                    match self.client.try_publish(message.topic, QoS::AtLeastOnce, message.retain, message.payload) {
                        Ok(()) => handed.push_back(acked),
                        Err(e) => tracing::warn!("MQTT: cannot publish: {e}"),
                    }
                }
                () = shutdown.cancelled() => {
                    self.goodbye(is_connected).await;
                    return;
                }
            }
        }
    }

    /// Hands a retained status to rumqttc, keeping the FIFO of waiters in step.
    fn hand(
        &self,
        handed: &mut VecDeque<Option<oneshot::Sender<()>>>,
        status: &'static str,
        acked: Option<oneshot::Sender<()>>,
    ) {
        match self
            .client
            .try_publish(&self.status_topic, QoS::AtLeastOnce, true, status)
        {
            Ok(()) => handed.push_back(acked),
            Err(e) => tracing::warn!("MQTT: cannot publish {status}: {e}"),
        }
    }

    /// A clean goodbye: the broker does not send the last will then, so `offline` is
    /// published first, then DISCONNECT; at most 2 s.
    async fn goodbye(mut self, is_connected: bool) {
        if !is_connected {
            return;
        }
        let mut handed = VecDeque::new();
        self.hand(&mut handed, "offline", None);
        let _ = self.client.try_disconnect();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match self.events.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

/// TLS with ring (as the rest of Lookout): the system's roots through the platform verifier,
/// or only the CA in `ca_file` (a broker with its own CA).
fn tls_config(settings: &MqttSettings) -> Result<rustls::ClientConfig, Error> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS for MQTT: {e}")))?;
    let config = match &settings.ca_file {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let shown = path.display();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| Error::invalid(format!("mqtt.ca_file {shown}: {e}")))?;
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| Error::invalid(format!("mqtt.ca_file {shown}: {e}")))?;
            }
            if roots.is_empty() {
                return Err(Error::invalid(format!(
                    "mqtt.ca_file {shown} holds no certificate"
                )));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            use rustls_platform_verifier::BuilderVerifierExt;
            builder
                .with_platform_verifier()
                .map_err(|e| Error::internal(format!("TLS for MQTT: {e}")))?
                .with_no_client_auth()
        }
    };
    Ok(config)
}
