package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
)

func TestOfferKeepsWhatItLeavesEmpty(t *testing.T) {
	cur := connSettings{Endpoint: "ws://a/v1/opamp", Headers: http.Header{"Authorization": {"Bearer old"}}, HeartbeatSeconds: 5}
	c := cur.withOffer(&protobufs.OpAMPConnectionSettings{}, []byte{0xab})
	if c.Endpoint != cur.Endpoint || c.Headers.Get("Authorization") != "Bearer old" || c.HeartbeatSeconds != 5 || c.Hash != "ab" {
		t.Fatalf("empty offer changed %+v into %+v", cur, c)
	}
	if !c.sameConnection(cur) {
		t.Fatal("an empty offer is the same connection")
	}
	c = cur.withOffer(&protobufs.OpAMPConnectionSettings{
		Headers:                  &protobufs.Headers{Headers: []*protobufs.Header{{Key: "Authorization", Value: "Bearer new"}}},
		HeartbeatIntervalSeconds: 7,
	}, nil)
	if c.Headers.Get("Authorization") != "Bearer new" || c.HeartbeatSeconds != 7 || c.sameConnection(cur) {
		t.Fatalf("offer not taken: %+v", c)
	}
	if cur.Headers.Get("Authorization") != "Bearer old" {
		t.Fatal("the offer changed the current settings' headers")
	}
	hb := cur.withOffer(&protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 9}, nil)
	if !hb.sameConnection(cur) || hb.HeartbeatSeconds != 9 {
		t.Fatalf("heartbeat-only offer: %+v", hb)
	}
}

func TestStatusLineOfTheHandshake(t *testing.T) {
	for head, want := range map[string]int{
		"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n": 401,
		"HTTP/1.1 101 Switching Protocols\r\n":               101,
		"garbage\r\n":                                        0,
		"":                                                   0,
	} {
		if got := parseStatusLine(head); got != want {
			t.Errorf("parseStatusLine(%q) = %d, want %d", head, got, want)
		}
	}
}

func TestAcceptedSettingsAreKeptPrivately(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	st := &settingsStore{dir: dir}
	if _, ok, err := st.load(); ok || err != nil {
		t.Fatalf("empty dir: %v %v", ok, err)
	}
	want := connSettings{Endpoint: "http://b/v1/opamp", Headers: http.Header{"Authorization": {"Bearer t"}}, HeartbeatSeconds: 3, Hash: "cd"}
	if err := st.save(want); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, acceptedSettingsFile))
	if err != nil {
		t.Fatal(err)
	}
	if m := info.Mode().Perm(); m != 0o600 {
		t.Fatalf("accepted settings file mode %o, want 600", m)
	}
	got, ok, err := st.load()
	if err != nil || !ok || got.Endpoint != want.Endpoint || got.credential() != want.credential() || got.Hash != "cd" || got.HeartbeatSeconds != 3 {
		t.Fatalf("load: %+v %v %v", got, ok, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestCredentialIsAFingerprint(t *testing.T) {
	c := credentialOf(http.Header{"Authorization": {"Bearer secret-token"}})
	if len(c) != 12 || c == "secret-token"[:12] {
		t.Fatalf("credential %q", c)
	}
	if credentialOf(http.Header{}) != "" {
		t.Fatal("no token, no credential")
	}
}

func TestOfferedCertificateIsTheClientCertificate(t *testing.T) {
	cur := connSettings{Endpoint: "wss://a/v1/opamp", Headers: http.Header{}}
	offer := &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: []byte("PEM-1")}}
	c := cur.withOffer(offer, nil)
	if c.CertPEM != "PEM-1" || c.sameConnection(cur) {
		t.Fatalf("offered certificate not taken: %+v", c)
	}
	// A renewal is a new connection; the same one again is not.
	renewed := c.withOffer(&protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: []byte("PEM-2")}}, nil)
	if renewed.CertPEM != "PEM-2" || renewed.sameConnection(c) || !c.withOffer(offer, nil).sameConnection(c) {
		t.Fatalf("renewal: %+v", renewed)
	}
	// One that comes with a private key (made by the server) is not used; no certificate means none.
	if k := cur.withOffer(&protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: []byte("PEM-3"), PrivateKey: []byte("KEY")}}, nil); k.CertPEM != "" {
		t.Fatalf("a server-made key's certificate was taken: %+v", k)
	}
	if none := c.withOffer(&protobufs.OpAMPConnectionSettings{}, nil); none.CertPEM != "" {
		t.Fatalf("an offer without a certificate kept one: %+v", none)
	}
}
