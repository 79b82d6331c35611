//! TLS and transport settings: rustls (ring) configurations built from PEM files, and
//! quinn-proto's transport parameters as rxyomo sets them.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::PyResult;
use quinn_proto::crypto::rustls::QuicClientConfig;
pub use quinn_proto::crypto::rustls::QuicServerConfig;
use quinn_proto::{congestion, ClientConfig, IdleTimeout, ServerConfig, TransportConfig, VarInt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::session::{self, Slot};

/// What every connection of an endpoint shares.
#[derive(Clone)]
pub struct Settings {
    pub alpn: Vec<u8>,
    pub idle_timeout: f64,
    pub keepalive: Option<f64>,
    pub receive_window: u64,
    pub congestion: String,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn err(message: String) -> pyo3::PyErr {
    PyValueError::new_err(message)
}

/// Transport parameters: one bidirectional stream, the receive window, the idle timeout
/// and keep-alive, and a fixed datagram size (no path MTU probing: the caller knows the
/// path, and the peer's `max_udp_payload_size` still caps it).
pub fn transport(settings: &Settings, datagram_size: u16) -> PyResult<Arc<TransportConfig>> {
    let mut config = TransportConfig::default();
    let window = VarInt::from_u64(settings.receive_window)
        .map_err(|_| err("receive_window is too large".into()))?;
    config
        // Room for streams beyond the one data stream, so that a peer opening one is told
        // off (a protocol error) instead of waiting for credit forever.
        .max_concurrent_bidi_streams(VarInt::from_u32(128))
        .max_concurrent_uni_streams(VarInt::from_u32(128))
        .stream_receive_window(window)
        // The stream window is the real bound; the connection's must not bind first.
        .receive_window(VarInt::from_u64(2 * settings.receive_window).unwrap_or(VarInt::MAX))
        // Unbounded here: the channel's watermarks bound what a writer queues.
        .send_window(1 << 40)
        .initial_mtu(datagram_size)
        .min_mtu(1200)
        .mtu_discovery_config(None);
    let idle = Duration::from_secs_f64(settings.idle_timeout);
    config.max_idle_timeout(Some(
        IdleTimeout::try_from(idle).map_err(|_| err("idle_timeout is too large".into()))?,
    ));
    config.keep_alive_interval(settings.keepalive.map(Duration::from_secs_f64));
    // Windows are counted in bytes here: ten datagrams of the size used, as aioquic counts
    // them, or a large datagram would not fit the default initial window at all.
    let initial = 10 * u64::from(datagram_size).max(1472);
    match settings.congestion.as_str() {
        "reno" => {
            let mut cc = congestion::NewRenoConfig::default();
            cc.initial_window(initial);
            config.congestion_controller_factory(Arc::new(cc));
        }
        "cubic" => {
            let mut cc = congestion::CubicConfig::default();
            cc.initial_window(initial);
            config.congestion_controller_factory(Arc::new(cc));
        }
        "bbr" => {
            let mut cc = congestion::BbrConfig::default();
            cc.initial_window(initial);
            config.congestion_controller_factory(Arc::new(cc));
        }
        other => return Err(err(format!("unknown congestion control {other:?}"))),
    }
    Ok(Arc::new(config))
}

/// A server configuration from a PEM certificate chain and private key.
pub fn server(
    certfile: &str,
    keyfile: &str,
    settings: &Settings,
    datagram_size: u16,
    slot: &Slot,
) -> PyResult<(Arc<ServerConfig>, Arc<QuicServerConfig>)> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(certfile)
        .and_then(|certs| certs.collect())
        .map_err(|e| err(format!("cannot read certificates from {certfile}: {e}")))?;
    if chain.is_empty() {
        return Err(err(format!("no certificate in {certfile}")));
    }
    let key = PrivateKeyDer::from_pem_file(keyfile)
        .map_err(|e| err(format!("cannot read a private key from {keyfile}: {e}")))?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| err(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| err(format!("certificate and key do not fit together: {e}")))?;
    tls.alpn_protocols = vec![settings.alpn.clone()];
    tls.max_early_data_size = 0;
    let quic = Arc::new(QuicServerConfig::try_from(tls).map_err(|e| err(e.to_string()))?);
    let watched = session::Server {
        inner: quic.clone(),
        slot: slot.clone(),
    };
    let mut config = ServerConfig::with_crypto(Arc::new(watched));
    config.transport_config(transport(settings, datagram_size)?);
    // Clients are not asked to prove their address (no Retry round trip), as with aioquic.
    Ok((Arc::new(config), quic))
}

/// A client configuration verifying the server against `cafile`, the system store (None),
/// or not at all (`verify` false).
pub fn client(
    cafile: Option<&str>,
    verify: bool,
    settings: &Settings,
    datagram_size: u16,
    slot: &Slot,
) -> PyResult<ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| err(e.to_string()))?;
    let mut tls = if !verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerifier(
                provider().signature_verification_algorithms,
            )))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        match cafile {
            Some(path) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect())
                    .map_err(|e| err(format!("cannot load CA file {path}: {e}")))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(err(format!(
                        "cannot load CA file {path}: no CA certificate"
                    )));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    tls.alpn_protocols = vec![settings.alpn.clone()];
    tls.enable_early_data = false;
    let quic = QuicClientConfig::try_from(tls).map_err(|e| err(e.to_string()))?;
    let watched = session::Client {
        inner: Arc::new(quic),
        slot: slot.clone(),
    };
    let mut config = ClientConfig::new(Arc::new(watched));
    config.transport_config(transport(settings, datagram_size)?);
    Ok(config)
}

/// Accepts any server certificate (`TlsConfig(verify=False)`), still checking that the
/// handshake is signed by the certificate's key.
#[derive(Debug)]
struct NoVerifier(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // TLS 1.2 is never offered.
        Err(rustls::Error::General("TLS 1.2 is not supported".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
