//! `localca cert`: issue one leaf for the names given (or a CSR), creating the CA when needed.

use std::io::Read;
use std::path::PathBuf;

use localca::{CaHome, CertificateRequest, Identity, LeafProfile, OutputPaths, SubjectName, MAX_CSR_BYTES};

use super::args::CertArgs;
use super::{announce_new_root, root_profile, Failure};

pub fn run(identity: &Identity, home: &CaHome, args: CertArgs) -> Result<(), Failure> {
    // Everything the user typed is checked before anything is created or written.
    let profile = LeafProfile {
        key_type: args.key_type.unwrap_or_default(),
        days: args.days.unwrap_or(localca::DEFAULT_LEAF_DAYS),
        client: args.client,
    };
    profile.check()?;
    let request = match &args.csr {
        Some(path) => Some(CertificateRequest::from_bytes(&read_csr(path)?, path)?),
        None => None,
    };
    let names = match &request {
        Some(req) => req.names().to_vec(),
        None => parse_names(&args)?,
    };
    let new_root_profile = root_profile(identity, &args.root)?;
    if !home.cert_path().exists() {
        // Refuse names the root we are about to create could not vouch for, before creating it.
        if let Some(set) = &new_root_profile.name_constraints {
            set.check(&names)?;
        }
    } else if !args.root.permits.is_empty() || args.root.no_name_constraints {
        eprintln!("note: --permit and --no-name-constraints only apply when a root is created; the existing root is kept");
    }
    let paths = output_paths(&args, &names);

    let (root, created) = home.load_or_create(&new_root_profile)?;
    if let Some(creation) = &created {
        announce_new_root(home, &root, creation);
    }
    let leaf = match &request {
        Some(req) => root.sign_request(req, &profile)?,
        None => root.issue(&names, &profile)?,
    };
    localca::write_leaf(&leaf, &root, &paths, &args.p12_password, home.owner())?;
    super::inventory::record_issued(
        home,
        &root,
        &leaf,
        &profile,
        request.is_some(),
        &args.p12_password,
        &paths,
    );

    println!("Issued a certificate for:");
    for name in &leaf.names {
        println!("  - {name}");
    }
    for (what, path) in [("certificate", &paths.cert), ("key", &paths.key), ("PKCS#12 bundle", &paths.p12)] {
        if let Some(path) = path {
            println!("The {what} is at {}", path.display());
        }
    }
    println!("It expires on {}.", leaf.not_after.date());
    let serial = localca::serial_hex(&leaf.cert_der);
    super::inventory::warn_expiring(home, &root, serial.as_deref());
    if !home.is_marked_installed(&root.fingerprint_hex()) {
        eprintln!("note: the root is not trusted on this machine yet; run `localca install`");
    }
    for key_file in [&paths.key, &paths.p12].into_iter().flatten() {
        if let Some((top, line)) = localca::unignored_in_git(key_file) {
            eprintln!(
                "warning: {} holds a private key inside the git work tree {} and git does not ignore it; \
                 add this line to {}: {line}",
                key_file.display(),
                top.display(),
                top.join(".gitignore").display()
            );
        }
    }
    Ok(())
}

fn parse_names(args: &CertArgs) -> Result<Vec<SubjectName>, Failure> {
    let mut names = Vec::new();
    for name in &args.names {
        names.push(SubjectName::parse(name)?);
    }
    for uri in &args.uris {
        names.push(SubjectName::uri(uri)?);
    }
    if names.is_empty() {
        return Err(localca::Error::NoNames.into());
    }
    // Keep the first occurrence of each name, in order.
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    Ok(names)
}

fn read_csr(path: &PathBuf) -> Result<Vec<u8>, Failure> {
    let file =
        std::fs::File::open(path).map_err(|e| Failure::new(format!("{}: {e}", path.display()), None))?;
    let mut bytes = Vec::new();
    // Read one byte past the limit, so an oversized file is refused without reading all of it.
    file.take(MAX_CSR_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::new(format!("{}: {e}", path.display()), None))?;
    Ok(bytes)
}

fn output_paths(args: &CertArgs, names: &[SubjectName]) -> OutputPaths {
    let stem = localca::default_stem(names, args.client);
    let p12 = args.p12_file.clone().or_else(|| args.pkcs12.then(|| PathBuf::from(format!("{stem}.p12"))));
    let pem_wanted = p12.is_none() || args.cert_file.is_some() || args.key_file.is_some();
    let cert =
        pem_wanted.then(|| args.cert_file.clone().unwrap_or_else(|| PathBuf::from(format!("{stem}.pem"))));
    let key = (pem_wanted && args.csr.is_none())
        .then(|| args.key_file.clone().unwrap_or_else(|| PathBuf::from(format!("{stem}-key.pem"))));
    OutputPaths { cert, key, p12 }
}
