package consul

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
)

// ServerTLS is the TLS configuration of a Connect-native server: it presents the
// service's current leaf and checks any client certificate against the mesh CA.
// A client without one gets only the public routes (health checks, which Consul and
// Nomad make without a certificate); Authorize decides the rest per request.
func (id *Identity) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return id.certificate() },
		ClientAuth:     tls.RequestClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return nil
			}
			_, _, err := id.verify(raw, x509.ExtKeyUsageClientAuth)
			return err
		},
		NextProtos: []string{"http/1.1"},
	}
}

// ClientTLS is the TLS configuration for calling target over Connect: it presents the
// service's leaf and accepts only a server whose certificate is from the mesh CA and
// names target as its service. Host names are not checked: the SPIFFE ID is the identity.
func (id *Identity) ClientTLS(target string) *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return id.certificate() },
		InsecureSkipVerify:   true, // replaced by VerifyPeerCertificate, against the mesh roots
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, uri, err := id.verify(raw, x509.ExtKeyUsageServerAuth)
			if err != nil {
				return err
			}
			if got := ServiceOf(uri); got != target {
				return fmt.Errorf("connect: dialed %s but the server is %s (%s)", target, got, uri)
			}
			return nil
		},
	}
}
