//! `localca cert`: issue one leaf for the names given (or a CSR), creating the CA when needed.

use std::io::Read;
use std::path::PathBuf;

use localca::{CaHome, CertificateRequest, Identity, LeafProfile, OutputPaths, SubjectName, MAX_CSR_BYTES};

use super::args::CertArgs;
use super::{announce_new_root, check_root_args, root_profile, Failure};

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
            set.check_before_creation(&names)?;
        }
    }
    let paths = output_paths(&args, &names);
    // A bad output path (missing or unwritable folder, a folder, a block device) fails here,
    // before a CA is created.
    localca::check_outputs(&paths)?;
    let p12_password = p12_password(&args)?;

    let (root, created) = home.load_or_create(&new_root_profile)?;
    match &created {
        Some(creation) => announce_new_root(home, &root, creation),
        // Options that shape a new root are refused unless the existing one already has them
        // (checked after loading, so a damaged CA is reported as such first).
        None => check_root_args(root.name_constraints(), &args.root)?,
    }
    let leaf = match &request {
        Some(req) => root.sign_request(req, &profile)?,
        None => root.issue(&names, &profile)?,
    };
    localca::write_leaf(&leaf, &root, &paths, &p12_password, home.owner())?;
    super::inventory::record_issued(home, &root, &leaf, &profile, request.is_some(), &p12_password, &paths);

    // When a file goes to standard output, the report goes to standard error.
    let to_stdout =
        [&paths.cert, &paths.key, &paths.p12].into_iter().flatten().any(|p| localca::is_std_stream(p));
    let say = |line: String| if to_stdout { eprintln!("{line}") } else { println!("{line}") };
    say("Issued a certificate for:".into());
    for name in &leaf.names {
        say(format!("  - {name}"));
    }
    let combined = localca::combined_output(&paths);
    let files = [("certificate", &paths.cert), ("key", &paths.key), ("PKCS#12 bundle", &paths.p12)];
    for (what, path) in files {
        let (Some(path), false) = (path, combined && what == "key") else { continue };
        let (what, verb) =
            if combined && what == "certificate" { ("certificate and its key", "are") } else { (what, "is") };
        if localca::is_std_stream(path) {
            say(format!("The {what} went to standard output."));
        } else {
            say(format!("The {what} {verb} at {}", path.display()));
        }
    }
    say(format!("It expires on {}.", leaf.not_after.date()));
    if leaf.names.iter().any(|n| matches!(n, SubjectName::Ip(_)))
        && root.name_constraints().is_some_and(|set| set.constrains_ips())
    {
        eprintln!(
            "note: Bun rejects certificates with IP addresses from a root with IP constraints; for Bun, \
             use a host name (localhost) or a root made with `localca ca rotate --no-ip-constraints`"
        );
    }
    let serial = localca::serial_hex(&leaf.cert_der);
    super::inventory::warn_expiring(home, &root, serial.as_deref());
    if !home.is_marked_installed(&root.fingerprint_hex()) {
        eprintln!("note: the root is not trusted on this machine yet; run `localca install`");
    }
    let regular = |p: &&PathBuf| matches!(localca::classify_output(p), Ok(localca::Target::File(_)));
    for key_file in [&paths.key, &paths.p12].into_iter().flatten().filter(regular) {
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

/// Reads a CSR file, or standard input for `-`.
fn read_csr(path: &PathBuf) -> Result<Vec<u8>, Failure> {
    let fail = |e: std::io::Error| Failure::new(format!("{}: {e}", path.display()), None);
    let file: Box<dyn Read> = if localca::is_std_stream(path) {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(fail)?)
    };
    let mut bytes = Vec::new();
    // Read one byte past the limit, so an oversized file is refused without reading all of it.
    file.take(MAX_CSR_BYTES + 1).read_to_end(&mut bytes).map_err(fail)?;
    Ok(bytes)
}

/// The PKCS#12 password: from --p12-password-file, else --p12-password, else
/// $LOCALCA_P12_PASSWORD (read here, not by clap, so that it never conflicts with the file), else
/// the default.
fn p12_password(args: &CertArgs) -> Result<String, Failure> {
    let Some(path) = &args.p12_password_file else {
        let from_env = || std::env::var("LOCALCA_P12_PASSWORD").ok().filter(|p| !p.is_empty());
        return Ok(args
            .p12_password
            .clone()
            .or_else(from_env)
            .unwrap_or_else(|| localca::DEFAULT_P12_PASSWORD.into()));
    };
    const MAX: u64 = 4096;
    let unreadable =
        |e: std::io::Error| Failure::new(format!("--p12-password-file {}: {e}", path.display()), None);
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(MAX + 1).read_to_end(&mut bytes)).map_err(unreadable)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::new(format!("--p12-password-file {}: not UTF-8 text", path.display()), None))?;
    if text.len() as u64 > MAX {
        return Err(Failure::new(
            format!(
                "--p12-password-file {}: larger than {MAX} bytes; it should hold one line",
                path.display()
            ),
            None,
        ));
    }
    let password = text.lines().next().unwrap_or_default();
    if password.is_empty() {
        return Err(Failure::new(
            format!("--p12-password-file {}: no password on its first line", path.display()),
            Some("write the password alone on the first line of the file"),
        ));
    }
    Ok(password.to_string())
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
