// peer-swarm: N opamp-go WebSocket clients in one process, the load of
// bench/embedded-vs-peer.bench.js, the same against the in-memory peer and the
// embedded server. Each agent reports status, health and heartbeats (every
// -heartbeat, 5 s by default), accepts a remote configuration, applies it at
// once (it becomes its effective configuration) and reports APPLIED.
// Agents start at -ramp a second; uids are derived from -run and the agent's
// index (-first + i), so two processes of one run never share one. -source
// binds the connections to one loopback address (127.0.0.N): one process
// holds at most ~19,000 (20,000 open files), and one source address spreads
// the ephemeral ports. It prints a JSON stats line every -stats: connected,
// connect failures, and per configuration hash how many agents applied it
// and when the last of them did; the
// first line after every agent was started says "started".
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	endpoint := flag.String("endpoint", "ws://127.0.0.1:4320/v1/opamp", "OpAMP WebSocket URL")
	token := flag.String("token", "", "sent as Authorization: Bearer <token> when set")
	n := flag.Int("agents", 1000, "agents in this process")
	first := flag.Int("first", 0, "index of this process's first agent within the run")
	run := flag.String("run", "peer-bench", "run id: part of every uid and the bench.run attribute")
	heartbeat := flag.Duration("heartbeat", 5*time.Second, "heartbeat interval")
	ramp := flag.Int("ramp", 1000, "agents started per second")
	source := flag.String("source", "", "local address to connect from, e.g. 127.0.0.2")
	statsEvery := flag.Duration("stats", 250*time.Millisecond, "how often a stats line is printed")
	flag.Parse()

	if *source != "" {
		ip := net.ParseIP(*source)
		if ip == nil {
			fmt.Fprintf(os.Stderr, "-source %q is not an IP address\n", *source)
			os.Exit(2)
		}
		// opamp-go copies websocket.DefaultDialer in Start: set it before the first agent starts.
		d := *websocket.DefaultDialer
		nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 30 * time.Second}
		d.NetDialContext = nd.DialContext
		d.HandshakeTimeout = 30 * time.Second
		websocket.DefaultDialer = &d
	}

	prefix := sha256.Sum256([]byte(*run))
	agents := make([]*swarmAgent, 0, *n)
	out := json.NewEncoder(os.Stdout)
	started := make(chan struct{})
	go func() {
		interval := time.Second / time.Duration(max(1, *ramp))
		next := time.Now()
		for i := 0; i < *n; i++ {
			var uid [16]byte
			copy(uid[:8], prefix[:8])
			binary.BigEndian.PutUint64(uid[8:], uint64(*first+i))
			a := newSwarmAgent(uid, *run, *heartbeat)
			if err := a.start(*endpoint, *token); err != nil {
				fmt.Fprintf(os.Stderr, "agent %d: %v\n", *first+i, err)
				os.Exit(1)
			}
			agentsMu.Lock()
			agents = append(agents, a)
			agentsMu.Unlock()
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
		}
		close(started)
	}()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(*statsEvery)
	announced := false
	for {
		select {
		case <-stop:
			stopAll(snapshot(&agents))
			return
		case <-tick.C:
			s := collect(snapshot(&agents))
			select {
			case <-started:
				if !announced {
					s.Event = "started"
					announced = true
				}
			default:
			}
			_ = out.Encode(s)
		}
	}
}

type stats struct {
	Event          string                   `json:"event"`
	TimeMs         int64                    `json:"t"`
	Started        int                      `json:"started"`
	Connected      int                      `json:"connected"`
	ConnectFailed  uint64                   `json:"connectFailed"`
	ServerErrors   uint64                   `json:"serverErrors"`
	ConfigsApplied uint64                   `json:"configsApplied"`
	Applied        map[string]*appliedCount `json:"applied"`
}

// appliedCount: how many agents run a configuration, and when the last of them applied it.
type appliedCount struct {
	Agents int   `json:"agents"`
	LastMs int64 `json:"lastMs"`
}

func collect(agents []*swarmAgent) stats {
	s := stats{Event: "stats", TimeMs: time.Now().UnixMilli(), Started: len(agents), Applied: map[string]*appliedCount{}}
	for _, a := range agents {
		if a.connected.Load() {
			s.Connected++
		}
		if ap := a.applied.Load(); ap != nil {
			c := s.Applied[ap.hash]
			if c == nil {
				c = &appliedCount{}
				s.Applied[ap.hash] = c
			}
			c.Agents++
			c.LastMs = max(c.LastMs, ap.atMs)
		}
	}
	s.ConnectFailed = connectFailed.Load()
	s.ServerErrors = serverErrors.Load()
	s.ConfigsApplied = configsApplied.Load()
	return s
}

func stopAll(agents []*swarmAgent) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan struct{}, len(agents))
	for _, a := range agents {
		go func() {
			_ = a.client.Stop(ctx)
			done <- struct{}{}
		}()
	}
	for range agents {
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
	}
}
