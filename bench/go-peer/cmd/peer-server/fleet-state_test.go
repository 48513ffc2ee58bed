package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// recordingConn is a connection that keeps what was sent on it.
type recordingConn struct {
	mu   sync.Mutex
	sent []*protobufs.ServerToAgent
}

func (c *recordingConn) Connection() net.Conn { return nil }
func (c *recordingConn) Disconnect() error    { return nil }
func (c *recordingConn) Send(_ context.Context, m *protobufs.ServerToAgent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m)
	return nil
}
func (c *recordingConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

const accepts = uint64(protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus | protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig)

func hello(uid byte) *protobufs.AgentToServer {
	return &protobufs.AgentToServer{InstanceUid: []byte{uid}, Capabilities: accepts, AgentDescription: &protobufs.AgentDescription{}}
}

func TestPushReachesConnectedAgentsAndAPPLIEDMakesThemInSync(t *testing.T) {
	f := newFleet(4)
	a, b := &recordingConn{}, &recordingConn{}
	f.onMessage(context.Background(), a, hello(1))
	f.onMessage(context.Background(), b, hello(2))
	hash, targets := f.push("c.yaml", "text/yaml", []byte("x: 1"))
	if targets != 2 {
		t.Fatalf("targets = %d, want 2", targets)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.count()+b.count() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if a.count() != 1 || b.count() != 1 {
		t.Fatalf("sent %d and %d, want 1 each", a.count(), b.count())
	}
	cfgHash := a.sent[0].RemoteConfig.ConfigHash
	f.onMessage(context.Background(), a, &protobufs.AgentToServer{InstanceUid: []byte{1}, RemoteConfigStatus: &protobufs.RemoteConfigStatus{
		LastRemoteConfigHash: cfgHash, Status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED,
	}})
	s := f.summary()
	if s.InSync != 1 || s.Connected != 2 || s.DesiredHash != hash {
		t.Fatalf("summary = %+v, want 1 in sync of 2 connected on %s", s, hash)
	}
}

func TestAnAgentThatConnectsLaterGetsTheConfigurationInItsReply(t *testing.T) {
	f := newFleet(1)
	f.push("c.yaml", "text/yaml", []byte("x: 1"))
	reply := f.onMessage(context.Background(), &recordingConn{}, hello(3))
	if reply.RemoteConfig == nil {
		t.Fatal("no remote config in the reply to a new agent")
	}
	again := f.onMessage(context.Background(), &recordingConn{}, &protobufs.AgentToServer{InstanceUid: []byte{3}})
	if again.RemoteConfig != nil {
		t.Fatal("the configuration was sent again before the agent reported on it")
	}
}

func TestAStatusDeltaFromAnUnknownAgentAsksForItsFullState(t *testing.T) {
	f := newFleet(1)
	reply := f.onMessage(context.Background(), &recordingConn{}, &protobufs.AgentToServer{InstanceUid: []byte{9}})
	if reply.Flags&uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState) == 0 {
		t.Fatal("no ReportFullState flag")
	}
}

func TestPageListsInUidOrderAndGoesOn(t *testing.T) {
	f := newFleet(1)
	for _, uid := range []byte{5, 1, 3} {
		f.onMessage(context.Background(), &recordingConn{}, hello(uid))
	}
	first, next, total := f.page("", 2)
	if total != 3 || len(first) != 2 || first[0].InstanceUID != "01" || first[1].InstanceUID != "03" || next != "03" {
		t.Fatalf("first page %+v next %q total %d", first, next, total)
	}
	rest, next, _ := f.page(next, 2)
	if len(rest) != 1 || rest[0].InstanceUID != "05" || next != "" {
		t.Fatalf("second page %+v next %q", rest, next)
	}
}
