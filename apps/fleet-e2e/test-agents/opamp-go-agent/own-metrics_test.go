package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// An own_metrics offer is followed once: one OTLP/JSON export with the offered headers; the same offer again sends nothing.
func TestOwnMetricsFollowsTheOffer(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r)
		bodies = append(bodies, b)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	var out bytes.Buffer
	o := &ownMetrics{log: &eventLog{out: &syncWriter{w: &out}}, uid: "0190c1a2-0000-7000-8000-000000000001"}
	offer := &protobufs.TelemetryConnectionSettings{
		DestinationEndpoint: srv.URL + "/v1/metrics",
		Headers:             &protobufs.Headers{Headers: []*protobufs.Header{{Key: "Authorization", Value: "Bearer t1"}}},
	}
	exports := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	waitExports := func(n int) {
		deadline := time.Now().Add(5 * time.Second)
		for exports() < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	o.offered(offer, "")
	waitExports(1)
	// The same offer again (every later message of the server repeats nothing, but a reconnect may): no new export.
	o.offered(offer, "")
	time.Sleep(200 * time.Millisecond)
	if n := exports(); n != 1 {
		t.Fatalf("the same offer again: want still 1 export, got %d", n)
	}
	// Another destination: followed.
	o.offered(&protobufs.TelemetryConnectionSettings{DestinationEndpoint: srv.URL + "/v1/metrics?b", Headers: offer.Headers}, "")
	waitExports(2)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("want 2 exports (one per destination), got %d", len(got))
	}
	if got[0].URL.Path != "/v1/metrics" || got[0].Header.Get("Authorization") != "Bearer t1" || got[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("unexpected request: %s %v", got[0].URL.Path, got[0].Header)
	}
	var body map[string]any
	if err := json.Unmarshal(bodies[0], &body); err != nil {
		t.Fatalf("the export is not JSON: %v", err)
	}
	if _, ok := body["resourceMetrics"]; !ok {
		t.Fatalf("no resourceMetrics in %s", bodies[0])
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
