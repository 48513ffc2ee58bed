// The OpAMP connection settings the agent connects with: from the flags, from
// an offer (a candidate until a connection with it succeeded) or from the
// state directory, where accepted settings are kept (mode 0600) like the
// OpAMP supervisor keeps them.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

type connSettings struct {
	Endpoint string      `json:"endpoint"`
	Headers  http.Header `json:"headers"`
	// HeartbeatSeconds 0 means "not set by anyone": the library's default applies.
	HeartbeatSeconds uint64 `json:"heartbeatSeconds"`
	// Insecure: skip TLS verification (the only TLS setting of an offer the agent honours).
	Insecure bool `json:"insecure"`
	// CertPEM: the client certificate an offer carried for the key of the
	// agent's CSR (TLSCertificate.cert, private_key empty); used for mutual TLS
	// from then on instead of the flags' one. Empty: none from an offer.
	CertPEM string `json:"certPem,omitempty"`
	// Hash of the offer these settings came from; empty for the flags.
	Hash string `json:"hash"`
}

func (s connSettings) isHTTP() bool {
	return strings.HasPrefix(s.Endpoint, "http://") || strings.HasPrefix(s.Endpoint, "https://")
}

func (s connSettings) credential() string { return credentialOf(s.Headers) }

// certFingerprint: the lowercase hex SHA-256 of the offered client certificate's DER ("" without one).
func (s connSettings) certFingerprint() string {
	block, _ := pem.Decode([]byte(s.CertPEM))
	if block == nil {
		return ""
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:])
}

func (s connSettings) heartbeat() *time.Duration {
	if s.HeartbeatSeconds == 0 {
		return nil
	}
	d := time.Duration(s.HeartbeatSeconds) * time.Second
	return &d
}

// headerNames lists the header names only: values may be credentials.
func (s connSettings) headerNames() []string {
	names := make([]string, 0, len(s.Headers))
	for k := range s.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// sameConnection: nothing but the heartbeat differs, so no reconnect is needed.
func (s connSettings) sameConnection(o connSettings) bool {
	if s.Endpoint != o.Endpoint || s.Insecure != o.Insecure || s.CertPEM != o.CertPEM || len(s.Headers) != len(o.Headers) {
		return false
	}
	for k, v := range s.Headers {
		if !slices.Equal(v, o.Headers[k]) {
			return false
		}
	}
	return true
}

// withOffer is the candidate an offer makes of the current settings: what the
// offer leaves empty stays as it is (the endpoint, the headers, the heartbeat),
// except the client certificate: an offer without one means none (the spec's
// "the Client SHOULD NOT use a client certificate"). A certificate offered with
// a private key (one the server made) is not taken: this agent only uses the
// key it made its CSR with.
func (s connSettings) withOffer(offer *protobufs.OpAMPConnectionSettings, hash []byte) connSettings {
	c := connSettings{Endpoint: s.Endpoint, Headers: s.Headers.Clone(), HeartbeatSeconds: s.HeartbeatSeconds, Insecure: s.Insecure, Hash: hex.EncodeToString(hash)}
	if cert := offer.GetCertificate(); cert != nil && len(cert.GetCert()) > 0 && len(cert.GetPrivateKey()) == 0 {
		c.CertPEM = string(cert.GetCert())
	}
	if offer.GetDestinationEndpoint() != "" {
		c.Endpoint = offer.GetDestinationEndpoint()
	}
	if hs := offer.GetHeaders().GetHeaders(); len(hs) > 0 {
		c.Headers = http.Header{}
		for _, h := range hs {
			c.Headers.Add(h.GetKey(), h.GetValue())
		}
	}
	if offer.GetHeartbeatIntervalSeconds() > 0 {
		c.HeartbeatSeconds = offer.GetHeartbeatIntervalSeconds()
	}
	if tls := offer.GetTls(); tls != nil {
		c.Insecure = tls.GetInsecureSkipVerify()
	}
	return c
}

// settingsStore keeps the accepted settings in a directory; a nil store keeps nothing.
type settingsStore struct{ dir string }

const acceptedSettingsFile = "connection-settings.json"

func (st *settingsStore) load() (connSettings, bool, error) {
	if st == nil {
		return connSettings{}, false, nil
	}
	data, err := os.ReadFile(filepath.Join(st.dir, acceptedSettingsFile))
	if errors.Is(err, os.ErrNotExist) {
		return connSettings{}, false, nil
	}
	if err != nil {
		return connSettings{}, false, err
	}
	var s connSettings
	if err := json.Unmarshal(data, &s); err != nil {
		return connSettings{}, false, fmt.Errorf("%s: %w", acceptedSettingsFile, err)
	}
	if s.Endpoint == "" {
		return connSettings{}, false, fmt.Errorf("%s: no endpoint", acceptedSettingsFile)
	}
	return s, true, nil
}

// save writes to a temporary file and renames it, so a crash leaves the old or the new settings.
func (st *settingsStore) save(s connSettings) error {
	if st == nil {
		return nil
	}
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(st.dir, acceptedSettingsFile+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(st.dir, acceptedSettingsFile))
}
