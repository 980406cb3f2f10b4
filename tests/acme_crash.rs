//! SIGKILL of the ACME server in the middle of a load run: after a restart every order that was
//! reported valid can still be downloaded, and the clients carry on.

mod acme_support;
mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use acme_support::{free_port, try_issue, Client, Http01, Server};
use common::Env;

const CLIENTS: usize = 4;

#[test]
fn sigkill_during_load_loses_no_valid_order() {
    let env = Env::new();
    env.ok(&["ca", "create"]);
    let http01 = Http01::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let args = ["--http-01-port", &http01.port.to_string(), "--quiet"];
    let mut server = Server::start_on(&env, &listen, &args);
    let directory = server.directory.clone();
    let valid = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);

    let (before, after) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|t| {
                let (env, http01, valid, stop, directory) = (&env, &http01, &valid, &stop, &directory);
                scope.spawn(move || {
                    let mut client = Client::new(env, directory);
                    client.register();
                    let mut certs = Vec::new();
                    let mut failures = 0;
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let name = format!("load{t}-{i}.localhost");
                        match try_issue(&mut client, http01, &[&name]) {
                            Ok(order) => {
                                certs.push(order["certificate"].as_str().unwrap().to_string());
                                valid.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                failures += 1;
                                std::thread::sleep(Duration::from_millis(50));
                            }
                        }
                    }
                    // Everything reported valid, before or after the kill, downloads.
                    for url in &certs {
                        let chain = client.try_post(url, None).unwrap();
                        assert_eq!(chain.status, 200, "{url}: {}", String::from_utf8_lossy(&chain.body));
                        assert!(String::from_utf8_lossy(&chain.body).contains("BEGIN CERTIFICATE"));
                    }
                    (certs.len(), failures)
                })
            })
            .collect();
        let wait_for = |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(120);
            while valid.load(Ordering::Relaxed) < n && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        wait_for(30);
        server.kill(); // SIGKILL, in the middle of orders
        let before = valid.load(Ordering::Relaxed);
        server = Server::start_on(&env, &listen, &args);
        wait_for(before + 30);
        stop.store(true, Ordering::Relaxed);
        let results: Vec<(usize, usize)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        let total: usize = results.iter().map(|r| r.0).sum();
        (before, total)
    });
    assert!(before >= 30, "the load run never got going");
    assert!(after >= before + 30, "the clients did not carry on after the restart ({before} then {after})");
}
