//! `localca env` with each variable's real client (node, Python requests, httpx, pip, Deno from
//! npm), in the tests/sandbox harness: refused before `eval "$(localca env)"`, accepted after,
//! refused after `localca uninstall` in the same environment. See tests/env/scenario.
#![cfg(target_os = "linux")]

mod common;

#[test]
fn each_env_variable_works_with_its_client_until_uninstall() {
    common::sandbox::run_with_tools(
        "env::each_env_variable_works_with_its_client_until_uninstall",
        "tests/env/scenario",
    );
}
