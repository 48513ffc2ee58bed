// The fleet as the peer knows it: one record per instance uid with what the
// agent last reported (OpAMP sends only what changed, so present fields
// overwrite, absent ones stay), its connection, and the one configuration
// every agent should run. An agent that reports another hash than the desired
// one gets the configuration in the reply to its message; a push sends it to
// every connected agent at once.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server/types"
)

type agentRecord struct {
	uid          []byte
	conn         types.Connection
	connected    bool
	description  *protobufs.AgentDescription
	capabilities uint64
	health       *protobufs.ComponentHealth
	remoteStatus *protobufs.RemoteConfigStatus
	effective    *protobufs.EffectiveConfig
	sequence     uint64
	lastSeen     time.Time
	// sentHash: the configuration last sent to it (not sent again until it reports).
	sentHash []byte
}

type fleet struct {
	mu      sync.Mutex
	agents  map[string]*agentRecord
	byConn  map[types.Connection]*agentRecord
	desired *protobufs.AgentRemoteConfig
	pushers int

	messages atomic.Uint64
	sends    atomic.Uint64
	sendErrs atomic.Uint64
}

func newFleet(pushers int) *fleet {
	return &fleet{agents: map[string]*agentRecord{}, byConn: map[types.Connection]*agentRecord{}, pushers: pushers}
}

func (f *fleet) onMessage(_ context.Context, conn types.Connection, m *protobufs.AgentToServer) *protobufs.ServerToAgent {
	f.messages.Add(1)
	key := string(m.InstanceUid)
	reply := &protobufs.ServerToAgent{InstanceUid: m.InstanceUid}
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.agents[key]
	if a == nil {
		a = &agentRecord{uid: append([]byte(nil), m.InstanceUid...)}
		f.agents[key] = a
		if m.AgentDescription == nil {
			// A status delta from an agent we do not know (e.g. after our restart).
			reply.Flags = uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState)
		}
	}
	if a.conn != conn {
		delete(f.byConn, a.conn)
		a.conn = conn
		f.byConn[conn] = a
	}
	a.connected = true
	a.lastSeen = time.Now()
	a.sequence = m.SequenceNum
	if m.AgentDescription != nil {
		a.description = m.AgentDescription
	}
	if m.Capabilities != 0 {
		a.capabilities = m.Capabilities
	}
	if m.Health != nil {
		a.health = m.Health
	}
	if m.RemoteConfigStatus != nil {
		a.remoteStatus = m.RemoteConfigStatus
	}
	if m.EffectiveConfig != nil {
		a.effective = m.EffectiveConfig
	}
	if m.AgentDisconnect != nil {
		a.connected = false
	}
	if f.desired != nil && a.acceptsRemoteConfig() && !a.applied(f.desired.ConfigHash) && !bytes.Equal(a.sentHash, f.desired.ConfigHash) {
		reply.RemoteConfig = f.desired
		a.sentHash = f.desired.ConfigHash
	}
	return reply
}

func (f *fleet) onClose(conn types.Connection) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.byConn[conn]; a != nil {
		a.connected = false
		a.conn = nil
		delete(f.byConn, conn)
	}
}

func (a *agentRecord) acceptsRemoteConfig() bool {
	return a.capabilities&uint64(protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig) != 0
}

func (a *agentRecord) applied(hash []byte) bool {
	return a.remoteStatus != nil && a.remoteStatus.Status == protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED &&
		bytes.Equal(a.remoteStatus.LastRemoteConfigHash, hash)
}

// push makes `body` the desired configuration and sends it to every connected
// agent that accepts one, `pushers` sends at a time; returns its hash and how many it goes to.
func (f *fleet) push(name, contentType string, body []byte) (string, int) {
	sum := sha256.Sum256(body)
	cfg := &protobufs.AgentRemoteConfig{
		Config:     &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{name: {Body: body, ContentType: contentType}}},
		ConfigHash: sum[:],
	}
	type target struct {
		uid  []byte
		conn types.Connection
	}
	f.mu.Lock()
	f.desired = cfg
	targets := make([]target, 0, len(f.byConn))
	for conn, a := range f.byConn {
		if a.acceptsRemoteConfig() {
			a.sentHash = cfg.ConfigHash
			targets = append(targets, target{a.uid, conn})
		}
	}
	f.mu.Unlock()
	work := make(chan target)
	for i := 0; i < f.pushers; i++ {
		go func() {
			for t := range work {
				f.sends.Add(1)
				if err := t.conn.Send(context.Background(), &protobufs.ServerToAgent{InstanceUid: t.uid, RemoteConfig: cfg}); err != nil {
					f.sendErrs.Add(1)
				}
			}
		}()
	}
	go func() {
		for _, t := range targets {
			work <- t
		}
		close(work)
	}()
	return hex.EncodeToString(cfg.ConfigHash), len(targets)
}

type agentView struct {
	InstanceUID        string `json:"instanceUid"`
	Connected          bool   `json:"connected"`
	ServiceName        string `json:"serviceName,omitempty"`
	Healthy            *bool  `json:"healthy,omitempty"`
	RemoteConfigStatus string `json:"remoteConfigStatus,omitempty"`
	LastRemoteHash     string `json:"lastRemoteConfigHash,omitempty"`
	InSync             bool   `json:"inSync"`
	LastSeen           string `json:"lastSeen"`
}

type summary struct {
	Agents      int    `json:"agents"`
	Connected   int    `json:"connected"`
	InSync      int    `json:"inSync"`
	DesiredHash string `json:"desiredHash,omitempty"`
	Messages    uint64 `json:"messages"`
	Sends       uint64 `json:"sends"`
	SendErrors  uint64 `json:"sendErrors"`
}

func (f *fleet) summary() summary {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := summary{Agents: len(f.agents), Messages: f.messages.Load(), Sends: f.sends.Load(), SendErrors: f.sendErrs.Load()}
	if f.desired != nil {
		s.DesiredHash = hex.EncodeToString(f.desired.ConfigHash)
	}
	for _, a := range f.agents {
		if a.connected {
			s.Connected++
		}
		if f.desired != nil && a.applied(f.desired.ConfigHash) {
			s.InSync++
		}
	}
	return s
}

// page lists agents in instance-uid order from `after` (exclusive), at most `limit`.
func (f *fleet) page(after string, limit int) ([]agentView, string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.agents))
	for k := range f.agents {
		if hex.EncodeToString([]byte(k)) > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	next := ""
	if len(keys) > limit {
		keys = keys[:limit]
		next = hex.EncodeToString([]byte(keys[limit-1]))
	}
	out := make([]agentView, 0, len(keys))
	for _, k := range keys {
		a := f.agents[k]
		v := agentView{InstanceUID: hex.EncodeToString(a.uid), Connected: a.connected, LastSeen: a.lastSeen.UTC().Format(time.RFC3339Nano)}
		if a.description != nil {
			for _, kv := range a.description.IdentifyingAttributes {
				if kv.Key == "service.name" {
					v.ServiceName = kv.GetValue().GetStringValue()
				}
			}
		}
		if a.health != nil {
			h := a.health.Healthy
			v.Healthy = &h
		}
		if a.remoteStatus != nil {
			v.RemoteConfigStatus = a.remoteStatus.Status.String()
			v.LastRemoteHash = hex.EncodeToString(a.remoteStatus.LastRemoteConfigHash)
		}
		v.InSync = f.desired != nil && a.applied(f.desired.ConfigHash)
		out = append(out, v)
	}
	return out, next, len(f.agents)
}
