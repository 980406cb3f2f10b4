// Java client with its default trust (the JDK's cacerts), run as a single-file source:
//   java -Djdk.net.hosts.file=HOSTS Probe.java URL TOKEN
// prints one line: accept | reject: DETAIL | error: DETAIL
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLHandshakeException;

public class Probe {
    public static void main(String[] args) {
        String url = args[0], token = args[1];
        try {
            HttpsURLConnection c = (HttpsURLConnection) new URL(url).openConnection(java.net.Proxy.NO_PROXY);
            c.setConnectTimeout(10000);
            c.setReadTimeout(10000);
            String body;
            try (InputStream in = c.getInputStream()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            System.out.println(body.contains(token) ? "accept"
                : "error: handshake ok but token missing (HTTP " + c.getResponseCode() + ")");
        } catch (SSLHandshakeException e) {
            // PKIX path building failure, or the default hostname check.
            Throwable t = e;
            boolean cert = false;
            for (; t != null; t = t.getCause()) {
                if (t instanceof CertificateException
                        || t instanceof java.security.cert.CertPathValidatorException
                        || t.getClass().getName().contains("CertPathBuilderException")) {
                    cert = true;
                }
            }
            String m = String.valueOf(e.getMessage()).replace('\n', ' ');
            if (cert || m.contains("PKIX") || m.contains("subject alternative")) {
                System.out.println("reject: " + m);
            } else {
                System.out.println("error: " + e);
            }
        } catch (Exception e) {
            System.out.println("error: " + String.valueOf(e).replace('\n', ' '));
        }
    }
}
