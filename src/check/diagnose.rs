//! Judging a chain: dates, name, and which roots (if any) it leads to; each failure in words.

use std::time::Duration;

use rustls_pki_types::TrustAnchor;
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use super::chain::{rfc3339, CertInfo};
use super::{ChainsTo, Handshake, Problem, Report, Roots, Target};

fn problem(code: &'static str, message: String, fix: impl Into<String>) -> Problem {
    Problem { code, message, fix: fix.into() }
}

/// Judges what a handshake received, at time `now` (seconds since the epoch).
pub fn judge(target: &Target, handshake: Handshake, roots: &Roots, now: i64) -> Report {
    let chain: Vec<CertInfo> = handshake.chain.iter().filter_map(|c| CertInfo::parse(c)).collect();
    let mut report = Report {
        target: target.clone(),
        address: handshake.address,
        protocol: handshake.protocol,
        cipher_suite: handshake.cipher_suite,
        alpn: handshake.alpn,
        chain: chain.clone(),
        name_matches: false,
        chains_to: None,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let (Some(leaf), true) = (chain.first(), chain.len() == handshake.chain.len()) else {
        report.problems.push(problem(
            "invalid",
            "the server sent a certificate that cannot be parsed".into(),
            "configure the server with a PEM certificate made by `localca cert`",
        ));
        return report;
    };
    let reissue = format!("issue a new one: localca cert {}", target.host);
    dates(&chain, now, &reissue, &mut report.problems);

    let leaf_der = &handshake.chain[0];
    let ee = match EndEntityCert::try_from(leaf_der) {
        Ok(ee) => ee,
        Err(e) => {
            report.problems.push(problem("invalid", format!("the certificate is malformed ({e})"), reissue));
            return report;
        }
    };
    let name = target.server_name().expect("checked when parsed");
    report.name_matches = ee.verify_is_valid_for_subject_name(&name).is_ok();
    if !report.name_matches {
        let names = if leaf.sans.is_empty() { "no names at all".to_string() } else { leaf.sans.join(", ") };
        report.problems.push(problem(
            "name-mismatch",
            format!("the certificate is not valid for {}: it holds {names}", target.host),
            format!(
                "issue one that includes it: localca cert {} (plus the other names you need)",
                target.host
            ),
        ));
    }

    // Judge the chain at a moment inside the leaf's validity, so that an expired leaf is reported
    // once (above) and its chain is still judged.
    let at = now.clamp(leaf.not_before, leaf.not_after.max(leaf.not_before)).max(0);
    let at = UnixTime::since_unix_epoch(Duration::from_secs(at as u64));
    let intermediates = &handshake.chain[1..];
    let verify = |anchors: &[TrustAnchor<'_>]| {
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            anchors,
            intermediates,
            at,
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map(|_| ())
    };
    let ours = roots.localca.as_ref().map(|der| CertificateDer::from(der.as_slice()));
    let ours_result = ours.as_ref().map(|der| match webpki::anchor_from_trusted_cert(der) {
        Ok(anchor) => verify(&[anchor]),
        Err(e) => Err(e),
    });
    let os_anchors: Vec<TrustAnchor<'_>> =
        roots.os.iter().filter_map(|c| webpki::anchor_from_trusted_cert(c).ok()).collect();
    let os_result = verify(&os_anchors);
    if ours_result == Some(Ok(())) {
        report.chains_to = Some(ChainsTo::Localca);
    } else if os_result.is_ok() {
        report.chains_to = Some(ChainsTo::Os);
        // Accepted today because an earlier root is still installed: it stops when that goes.
        if let Some(mut warning) =
            earlier_root(roots, &verify, &format!("issue a new one: localca cert {}", target.host))
        {
            warning
                .message
                .push_str(", which is still installed here: clients accept it until that root is removed");
            report.warnings.push(warning);
        }
    } else {
        let why = ours_result.unwrap_or_else(|| os_result.clone()).err();
        report.problems.push(untrusted(&chain, &handshake.chain, roots, why, &verify, &target.host));
    }
    report
}

fn dates(chain: &[CertInfo], now: i64, reissue: &str, problems: &mut Vec<Problem>) {
    for (i, cert) in chain.iter().enumerate() {
        let which = if i == 0 {
            "the certificate".to_string()
        } else {
            format!("the CA certificate {}", cert.subject)
        };
        let fix = if i == 0 { reissue.to_string() } else { "renew that CA certificate".to_string() };
        if now > cert.not_after {
            problems.push(problem("expired", format!("{which} expired on {}", rfc3339(cert.not_after)), fix));
        } else if now < cert.not_before {
            problems.push(problem(
                "not-yet-valid",
                format!(
                    "{which} is not valid until {} (is this machine's clock right?)",
                    rfc3339(cert.not_before)
                ),
                fix,
            ));
        }
    }
}

/// Why a chain leads to no trusted root, in words.
fn untrusted(
    chain: &[CertInfo],
    ders: &[CertificateDer<'static>],
    roots: &Roots,
    why: Option<webpki::Error>,
    verify: &dyn Fn(&[TrustAnchor<'_>]) -> Result<(), webpki::Error>,
    host: &str,
) -> Problem {
    let reissue = format!("issue a new one: localca cert {host}");
    let leaf = &chain[0];
    let top = chain.last().expect("not empty");
    match why {
        Some(webpki::Error::NameConstraintViolation) => {
            return problem(
                "name-constraints",
                format!(
                    "the localca root may not vouch for the names in this certificate ({})",
                    leaf.sans.join(", ")
                ),
                "use names the root permits (`localca ca show` lists them), or a root that permits these \
                 (`localca ca rotate --permit SUFFIX`)",
            );
        }
        Some(webpki::Error::RequiredEkuNotFoundContext(_)) => {
            return problem(
                "not-for-servers",
                "the certificate is not meant for TLS servers (its extended key usage lacks serverAuth)"
                    .into(),
                reissue,
            );
        }
        _ => {}
    }
    if let Some(found) = earlier_root(roots, verify, &reissue) {
        return found;
    }
    if top.issued_by_localca()
        && roots.localca.as_ref().is_none_or(|ours| !ders.iter().any(|d| d.as_ref() == ours.as_slice()))
    {
        return problem(
            "earlier-root",
            format!(
                "the certificate was issued by a localca root that is not this CA's current root ({}): an \
                 earlier root, or another machine's",
                top.issuer
            ),
            reissue,
        );
    }
    if leaf.self_issued && chain.len() == 1 {
        return problem(
            "self-signed",
            format!(
                "the certificate is self-signed ({}): no client trusts it unless told to by hand",
                leaf.subject
            ),
            format!("serve a certificate from localca instead: localca cert {}", host),
        );
    }
    if !top.self_issued {
        return problem(
            "missing-intermediate",
            format!(
                "the server sent {} certificate{} and not the CA certificate that issued the last one ({}); \
                 it is not a root this machine trusts, so clients cannot complete the chain",
                chain.len(),
                if chain.len() == 1 { "" } else { "s" },
                top.issuer
            ),
            "configure the server with the full chain: the certificate followed by its intermediate CA \
             certificate(s) in one PEM file",
        );
    }
    problem(
        "unknown-issuer",
        format!(
            "the chain ends at {}, a root neither localca nor this machine's OS store trusts",
            top.subject
        ),
        format!(
            "serve a certificate from localca (localca cert {}), or trust that root where it belongs",
            host
        ),
    )
}

/// The earlier localca root (still in a store here) that issued the chain, as a problem.
fn earlier_root(
    roots: &Roots,
    verify: &dyn Fn(&[TrustAnchor<'_>]) -> Result<(), webpki::Error>,
    reissue: &str,
) -> Option<Problem> {
    roots.earlier_localca.iter().find_map(|earlier| {
        let der = CertificateDer::from(earlier.as_slice());
        let anchor = webpki::anchor_from_trusted_cert(&der).ok()?;
        verify(&[anchor]).ok()?;
        let fingerprint = crate::root::sha256_hex(earlier);
        Some(problem(
            "earlier-root",
            format!(
                "the certificate was issued by an earlier localca root (SHA-256 {fingerprint}), not the current one"
            ),
            format!("{reissue}; then remove the earlier root: localca uninstall --fingerprint {fingerprint}"),
        ))
    })
}
