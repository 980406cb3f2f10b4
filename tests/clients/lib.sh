# shellcheck shell=bash
# Shared helpers for tests/clients/* (sourced, not executed).

# Variables that point clients at a CA file/dir, inject options, or route
# through a proxy. A test of a client's *default* trust must not see them.
_TRUST_VARS=(
    SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS
    NODE_OPTIONS NODE_TLS_REJECT_UNAUTHORIZED JAVA_TOOL_OPTIONS _JAVA_OPTIONS JDK_JAVA_OPTIONS
    GIT_SSL_CAINFO GIT_SSL_CAPATH NIX_SSL_CERT_FILE AWS_CA_BUNDLE HTTPLIB2_CA_CERTS
    GRPC_DEFAULT_SSL_ROOTS_FILE_PATH PIP_CERT CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE
    OPENSSL_CONF OPENSSL_ENGINES OPENSSL_MODULES SSLKEYLOGFILE PYTHONHTTPSVERIFY CURL_HOME
    http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
    ftp_proxy FTP_PROXY
)

# clean_env_args: prints "-u NAME" pairs (one word per line) for `env`, covering
# the fixed list above plus every variable set here whose name looks TLS/CA/proxy related.
clean_env_args() {
    local n
    {
        printf '%s\n' "${_TRUST_VARS[@]}"
        compgen -e | grep -Ei '(SSL|_CERT|CERT_|CA_BUNDLE|CACERT|CA_CERTS|CA_FILE|CA_PATH|TLS|PROXY|TRUST|JAVA_OPTIONS|JAVA_TOOL)' || true
    } | sort -u | while IFS= read -r n; do
        [[ -n "$n" ]] && printf -- '-u\n%s\n' "$n"
    done
}

# Fills the array CLEAN_ENV with: env -u VAR ... (use as "${CLEAN_ENV[@]}" cmd args)
init_clean_env() {
    local a
    CLEAN_ENV=(env)
    while IFS= read -r a; do CLEAN_ENV+=("$a"); done < <(clean_env_args)
}

# Firefox profile directories (those holding cert9.db), one per line, as "LABEL DIR":
#   firefox      legacy layout   ~/.mozilla/firefox/*/
#   firefox-xdg  Firefox >= 147 default for a new user: $XDG_CONFIG_HOME/mozilla/firefox/*/
# The first matching profile of each layout is used.
firefox_profiles() {
    local d
    for d in "$HOME"/.mozilla/firefox/*/; do
        [[ -f "$d/cert9.db" ]] && { echo "firefox ${d%/}"; break; }
    done
    for d in "${XDG_CONFIG_HOME:-$HOME/.config}"/mozilla/firefox/*/; do
        [[ -f "$d/cert9.db" ]] && { echo "firefox-xdg ${d%/}"; break; }
    done
}

# Every NSS database a trust installer might write in this HOME (or system-wide), one dir per line.
nss_dbs() {
    local d
    {
        for d in "$HOME/.pki/nssdb" "${XDG_DATA_HOME:-$HOME/.local/share}/pki/nssdb" \
                 "$HOME/.local/share/pki/nssdb" "$HOME/snap/chromium/current/.pki/nssdb" /etc/pki/nssdb \
                 "$HOME"/.mozilla/firefox/*/ "${XDG_CONFIG_HOME:-$HOME/.config}"/mozilla/firefox/*/ \
                 "$HOME"/snap/firefox/common/.mozilla/firefox/*/; do
            d=${d%/}
            [[ -f "$d/cert9.db" ]] && readlink -f "$d"
        done
    } | awk '!seen[$0]++'
}
