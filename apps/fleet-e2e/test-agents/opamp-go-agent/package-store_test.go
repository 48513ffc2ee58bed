package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
)

func TestStoreKeepsOnlyBytesOfTheOfferedHash(t *testing.T) {
	s, err := openPackageStore(t.TempDir(), "agent")
	if err != nil {
		t.Fatal(err)
	}
	var installed []string
	s.installed = func(v string) { installed = append(installed, v) }
	if err := s.CreatePackage("agent", protobufs.PackageType_PackageType_TopLevel); err != nil {
		t.Fatal(err)
	}
	good := []byte("the agent, version 2")
	sum := sha256.Sum256(good)
	err = s.UpdateContent(context.Background(), "agent", bytes.NewReader([]byte("something else")), sum[:], nil)
	if err == nil || !strings.Contains(err.Error(), "content hash mismatch") {
		t.Fatalf("other bytes: want a content hash mismatch, got %v", err)
	}
	if h, _ := s.FileContentHash("agent"); h != nil {
		t.Fatalf("refused bytes were kept: hash %x", h)
	}
	if err := s.UpdateContent(context.Background(), "agent", bytes.NewReader(good), sum[:], nil); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.FileContentHash("agent"); !bytes.Equal(h, sum[:]) {
		t.Fatalf("content hash %x, want %x", h, sum)
	}
	st, _ := s.PackageState("agent")
	st.Version = "2.0.0"
	if err := s.SetPackageState("agent", st); err != nil {
		t.Fatal(err)
	}
	// A restarted agent reads what it installed.
	again, err := openPackageStore(s.dir, "agent")
	if err != nil {
		t.Fatal(err)
	}
	if v := again.agentVersion(); v != "2.0.0" || len(installed) != 1 || installed[0] != "2.0.0" {
		t.Fatalf("agent version after restart %q, installed %v", v, installed)
	}
}

// A server that cuts its first answer after `cut` bytes and answers Range with 206.
func cuttingServer(t *testing.T, body []byte, cut int) (*httptest.Server, *atomic.Int32) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		w.Header().Set("ETag", `"v1"`)
		if rng := r.Header.Get("Range"); rng != "" {
			var from int
			if _, err := fmt.Sscanf(rng, "bytes=%d-", &from); err != nil || r.Header.Get("If-Range") != `"v1"` {
				http.Error(w, "bad range", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(body)-1, len(body)))
			w.Header().Set("Content-Length", fmt.Sprint(len(body)-from))
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(body[from:])
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if n > 1 {
			_, _ = w.Write(body)
			return
		}
		_, _ = w.Write(body[:cut])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

func TestDownloadsResumeWithRangeOnlyWhenAsked(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 10_000)
	for _, resume := range []bool{false, true} {
		t.Run(fmt.Sprintf("resume=%v", resume), func(t *testing.T) {
			srv, requests := cuttingServer(t, body, 30_000)
			var events []string
			a := &agent{agentOptions: agentOptions{resumeDownloads: resume}}
			client, _ := a.downloadClient(context.Background(), nil)
			client.Transport.(*downloadTransport).emit = func(e string, _ map[string]any) { events = append(events, e) }
			res, err := client.Get(srv.URL + "/f")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if !resume {
				if err == nil || len(got) != 30_000 || requests.Load() != 1 {
					t.Fatalf("without resumption: want the cut (30000 bytes, 1 request), got %d bytes, %d requests, err %v", len(got), requests.Load(), err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, body) || requests.Load() != 2 {
				t.Fatalf("with resumption: got %d bytes (equal %v), %d requests, err %v, events %v", len(got), bytes.Equal(got, body), requests.Load(), err, events)
			}
		})
	}
}
