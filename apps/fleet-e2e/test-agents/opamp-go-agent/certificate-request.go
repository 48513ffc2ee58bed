// Client certificates (issue 18): the agent makes an ECDSA P-256 key and a
// CSR naming its instance_uid (CN = 32 hex), and sends the CSR through
// opamp-go's RequestConnectionSettings; an offer that carries a certificate
// is reported with the certificate and CA (public), whether the private key
// field is empty (it must be: the agent keeps its own) and whether the
// certificate is for the agent's key. The key stays in memory, or in the
// -certificate-key file (PKCS#8 PEM, mode 0600: made there once, read back on
// a restart), which also lets a test present the agent's certificates itself.
// An offered certificate for that key becomes the agent's client certificate
// (connection-settings.go CertPEM) when it switches to the offer.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/open-telemetry/opamp-go/protobufs"
)

type certificateKey struct {
	mu       sync.Mutex
	key      *ecdsa.PrivateKey
	received bool
	// file: where the key is kept ("" : memory only).
	file string
}

// load reads the key file when there is one.
func (k *certificateKey) load() error {
	if k.file == "" {
		return nil
	}
	data, err := os.ReadFile(k.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("-certificate-key %s holds no PEM key", k.file)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("-certificate-key %s: %w", k.file, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return fmt.Errorf("-certificate-key %s is not an ECDSA key", k.file)
	}
	k.mu.Lock()
	k.key = key
	k.mu.Unlock()
	return nil
}

// keyPEM: the key as PKCS#8 PEM (nil before there is one). Callers hold mu.
func (k *certificateKey) keyPEM() ([]byte, error) {
	if k.key == nil {
		return nil, nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// clientCertificate: certPEM (an offered certificate) with the agent's key, for TLS.
func (k *certificateKey) clientCertificate(certPEM string) (*tls.Certificate, error) {
	k.mu.Lock()
	keyPEM, err := k.keyPEM()
	k.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if keyPEM == nil {
		return nil, errors.New("an offered client certificate, but no key of the agent's to use it with")
	}
	cert, err := tls.X509KeyPair([]byte(certPEM), keyPEM)
	if err != nil {
		return nil, fmt.Errorf("offered client certificate: %w", err)
	}
	return &cert, nil
}

// requestOnConnect sends the CSR once the session is connected, unless a certificate came already.
func (k *certificateKey) requestOnConnect(s *session, uidHex string) {
	<-s.connected
	k.mu.Lock()
	done := k.received
	k.mu.Unlock()
	if done {
		return
	}
	if err := k.request(s, uidHex); err != nil {
		s.emit("command_error", map[string]any{"cmd": "request_certificate", "error": err.Error()})
	}
}

// request makes a key (once) and a CSR for uidHex, and queues it on the session's client.
func (k *certificateKey) request(s *session, uidHex string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key == nil {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		k.key = key
		if k.file != "" {
			keyPEM, err := k.keyPEM()
			if err != nil {
				return err
			}
			if err := os.WriteFile(k.file, keyPEM, 0o600); err != nil {
				return err
			}
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: uidHex}}, k.key)
	if err != nil {
		return err
	}
	csr := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	err = s.client.RequestConnectionSettings(&protobufs.ConnectionSettingsRequest{
		Opamp: &protobufs.OpAMPConnectionSettingsRequest{CertificateRequest: &protobufs.CertificateRequest{Csr: csr}},
	})
	if err != nil {
		return err
	}
	s.emit("certificate_requested", map[string]any{"commonName": uidHex})
	return nil
}

// offered reports the certificate of an offer, if it has one.
func (k *certificateKey) offered(s *session, offer *protobufs.OpAMPConnectionSettings) {
	c := offer.GetCertificate()
	if c == nil || len(c.GetCert()) == 0 {
		return
	}
	fields := map[string]any{"cert": string(c.GetCert()), "caCert": string(c.GetCaCert()), "privateKeyEmpty": len(c.GetPrivateKey()) == 0}
	if block, _ := pem.Decode(c.GetCert()); block != nil {
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			fields["subject"] = cert.Subject.String()
			k.mu.Lock()
			key := k.key
			k.received = true
			k.mu.Unlock()
			if key != nil {
				pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
				certPub, _ := x509.MarshalPKIXPublicKey(cert.PublicKey)
				fields["matchesKey"] = bytes.Equal(pub, certPub)
			}
		} else {
			fields["parseError"] = err.Error()
		}
	}
	s.emit("certificate_offered", fields)
}

func uidHexOf(uid [16]byte) string {
	return hex.EncodeToString(uid[:])
}
