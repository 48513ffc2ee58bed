// One agent of the swarm: an opamp-go WebSocket client whose effective
// configuration is whatever remote configuration it was sent last (a small
// local one before that).
package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opamp-go/client"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
)

var (
	agentsMu       sync.Mutex
	connectFailed  atomic.Uint64
	serverErrors   atomic.Uint64
	configsApplied atomic.Uint64
)

func snapshot(agents *[]*swarmAgent) []*swarmAgent {
	agentsMu.Lock()
	defer agentsMu.Unlock()
	return append([]*swarmAgent(nil), (*agents)...)
}

const localConfig = "receivers:\n  hostmetrics: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    metrics: {receivers: [hostmetrics], exporters: [debug]}\n"

// appliedConfig: the configuration an agent runs, and when it reported it APPLIED.
type appliedConfig struct {
	hash string
	atMs int64
}

type swarmAgent struct {
	uid       types.InstanceUid
	run       string
	heartbeat time.Duration
	client    client.OpAMPClient

	connected atomic.Bool
	applied   atomic.Pointer[appliedConfig]
	mu        sync.Mutex
	effective *protobufs.AgentConfigMap
}

func newSwarmAgent(uid types.InstanceUid, run string, heartbeat time.Duration) *swarmAgent {
	return &swarmAgent{
		uid:       uid,
		run:       run,
		heartbeat: heartbeat,
		effective: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
			"collector.yaml": {Body: []byte(localConfig), ContentType: "text/yaml"},
		}},
	}
}

func str(k, v string) *protobufs.KeyValue {
	return &protobufs.KeyValue{Key: k, Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: v}}}
}

func (a *swarmAgent) start(endpoint, token string) error {
	a.client = client.NewWebSocket(quietLog{})
	uidHex := hex.EncodeToString(a.uid[:])
	if err := a.client.SetAgentDescription(&protobufs.AgentDescription{
		IdentifyingAttributes:    []*protobufs.KeyValue{str("service.name", "bench-peer-agent"), str("service.instance.id", uidHex)},
		NonIdentifyingAttributes: []*protobufs.KeyValue{str("bench.run", a.run), str("host.name", "swarm-"+uidHex[24:]), str("os.type", "linux")},
	}); err != nil {
		return err
	}
	if err := a.client.SetHealth(&protobufs.ComponentHealth{Healthy: true, Status: "running", StartTimeUnixNano: uint64(time.Now().UnixNano())}); err != nil {
		return err
	}
	caps := protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
		protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsHeartbeat
	if err := a.client.SetCapabilities(&caps); err != nil {
		return err
	}
	header := map[string][]string{}
	if token != "" {
		header["Authorization"] = []string{"Bearer " + token}
	}
	hb := a.heartbeat
	return a.client.Start(context.Background(), types.StartSettings{
		OpAMPServerURL:     endpoint,
		Header:             header,
		InstanceUid:        a.uid,
		HeartbeatInterval:  &hb,
		RemoteConfigStatus: &protobufs.RemoteConfigStatus{Status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_UNSET},
		Callbacks: types.Callbacks{
			OnConnect: func(context.Context) { a.connected.Store(true) },
			OnConnectFailed: func(context.Context, error) {
				a.connected.Store(false)
				connectFailed.Add(1)
			},
			OnError:            func(context.Context, *protobufs.ServerErrorResponse) { serverErrors.Add(1) },
			OnMessage:          a.onMessage,
			GetEffectiveConfig: a.effectiveConfig,
		},
	})
}

func (a *swarmAgent) onMessage(ctx context.Context, msg *types.MessageData) {
	rc := msg.RemoteConfig
	if rc == nil {
		return
	}
	hash := hex.EncodeToString(rc.ConfigHash)
	if cur := a.applied.Load(); cur != nil && cur.hash == hash {
		return
	}
	a.mu.Lock()
	a.effective = rc.Config
	a.mu.Unlock()
	if err := a.client.SetRemoteConfigStatus(&protobufs.RemoteConfigStatus{
		LastRemoteConfigHash: rc.ConfigHash,
		Status:               protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED,
	}); err != nil {
		return
	}
	_ = a.client.UpdateEffectiveConfig(ctx)
	configsApplied.Add(1)
	a.applied.Store(&appliedConfig{hash: hash, atMs: time.Now().UnixMilli()})
}

func (a *swarmAgent) effectiveConfig(context.Context) (*protobufs.EffectiveConfig, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &protobufs.EffectiveConfig{ConfigMap: a.effective}, nil
}

// quietLog drops opamp-go's log lines: at thousands of agents a reconnect
// storm would print more than the benchmark; failures are counted instead.
type quietLog struct{}

func (quietLog) Debugf(context.Context, string, ...any) {}
func (quietLog) Errorf(_ context.Context, format string, v ...any) {
	_ = fmt.Sprintf(format, v...)
}
