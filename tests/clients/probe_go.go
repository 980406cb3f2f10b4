// Go net/http client with its default trust (crypto/x509 reads the system store).
// usage: probe_go URL TOKEN   (every connection goes to 127.0.0.1, the URL's port)
// prints one line: accept | reject: DETAIL | error: DETAIL
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	target, token := os.Args[1], os.Args[2]
	u, err := url.Parse(target)
	if err != nil {
		fmt.Println("error: bad URL: " + err.Error())
		return
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", u.Port()))
		},
	}
	client := &http.Client{Transport: transport, Timeout: 12 * time.Second}
	resp, err := client.Get(target)
	if err != nil {
		var unknown x509.UnknownAuthorityError
		var invalid x509.CertificateInvalidError
		var hostname x509.HostnameError
		switch {
		case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &hostname):
			fmt.Println("reject: " + oneLine(err))
		default:
			fmt.Println("error: " + oneLine(err))
		}
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), token) {
		fmt.Println("accept")
	} else {
		fmt.Printf("error: handshake ok but token missing (HTTP %d)\n", resp.StatusCode)
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }
