//! A self-signed certificate made at start, for clients that insist on HTTPS (the
//! official SDKs send their login call over https whatever the endpoint says).

use std::net::IpAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::error::Error;

pub(super) struct SelfSigned {
    /// The certificate, PEM-encoded, for clients to trust.
    pub cert_pem: String,
    pub acceptor: TlsAcceptor,
}

/// A certificate for `localhost`, the loopback addresses and the bound address.
pub(super) fn self_signed(bind: IpAddr) -> Result<SelfSigned, Error> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !bind.is_unspecified() && !bind.is_loopback() {
        names.push(bind.to_string());
    }
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::Failed(format!("cannot make a TLS certificate: {e}")))?;
    let cert_pem = certified.cert.pem();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| {
            builder
                .with_no_client_auth()
                .with_single_cert(vec![cert], key)
        })
        .map_err(|e| Error::Failed(format!("cannot configure TLS: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(SelfSigned {
        cert_pem,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}
