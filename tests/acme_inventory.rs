//! Certificates issued by `localca acme serve` land in the inventory with their ACME account
//! (real server, raw ACME client through curl): every one of a burst is there once the server
//! stopped, revocation marks them revoked, and `ca rotate` leaves them to their clients.
//! lego's side of it is in tests/acme_clients.rs.

mod acme_support;
mod common;

use std::process::Command;

use acme_support::{acme_leaves, b64, try_issue, wait_for_acme_leaves, Client, Http01, Server};
use common::Env;
use serde_json::json;

fn env_with_ca() -> Env {
    let env = Env::new();
    env.ok(&["ca", "create"]);
    env
}

/// Stops the server as Ctrl-C or systemd would, and waits for it.
fn terminate(server: &mut Server) {
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "the server must exit cleanly on SIGTERM: {status}\n{}", server.log_text());
}

/// The leaf (DER) of a valid order, downloaded.
fn download_leaf(client: &mut Client<'_>, order: &serde_json::Value) -> Vec<u8> {
    let chain = client.post(order["certificate"].as_str().unwrap(), None);
    assert_eq!(chain.status, 200);
    common::cert_der_from_pem(&chain.body)
}

#[test]
fn every_order_of_a_burst_is_in_the_inventory_once_the_server_stopped() {
    let env = env_with_ca();
    let http01 = Http01::start();
    let mut server = Server::start(&env, &["--quiet", "--http-01-port", &http01.port.to_string()]);
    assert!(acme_leaves(&env).is_empty());
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let account = client.kid.clone().unwrap();
    let names: Vec<String> = (0..6).map(|i| format!("burst{i}.localhost")).collect();
    for name in &names {
        try_issue(&mut client, &http01, &[name]).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // Stopped right after the last order: what was still pending is written on the way out.
    terminate(&mut server);
    let leaves = acme_leaves(&env);
    let mut listed: Vec<&str> = leaves.iter().map(|l| l["names"][0].as_str().unwrap()).collect();
    listed.sort();
    assert_eq!(listed, names.iter().map(String::as_str).collect::<Vec<_>>(), "{leaves:#?}");
    assert!(leaves.iter().all(|l| l["acme"]["account"] == account.as_str() && l["state"] == "ok"));
    assert!(!server.log_text().contains("warning"), "{}", server.log_text());
}

#[test]
fn revoked_leaves_are_marked_and_rotation_leaves_acme_leaves_to_their_clients() {
    let env = env_with_ca();
    env.ok(&["cert", "files.test"]);
    let http01 = Http01::start();
    let mut server = Server::start(&env, &["--quiet", "--http-01-port", &http01.port.to_string()]);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let order = try_issue(&mut client, &http01, &["gone.localhost"]).unwrap();
    let der = download_leaf(&mut client, &order);
    try_issue(&mut client, &http01, &["kept.localhost"]).unwrap();
    wait_for_acme_leaves(&env, |l| l.len() == 2 && l.iter().all(|l| l["state"] == "ok"));

    let revoke = json!({ "certificate": b64(&der), "reason": 5 });
    let r = client.post(&client.url("revokeCert"), Some(&revoke));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let leaves = wait_for_acme_leaves(&env, |l| l.iter().any(|l| l["state"] == "revoked"));
    let gone = leaves.iter().find(|l| l["names"][0] == "gone.localhost").unwrap();
    assert_eq!(gone["state"], "revoked", "{gone:#}");
    assert_eq!(gone["acme"]["revocation_reason"], 5);
    let kept = leaves.iter().find(|l| l["names"][0] == "kept.localhost").unwrap();
    assert_eq!(kept["state"], "ok", "{kept:#}");
    assert!(kept["acme"]["revoked_at"].is_null());
    terminate(&mut server);

    // Rotation re-issues the file leaf, and says the ACME one waits for its client's renewal.
    // Only the NSS store of an empty HOME: nothing on this machine is touched.
    let mut cmd = env.command(&["ca", "rotate", "--stores", "nss"]);
    cmd.env("HOME", env.tmp.path());
    let run = common::run_command(cmd);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Re-issuing 1 recorded certificate(s)"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "skipped   1 certificate(s) issued via ACME: ACME clients will get leaves from the new root at \
             their next renewal"
        ),
        "{}",
        run.stdout
    );
    let table = env.ok(&["list"]).stdout;
    assert!(table.contains("its ACME client gets one from the current root"), "{table}");
    assert_eq!(acme_leaves(&env).len(), 2, "rotation keeps the ACME records");
}

fn serial_hex(der: &[u8]) -> String {
    common::parse(der).raw_serial().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_restart_records_what_the_inventory_lacks_and_nothing_more() {
    use std::os::unix::fs::MetadataExt;
    let env = env_with_ca();
    env.ok(&["cert", "files.test"]);
    let http01 = Http01::start();
    let args = ["--quiet", "--http-01-port", &http01.port.to_string()];
    let mut server = Server::start(&env, &args);
    let mut client = Client::new(&env, &server.directory);
    client.register();
    let account_id = client.kid.clone().unwrap().rsplit('/').next().unwrap().to_string();
    let first = try_issue(&mut client, &http01, &["a.localhost"]).unwrap();
    let first = serial_hex(&download_leaf(&mut client, &first));
    let renewed = try_issue(&mut client, &http01, &["a.localhost"]).unwrap();
    let renewed = serial_hex(&download_leaf(&mut client, &renewed));
    let order = try_issue(&mut client, &http01, &["b.localhost"]).unwrap();
    let revoked = download_leaf(&mut client, &order);
    let r = client.post(&client.url("revokeCert"), Some(&json!({ "certificate": b64(&revoked) })));
    assert_eq!(r.status, 200);
    terminate(&mut server);
    let inventory = env.home.join("inventory.json");
    let before: serde_json::Value = serde_json::from_slice(&std::fs::read(&inventory).unwrap()).unwrap();

    // A restart with nothing missing writes nothing.
    let inode = std::fs::metadata(&inventory).unwrap().ino();
    let mut server = Server::start(&env, &args);
    terminate(&mut server);
    assert_eq!(std::fs::metadata(&inventory).unwrap().ino(), inode, "{}", server.log_text());

    // The ACME records lost (a kill -9 before they were written, or an upgrade from a version
    // that did not record them): the next start puts them back from acme.sqlite, the renewal
    // only (not the certificate it replaced), the revocation too.
    let mut lost = before.clone();
    lost["leaves"].as_array_mut().unwrap().retain(|l| l.get("acme").is_none());
    std::fs::write(&inventory, serde_json::to_vec_pretty(&lost).unwrap()).unwrap();
    assert!(acme_leaves(&env).is_empty());
    let mut server = Server::start(&env, &args);
    terminate(&mut server);
    assert!(
        server.log_text().contains("recorded 2 ACME certificate(s) and 1 revocation(s)"),
        "{}",
        server.log_text()
    );
    let leaves = acme_leaves(&env);
    let serials: Vec<&str> = leaves.iter().map(|l| l["serial"].as_str().unwrap()).collect();
    assert_eq!(serials, [renewed.as_str(), serial_hex(&revoked).as_str()], "not {first}: {leaves:#?}");
    assert!(leaves.iter().all(|l| l["acme"]["account_id"] == account_id.as_str()));
    assert_eq!(leaves[0]["state"], "ok");
    assert_eq!(leaves[1]["state"], "revoked");
    assert_eq!(leaves[1]["names"], json!(["b.localhost"]));
    let all = acme_support::list_json(&env);
    let files: Vec<_> =
        all["leaves"].as_array().unwrap().iter().filter(|l| l["issued_via"] == "cert").collect();
    assert_eq!(files.len(), 1, "the file leaf stays: {all:#}");
}
