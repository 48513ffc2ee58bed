// stdin commands, one JSON object per line, so a test drives a running agent:
//
//	{"cmd":"stop"}                         agent_disconnect, "stopped", exit 0
//	{"cmd":"health","healthy":false,"status":"x"}  report that health
//	{"cmd":"state"}                        a "state" event: the settings in use
//	{"cmd":"request_certificate"}          a CSR for the agent's uid (certificate-request.go)
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

type command struct {
	Cmd     string `json:"cmd"`
	Healthy *bool  `json:"healthy,omitempty"`
	Status  string `json:"status,omitempty"`
}

func readCommands(in io.Reader, out chan<- command, log *eventLog) {
	defer close(out)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var c command
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil || c.Cmd == "" {
			log.emit("command_error", "", map[string]any{"error": "not a {\"cmd\":...} object"})
			continue
		}
		out <- c
	}
}

func (a *agent) handle(c command) {
	a.mu.Lock()
	s, cur, rcs, hb := a.session, a.current, a.remoteStatus, a.heartbeat
	a.mu.Unlock()
	switch c.Cmd {
	case "health":
		healthy := c.Healthy == nil || *c.Healthy
		err := s.client.SetHealth(&protobufs.ComponentHealth{Healthy: healthy, Status: c.Status, StatusTimeUnixNano: uint64(time.Now().UnixNano())})
		if err != nil {
			s.emit("command_error", map[string]any{"cmd": c.Cmd, "error": err.Error()})
			return
		}
		s.emit("health_set", map[string]any{"healthy": healthy})
	case "state":
		s.emit("state", map[string]any{
			"endpoint": cur.Endpoint, "headerNames": cur.headerNames(), "hash": cur.Hash, "heartbeatSeconds": hb,
			"remoteConfigHash": hex.EncodeToString(rcs.GetLastRemoteConfigHash()), "transport": s.transport(),
		})
	case "request_certificate":
		if err := a.certKey.request(s, uidHexOf(a.uid)); err != nil {
			s.emit("command_error", map[string]any{"cmd": c.Cmd, "error": err.Error()})
		}
	default:
		s.emit("command_error", map[string]any{"cmd": c.Cmd, "error": "unknown command"})
	}
}
