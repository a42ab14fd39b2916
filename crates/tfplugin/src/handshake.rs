//! go-plugin handshake: magic cookie, listener, AutoMTLS, the stdout line, debug / reattach.
//!
//! NOTE (hashicorp/go-plugin server.go, mtls.go): Terraform starts the provider with
//! PLUGIN_CLIENT_CERT set to its own client certificate (ECDSA P-521, CA:TRUE) and trusts only
//! the server certificate announced on the handshake line, checked against the name
//! `localhost`. We therefore (1) generate a fresh self-signed certificate with SAN localhost per
//! process, (2) REQUIRE a client certificate and accept exactly the one Terraform gave us, byte
//! for byte (webpki would reject a CA:TRUE leaf, and optional client auth would authenticate
//! nobody), and (3) advertise ecdsa_secp521r1_sha512 in the CertificateRequest, otherwise Go's
//! TLS client sends no certificate at all. The crypto provider is [`crate::tls::provider`]: ring
//! (cheap to start) plus a P-521 verifier, since ring alone cannot check Terraform's signature.

use crate::proto::plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use crate::proto::plugin::Empty;
use crate::proto::tfplugin6::provider_server::ProviderServer;
use crate::resource::DynProvider;
use crate::server::ProviderService;
use base64::Engine;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};

pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
pub const CORE_PROTOCOL_VERSION: u32 = 1;
pub const APP_PROTOCOL_VERSION: u32 = 6;
/// What the protocol layer needs to know about the provider it serves: names for messages,
/// the source addresses for reattach strings, the log module and its level variable.
#[derive(Clone, Copy, Debug)]
pub struct PluginInfo {
    /// The binary's name, e.g. `terraform-provider-example`.
    pub binary: &'static str,
    /// Full source addresses, one per CLI registry host, for TF_REATTACH_PROVIDERS.
    pub addresses: &'static [&'static str],
    /// Shown when a person runs the binary by hand.
    pub usage: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("this binary is a plugin for Terraform and OpenTofu, not a program to run by hand")]
    NotLaunchedByTerraform,
    #[error("Terraform offered plugin protocol versions {0:?}, but this provider speaks only version 6 (Terraform >= 1.0, OpenTofu)")]
    UnsupportedProtocol(String),
    #[error("could not listen for Terraform: {0}")]
    Listen(std::io::Error),
    #[error("could not set up TLS: {0}")]
    Tls(String),
    #[error("the gRPC server failed: {0}")]
    Serve(String),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    #[default]
    Unix,
    Tcp,
}

#[derive(Clone, Debug)]
pub struct ServeOpts {
    pub info: PluginInfo,
    /// Plaintext, no cookie needed; prints TF_REATTACH_PROVIDERS and serves until interrupted.
    pub debug: bool,
    pub transport: Transport,
}

impl ServeOpts {
    pub fn new(info: PluginInfo) -> Self {
        ServeOpts {
            info,
            debug: false,
            transport: Transport::default(),
        }
    }
}

/// Check the environment Terraform sets. `Err` means a person (not Terraform) ran the binary or
/// Terraform is too old; the caller prints the message to stderr and exits 1.
pub fn check_environment() -> Result<(), HandshakeError> {
    if std::env::var(MAGIC_COOKIE_KEY).ok().as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(HandshakeError::NotLaunchedByTerraform);
    }
    if let Ok(v) = std::env::var("PLUGIN_PROTOCOL_VERSIONS") {
        if !v.is_empty() && !v.split(',').any(|x| x.trim() == "6") {
            return Err(HandshakeError::UnsupportedProtocol(v));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Certificates and TLS.

/// The server certificate (DER) and key generated for this process.
pub struct ServerIdentity {
    pub cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl ServerIdentity {
    pub fn generate() -> Result<Self, HandshakeError> {
        let tls = |e: rcgen::Error| HandshakeError::Tls(e.to_string());
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(tls)?;
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(tls)?;
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::OrganizationName, "HashiCorp");
        dn.push(rcgen::DnType::CommonName, "localhost");
        params.distinguished_name = dn;
        // Self-signed and trusted directly by the client: mark it as a CA like go-plugin does.
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.self_signed(&key).map_err(tls)?;
        Ok(ServerIdentity {
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        })
    }

    /// The certificate as it goes on the handshake line: base64 without padding.
    pub fn handshake_cert(&self) -> String {
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&self.cert_der)
    }
}

/// Accepts exactly one client certificate, compared byte for byte.
#[derive(Debug)]
pub struct PinnedClientCert {
    expected: Vec<u8>,
    algs: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    pub fn from_pem(pem: &str) -> Result<Self, HandshakeError> {
        let cert = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
            HandshakeError::Tls(format!("PLUGIN_CLIENT_CERT is not a PEM certificate: {e}"))
        })?;
        Ok(PinnedClientCert {
            expected: cert.as_ref().to_vec(),
            algs: crate::tls::signature_algorithms(),
        })
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        true
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_slice() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// rustls server config for AutoMTLS: our identity, Terraform's certificate required.
pub fn server_tls_config(
    id: &ServerIdentity,
    client_cert_pem: &str,
) -> Result<rustls::ServerConfig, HandshakeError> {
    let provider = crate::tls::provider();
    let verifier = Arc::new(PinnedClientCert::from_pem(client_cert_pem)?);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone()));
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HandshakeError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(id.cert_der.clone())], key)
        .map_err(|e| HandshakeError::Tls(e.to_string()))?;
    // grpc-go requires ALPN h2 on TLS connections.
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(cfg)
}

// ---------------------------------------------------------------------------------------------
// Listener and connections.

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// One accepted connection (plain or TLS, unix or tcp) as tonic wants it.
pub struct Conn(Box<dyn Io>);

impl Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

pub enum Listener {
    Unix {
        listener: UnixListener,
        dir: PathBuf,
        path: PathBuf,
    },
    Tcp(TcpListener),
}

impl Listener {
    /// A unix socket in a fresh private directory.
    pub fn unix() -> Result<Self, HandshakeError> {
        let base = std::env::temp_dir();
        let mut dir;
        let mut n = 0u32;
        loop {
            dir = base.join(format!("plugin-{}-{}", std::process::id(), n));
            match std::fs::create_dir(&dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(HandshakeError::Listen(e)),
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
        let path = dir.join("plugin.sock");
        let listener = UnixListener::bind(&path).map_err(HandshakeError::Listen)?;
        Ok(Listener::Unix {
            listener,
            dir,
            path,
        })
    }

    /// TCP on loopback, in Terraform's port range when it gives one.
    pub async fn tcp() -> Result<Self, HandshakeError> {
        let min: u16 = env_num("PLUGIN_MIN_PORT").unwrap_or(0);
        let max: u16 = env_num("PLUGIN_MAX_PORT").unwrap_or(0);
        if min > 0 && max >= min {
            let mut last = None;
            for port in min..=max {
                match TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => return Ok(Listener::Tcp(l)),
                    Err(e) => last = Some(e),
                }
            }
            return Err(HandshakeError::Listen(
                last.unwrap_or_else(|| std::io::Error::other("no free port")),
            ));
        }
        TcpListener::bind(("127.0.0.1", 0))
            .await
            .map(Listener::Tcp)
            .map_err(HandshakeError::Listen)
    }

    /// (network, address) as they appear on the handshake line and in reattach strings.
    pub fn addr(&self) -> (&'static str, String) {
        match self {
            Listener::Unix { path, .. } => ("unix", path.display().to_string()),
            Listener::Tcp(l) => (
                "tcp",
                l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            ),
        }
    }

    async fn accept(&self) -> std::io::Result<Box<dyn Io>> {
        match self {
            Listener::Unix { listener, .. } => Ok(Box::new(listener.accept().await?.0)),
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Ok(Box::new(s))
            }
        }
    }

    fn cleanup(&self) {
        if let Listener::Unix { dir, path, .. } = self {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn env_num(k: &str) -> Option<u16> {
    std::env::var(k).ok()?.trim().parse().ok()
}

/// Accept connections (doing the TLS handshake off the accept loop, so one bad client cannot
/// hold up others) and hand them to tonic.
fn incoming(
    listener: Arc<Listener>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> ReceiverStream<Result<Conn, std::io::Error>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let io = match listener.accept().await {
                Ok(io) => io,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let tx = tx.clone();
            match tls.clone() {
                None => {
                    if tx.send(Ok(Conn(io))).await.is_err() {
                        return;
                    }
                }
                Some(acceptor) => {
                    tokio::spawn(async move {
                        match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(io))
                            .await
                        {
                            Ok(Ok(s)) => {
                                let _ = tx.send(Ok(Conn(Box::new(s)))).await;
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "TLS handshake with a client failed; connection refused")
                            }
                            Err(_) => tracing::warn!("TLS handshake timed out; connection refused"),
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx)
}

// ---------------------------------------------------------------------------------------------
// go-plugin controller: Shutdown makes the process exit.

struct Controller {
    shutdown: watch::Sender<bool>,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _req: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("shutdown requested by the plugin client");
        let _ = self.shutdown.send(true);
        Ok(Response::new(Empty {}))
    }
}

/// The reattach value for TF_REATTACH_PROVIDERS.
pub fn reattach_json(addresses: &[&str], network: &str, addr: &str, pid: u32) -> String {
    let entry = serde_json::json!({
        "Protocol": "grpc",
        "ProtocolVersion": APP_PROTOCOL_VERSION,
        "Pid": pid,
        "Test": true,
        "Addr": {"Network": network, "String": addr},
    });
    let mut m = serde_json::Map::new();
    for a in addresses {
        m.insert(a.to_string(), entry.clone());
    }
    serde_json::Value::Object(m).to_string()
}

/// A provider served for the life of this process: what `main` runs.
pub async fn serve(provider: Arc<dyn DynProvider>, opts: ServeOpts) -> Result<(), HandshakeError> {
    let listener = match opts.transport {
        Transport::Unix => Listener::unix()?,
        Transport::Tcp => Listener::tcp().await?,
    };
    let (network, addr) = listener.addr();
    let client_cert = std::env::var("PLUGIN_CLIENT_CERT")
        .ok()
        .filter(|s| !s.trim().is_empty());
    tracing::trace!(network, "listener ready");
    let (tls, cert_field) = match (&client_cert, opts.debug) {
        (Some(pem), false) => {
            let id = ServerIdentity::generate()?;
            tracing::trace!("server certificate generated");
            let cfg = server_tls_config(&id, pem)?;
            tracing::trace!("TLS configured");
            (
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(cfg))),
                id.handshake_cert(),
            )
        }
        _ => (None, String::new()),
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let listener = Arc::new(listener);
    let server = build_router(provider, shutdown_tx.clone()).await;
    let stream = incoming(listener.clone(), tls);

    if opts.debug {
        println!(
            "{} is running in debug mode. Point Terraform or OpenTofu at it with:\n\n\tTF_REATTACH_PROVIDERS='{}'\n\nStop it with Ctrl-C.",
            opts.info.binary,
            reattach_json(opts.info.addresses, network, &addr, std::process::id())
        );
    } else {
        // NOTE: the one line go-plugin reads from stdout; nothing else may ever go there.
        println!(
            "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|{network}|{addr}|grpc|{cert_field}"
        );
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let serve = server.serve_with_incoming(stream);
    let res = tokio::select! {
        r = serve => r.map_err(|e| HandshakeError::Serve(e.to_string())),
        _ = shutdown_signal(shutdown_rx, opts.debug) => Ok(()),
        _ = parent_gone(opts.debug) => {
            tracing::warn!("Terraform exited without stopping the provider; exiting");
            Ok(())
        }
    };
    listener.cleanup();
    res
}

/// Resolves when the process that started us is gone (Terraform crashed or was killed):
/// an orphaned provider would otherwise live on holding its pipes open.
async fn parent_gone(debug: bool) {
    #[cfg(unix)]
    if !debug {
        let parent = std::os::unix::process::parent_id();
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if std::os::unix::process::parent_id() != parent {
                return;
            }
        }
    }
    std::future::pending::<()>().await
}

async fn shutdown_signal(mut rx: watch::Receiver<bool>, debug: bool) {
    let ctrl_c = async {
        if debug {
            let _ = tokio::signal::ctrl_c().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = rx.wait_for(|v| *v) => {
            // Let the Shutdown response reach the client before the connection is dropped.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        _ = ctrl_c => {}
    }
}

async fn build_router(
    provider: Arc<dyn DynProvider>,
    shutdown: watch::Sender<bool>,
) -> tonic::transport::server::Router {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;
    let svc = ProviderService::new(provider);
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(GrpcControllerServer::new(Controller { shutdown }))
        .add_service(
            ProviderServer::new(svc)
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
        )
}

/// A provider served in-process on a plaintext unix socket, for tests driving a real CLI via
/// TF_REATTACH_PROVIDERS. Dropping the handle stops it.
pub struct InProcess {
    pub reattach: String,
    pub socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    listener: Arc<Listener>,
}

impl InProcess {
    pub async fn start(
        provider: Arc<dyn DynProvider>,
        info: PluginInfo,
    ) -> Result<Self, HandshakeError> {
        let listener = Arc::new(Listener::unix()?);
        let (network, addr) = listener.addr();
        let (shutdown_tx, _rx) = watch::channel(false);
        let router = build_router(provider, shutdown_tx).await;
        let stream = incoming(listener.clone(), None);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = router
                .serve_with_incoming_shutdown(stream, async {
                    let _ = stop_rx.await;
                })
                .await;
        });
        Ok(InProcess {
            reattach: reattach_json(info.addresses, network, &addr, std::process::id()),
            socket: PathBuf::from(addr),
            stop: Some(stop_tx),
            listener,
        })
    }

    pub fn socket_path(&self) -> &Path {
        &self.socket
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.listener.cleanup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_offers_p521() {
        let v = PinnedClientCert {
            expected: vec![],
            algs: crate::tls::signature_algorithms(),
        };
        assert!(v
            .supported_verify_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
        assert!(v.client_auth_mandatory());
    }

    #[test]
    fn handshake_cert_is_unpadded_base64_der() {
        let id = ServerIdentity::generate().unwrap();
        let s = id.handshake_cert();
        assert!(!s.ends_with('='));
        assert!(s.len() > 50, "go-plugin ignores certs of 50 chars or less");
        let der = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(&s)
            .unwrap();
        assert_eq!(der, id.cert_der);
    }

    #[test]
    fn reattach_names_both_registries() {
        let addrs = ["registry.terraform.io/x/y", "registry.opentofu.org/x/y"];
        let j: serde_json::Value =
            serde_json::from_str(&reattach_json(&addrs, "unix", "/x.sock", 7)).unwrap();
        for a in addrs {
            assert_eq!(j[a]["Addr"]["String"], "/x.sock");
            assert_eq!(j[a]["ProtocolVersion"], 6);
        }
    }
}
