// The agent's stdout: one JSON object per line for every event a test waits
// on. Each carries the time and a fingerprint of the bearer token in use,
// never the token itself.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

type eventLog struct {
	mu  sync.Mutex
	out io.Writer
}

// emit writes one event line; fields never hold a secret (header names only, token fingerprints).
func (l *eventLog) emit(event string, credential string, fields map[string]any) {
	line := map[string]any{}
	for k, v := range fields {
		line[k] = v
	}
	line["event"] = event
	line["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	line["credential"] = credential
	data, err := json.Marshal(line)
	if err != nil {
		data = []byte(`{"event":"encode_error"}`)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.out.Write(append(data, '\n'))
}

// credentialOf is the first 12 hex chars of SHA-256 of the bearer token in
// the headers ("" without one): enough to tell credentials apart in a test.
func credentialOf(h http.Header) string {
	auth := h.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])[:12]
}
