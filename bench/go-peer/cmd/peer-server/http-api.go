// The peer's HTTP API: GET /agents (a page in instance-uid order:
// ?pageSize=&after=), GET /summary (counts: known, connected, in sync on the
// desired configuration, messages received), POST /config (the body becomes
// the configuration every agent should run, pushed at once).
package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

const maxConfigBytes = 1 << 20

func apiHandler(f *fleet) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /agents", func(w http.ResponseWriter, r *http.Request) {
		limit, err := strconv.Atoi(r.URL.Query().Get("pageSize"))
		if err != nil || limit <= 0 || limit > 1000 {
			limit = 100
		}
		agents, next, total := f.page(r.URL.Query().Get("after"), limit)
		writeJSON(w, http.StatusOK, map[string]any{"agents": agents, "nextAfter": next, "total": total})
	})
	mux.HandleFunc("GET /summary", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, f.summary())
	})
	mux.HandleFunc("POST /config", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfigBytes))
		if err != nil || len(body) == 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a non-empty configuration body of at most 1 MiB"})
			return
		}
		hash, targets := f.push("collector.yaml", "text/yaml", body)
		writeJSON(w, http.StatusOK, map[string]any{"hash": hash, "targets": targets})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
