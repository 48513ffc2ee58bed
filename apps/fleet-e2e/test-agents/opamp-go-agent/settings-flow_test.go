// The connection settings flow against an OpAMP server built on opamp-go's
// server package (the fleet server offers no settings yet): an offer that
// works is kept and persisted, one the server refuses is rolled back, over
// WebSocket and plain HTTP. The server offers the way the spec says: in every
// answer while the agent's reported hash differs from the offer's.
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server"
	"github.com/open-telemetry/opamp-go/server/types"
)

var watchOnce sync.Once

// changes wakes waiters whenever something they may wait on was recorded (no sleeping in tests).
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

func (c *changes) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *changes) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// await returns the first value found by look, waiting for changes up to 20 s.
func await[T any](t *testing.T, c *changes, what string, look func() (T, bool, string)) T {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		next := c.wait()
		v, ok, seen := look()
		if ok {
			return v
		}
		select {
		case <-next:
		case <-timeout:
			t.Fatalf("no %s; seen: %s", what, seen)
		}
	}
}

// received is one status the server got, with the token of the connection it came over.
type received struct {
	token  string
	status *protobufs.ConnectionSettingsStatus
}

type offeringServer struct {
	srv      server.OpAMPServer
	wsURL    string
	httpURL  string
	mu       sync.Mutex
	tokens   map[string]bool
	offer    *protobufs.ConnectionSettingsOffers
	statuses []received
	changed  changes
}

func startOfferingServer(t *testing.T, tokens ...string) *offeringServer {
	t.Helper()
	s := &offeringServer{srv: server.New(nil), tokens: map[string]bool{}}
	for _, tok := range tokens {
		s.tokens[tok] = true
	}
	err := s.srv.Start(server.StartSettings{
		ListenEndpoint: "127.0.0.1:0",
		Settings: server.Settings{Callbacks: types.Callbacks{
			OnConnecting: func(r *http.Request) types.ConnectionResponse {
				token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
				s.mu.Lock()
				ok := s.tokens[token]
				s.mu.Unlock()
				if !ok {
					return types.ConnectionResponse{Accept: false, HTTPStatusCode: http.StatusUnauthorized}
				}
				return types.ConnectionResponse{Accept: true, ConnectionCallbacks: types.ConnectionCallbacks{
					OnMessage: func(_ context.Context, _ types.Connection, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
						return s.answer(token, msg)
					},
				}}
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.srv.Stop(context.Background()) })
	addr := s.srv.Addr().String()
	s.wsURL, s.httpURL = "ws://"+addr+"/v1/opamp", "http://"+addr+"/v1/opamp"
	return s
}

func (s *offeringServer) answer(token string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := msg.GetConnectionSettingsStatus(); st != nil {
		s.statuses = append(s.statuses, received{token: token, status: st})
		defer s.changed.notify()
	}
	reply := &protobufs.ServerToAgent{InstanceUid: msg.GetInstanceUid()}
	if s.offer != nil && !msg.GetAgentDisconnect().ProtoReflect().IsValid() {
		last := s.lastHash()
		if !bytes.Equal(last, s.offer.GetHash()) {
			reply.ConnectionSettings = s.offer
		}
	}
	return reply
}

// lastHash is the hash of the agent's last reported status (the server keeps it across connections).
func (s *offeringServer) lastHash() []byte {
	if len(s.statuses) == 0 {
		return nil
	}
	return s.statuses[len(s.statuses)-1].status.GetLastConnectionSettingsHash()
}

func (s *offeringServer) setOffer(endpoint, token string, hash byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := bytes.Repeat([]byte{hash}, 32)
	s.offer = &protobufs.ConnectionSettingsOffers{Hash: h, Opamp: &protobufs.OpAMPConnectionSettings{
		DestinationEndpoint:      endpoint,
		Headers:                  &protobufs.Headers{Headers: []*protobufs.Header{{Key: "Authorization", Value: "Bearer " + token}}},
		HeartbeatIntervalSeconds: 1,
	}}
	return h
}

func (s *offeringServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.statuses...)
}

// eventRecorder is the agent's stdout, parsed.
type eventRecorder struct {
	mu      sync.Mutex
	events  []map[string]any
	changed changes
}

func (r *eventRecorder) Write(p []byte) (int, error) {
	var e map[string]any
	if err := json.Unmarshal(p, &e); err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.changed.notify()
	return len(p), nil
}

func (r *eventRecorder) waitFor(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	return await(t, &r.changed, what, func() (map[string]any, bool, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, e := range r.events {
			if match(e) {
				return e, true, ""
			}
		}
		seen, _ := json.Marshal(r.events)
		return nil, false, string(seen)
	})
}

func (r *eventRecorder) count(event string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e["event"] == event {
			n++
		}
	}
	return n
}

func is(event string) func(map[string]any) bool {
	return func(e map[string]any) bool { return e["event"] == event }
}

func startTestAgent(t *testing.T, endpoint, token, stateDir string) (*agent, *eventRecorder) {
	t.Helper()
	watchOnce.Do(installTransportWatch)
	rec := &eventRecorder{}
	store := &settingsStore{dir: stateDir}
	st, accepted, err := store.load()
	if err != nil {
		t.Fatal(err)
	}
	if !accepted {
		st = connSettings{Endpoint: endpoint, Headers: http.Header{"Authorization": {"Bearer " + token}}, HeartbeatSeconds: 1}
	}
	caps, _ := parseCaps(defaultCaps)
	a := newAgent(agentOptions{
		uid: [16]byte{1, 2, 3}, caps: caps, description: description(nil), applyTimeout: 5 * time.Second,
		store: store, log: &eventLog{out: rec}, stderr: os.Stderr,
	})
	if err := a.start(st, accepted); err != nil {
		t.Fatal(err)
	}
	// One agent at a time: the transport watch follows the one active session.
	t.Cleanup(a.stop)
	return a, rec
}

func fingerprint(token string) string {
	return credentialOf(http.Header{"Authorization": {"Bearer " + token}})
}

func transports(s *offeringServer) map[string]string {
	return map[string]string{"ws": s.wsURL, "http": s.httpURL}
}

func TestAcceptedOfferIsKeptAndPersisted(t *testing.T) {
	for _, name := range []string{"ws", "http"} {
		t.Run(name, func(t *testing.T) {
			srv := startOfferingServer(t, "old-token", "new-token")
			endpoint := transports(srv)[name]
			dir := t.TempDir()
			a, rec := startTestAgent(t, endpoint, "old-token", dir)
			rec.waitFor(t, "connected", is("connected"))
			hash := srv.setOffer(endpoint, "new-token", 0xab)

			applied := rec.waitFor(t, "settings_applied", is("settings_applied"))
			if applied["hash"] != hex.EncodeToString(hash) || applied["credential"] != fingerprint("new-token") {
				t.Fatalf("applied %v", applied)
			}
			// APPLYING over the old credential, then APPLIED only over the new one.
			waitForStatus(t, srv, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED)
			var sawApplying bool
			for _, r := range srv.received() {
				switch r.status.GetStatus() {
				case protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING:
					sawApplying = sawApplying || r.token == "old-token"
				case protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED:
					if r.token != "new-token" || !bytes.Equal(r.status.GetLastConnectionSettingsHash(), hash) {
						t.Fatalf("APPLIED over %q for %x", r.token, r.status.GetLastConnectionSettingsHash())
					}
				}
			}
			if !sawApplying {
				t.Fatalf("no APPLYING over the old connection: %v", srv.received())
			}
			if n := rec.count("settings_offered"); n != 1 {
				t.Fatalf("the offer was handled %d times", n)
			}

			file := filepath.Join(dir, acceptedSettingsFile)
			info, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if m := info.Mode().Perm(); m != 0o600 {
				t.Fatalf("accepted settings file mode %o, want 600", m)
			}
			a.stop()
			// A restart uses the accepted settings, not its flags.
			_, again := startTestAgent(t, endpoint, "flag-token-not-used", dir)
			if c := again.waitFor(t, "connected", is("connected")); c["credential"] != fingerprint("new-token") {
				t.Fatalf("restarted with %v", c)
			}
		})
	}
}

func TestRefusedOfferIsRolledBack(t *testing.T) {
	for _, name := range []string{"ws", "http"} {
		t.Run(name, func(t *testing.T) {
			srv := startOfferingServer(t, "old-token")
			endpoint := transports(srv)[name]
			dir := t.TempDir()
			_, rec := startTestAgent(t, endpoint, "old-token", dir)
			rec.waitFor(t, "connected", is("connected"))
			hash := srv.setOffer(endpoint, "refused-token", 0xcd)

			failed := rec.waitFor(t, "connect_failed", is("connect_failed"))
			if failed["status"] != float64(401) || failed["credential"] != fingerprint("refused-token") {
				t.Fatalf("connect_failed %v", failed)
			}
			rec.waitFor(t, "settings_failed", is("settings_failed"))
			back := rec.waitFor(t, "settings_rolled_back", is("settings_rolled_back"))
			if back["credential"] != fingerprint("old-token") {
				t.Fatalf("rolled back to %v", back)
			}
			st := waitForStatus(t, srv, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED)
			if st.token != "old-token" || !bytes.Equal(st.status.GetLastConnectionSettingsHash(), hash) || !strings.Contains(st.status.GetErrorMessage(), "401") {
				t.Fatalf("FAILED %v over %q", st.status, st.token)
			}
			for _, r := range srv.received() {
				if r.status.GetStatus() == protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED {
					t.Fatalf("APPLIED reported for a refused offer: %v", r)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, acceptedSettingsFile)); !os.IsNotExist(err) {
				t.Fatalf("a refused offer was persisted: %v", err)
			}
		})
	}
}

func waitForStatus(t *testing.T, srv *offeringServer, want protobufs.ConnectionSettingsStatuses) received {
	t.Helper()
	return await(t, &srv.changed, want.String(), func() (received, bool, string) {
		got := srv.received()
		for _, r := range got {
			if r.status.GetStatus() == want {
				return r, true, ""
			}
		}
		return received{}, false, fmt.Sprint(got)
	})
}
