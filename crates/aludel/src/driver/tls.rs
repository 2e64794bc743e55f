//! What both network drivers say about TLS: a certificate the client refuses, worded
//! for a person (rustls prints its reasons as debug values), in the names of the
//! driver's own URL parameters.

/// How a refused certificate is described; such a failure is permanent, not retried.
pub(crate) const CERTIFICATE_REFUSED: &str = "the server's certificate is not accepted";

/// The URL parameters a driver names in its advice.
pub(crate) struct TlsParams {
    /// The parameter that gives the CA file: `sslrootcert` or `ssl-ca`.
    pub ca: &'static str,
    /// The mode that checks the host's name: `sslmode=verify-full`.
    pub verify_name: &'static str,
    /// The mode that checks the certificate's chain only: `verify-ca`.
    pub verify_chain: &'static str,
}

/// `e` worded for a person when it is, or wraps in an I/O error, a certificate that
/// rustls refused; `None` for any other error.
pub(crate) fn refused_certificate(
    e: &(dyn std::error::Error + 'static),
    params: &TlsParams,
) -> Option<String> {
    use rustls::CertificateError as C;
    // rustls' error reaches the drivers inside the I/O error of the handshake.
    let tls = e.downcast_ref::<rustls::Error>().or_else(|| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    });
    let Some(rustls::Error::InvalidCertificate(cert)) = tls else {
        return None;
    };
    let why = match cert {
        C::UnknownIssuer => format!(
            "it is not signed by a trusted root (give the CA with {}=PATH)",
            params.ca
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => format!(
            "it does not name the host connected to ({} checks the name; {} does not)",
            params.verify_name, params.verify_chain
        ),
        C::Expired | C::ExpiredContext { .. } => "it has expired".to_string(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "it is not valid yet (check the clocks)".to_string()
        }
        C::Revoked => "it has been revoked".to_string(),
        C::BadSignature => "its signature does not verify".to_string(),
        C::Other(other) => {
            let inner = format!("{other:?}");
            if inner.contains("CaUsedAsEndEntity") {
                "the server presents a CA certificate as its own; it needs a server certificate signed by that CA".to_string()
            } else {
                format!(
                    "it was rejected ({})",
                    inner
                        .trim_start_matches("OtherError(")
                        .trim_end_matches(')')
                )
            }
        }
        other => format!("it was rejected ({other:?})"),
    };
    Some(format!("{CERTIFICATE_REFUSED}: {why}"))
}
