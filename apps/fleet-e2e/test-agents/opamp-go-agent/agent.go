// The test agent: its remote configuration (applied in memory, reported back),
// its health, and the connection settings flow the way the OpAMP supervisor
// runs it: an offer is a candidate, the agent disconnects (APPLYING), connects
// with the candidate, and keeps it (APPLIED) only if that connection succeeds
// within the apply timeout; otherwise it reconnects with the previous settings
// and reports FAILED. Stops and switches run one at a time on one goroutine.
//
// What opamp-go v0.23.0 does by itself, so the agent does not: it queues
// APPLYING when an offer arrives (ReportsConnectionSettingsStatus), and sets
// the current client's heartbeat from every offer (0 disables WebSocket
// heartbeats; plain HTTP refuses 0). It does not skip offers it has seen (the
// agent does, by hash), and it queues APPLIED as soon as the callback returns,
// so the callback returns only once the old client can no longer send.
package main

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

type agentOptions struct {
	uid          types.InstanceUid
	caps         protobufs.AgentCapabilities
	description  *protobufs.AgentDescription
	applyTimeout time.Duration
	store        *settingsStore
	log          *eventLog
	stderr       io.Writer
	// clientTLS: the flags' CA and client certificate, for every session (nil: none).
	clientTLS *tls.Config
	// Send a CSR once the first session is up (-request-certificate).
	requestCertificate bool
	// Where the CSR's key is kept (-certificate-key; "": memory only).
	certificateKeyFile string
	// packages: -packages-dir (nil: the agent does not accept packages).
	packages *packageStore
	// Continue a broken download with Range (-resume-downloads).
	resumeDownloads bool
	// Follow own_metrics offers (-own-metrics); nil: not declared.
	ownMetrics *ownMetrics
}

type switchRequest struct {
	from      *session
	candidate connSettings
}

type agent struct {
	agentOptions
	requests chan any
	stopOnce sync.Once
	certKey  certificateKey

	// Owned by the run goroutine, read by callbacks under mu.
	mu           sync.Mutex
	current      connSettings
	session      *session
	remoteConfig *protobufs.AgentConfigMap
	remoteStatus *protobufs.RemoteConfigStatus
	failedHash   string
	failedReason string
	heartbeat    int64 // seconds in effect; -1 before the first session
}

type stopRequest struct{ done chan struct{} }

func newAgent(o agentOptions) *agent {
	a := &agent{agentOptions: o, requests: make(chan any, 8), heartbeat: -1, certKey: certificateKey{file: o.certificateKeyFile}}
	if o.packages != nil {
		o.packages.emit = a.emitCurrent
		o.packages.installed = a.setServiceVersion
	}
	return a
}

// emitCurrent emits with the credential of the session in use.
func (a *agent) emitCurrent(event string, fields map[string]any) {
	a.mu.Lock()
	s := a.session
	a.mu.Unlock()
	if s == nil {
		a.log.emit(event, "", fields)
		return
	}
	s.emit(event, fields)
}

// setServiceVersion: the agent's own package was installed at this version.
// A real agent would restart on the new binary and describe itself with it;
// this one changes its description in place (sent with the next message), and
// a restart reads the version from the package store (main.go).
func (a *agent) setServiceVersion(version string) {
	a.mu.Lock()
	a.description = withServiceVersion(a.description, version)
	desc := proto.Clone(a.description).(*protobufs.AgentDescription)
	s := a.session
	a.mu.Unlock()
	if s != nil {
		if err := s.client.SetAgentDescription(desc); err != nil {
			fmt.Fprintf(a.stderr, "agent description: %v\n", err)
		}
	}
	a.emitCurrent("agent_version", map[string]any{"version": version})
}

// start connects with the given settings; accepted: they came from the state directory.
func (a *agent) start(st connSettings, accepted bool) error {
	if err := a.certKey.load(); err != nil {
		return err
	}
	a.current = st
	var cs *protobufs.ConnectionSettingsStatus
	if accepted && st.Hash != "" {
		hash, _ := hex.DecodeString(st.Hash)
		cs = &protobufs.ConnectionSettingsStatus{LastConnectionSettingsHash: hash, Status: protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED}
	}
	s, err := a.startSession(st, cs)
	if err != nil {
		return err
	}
	a.setSession(s)
	go a.run()
	return nil
}

func (a *agent) setSession(s *session) {
	a.mu.Lock()
	a.session = s
	a.mu.Unlock()
}

func (a *agent) run() {
	for req := range a.requests {
		switch r := req.(type) {
		case switchRequest:
			a.switchSettings(r.from, r.candidate)
		case stopRequest:
			a.stopSession(a.session, nil)
			a.session.emit("stopped", nil)
			close(r.done)
			return
		}
	}
}

// stop sends agent_disconnect and waits until the client has stopped.
func (a *agent) stop() {
	a.stopOnce.Do(func() {
		done := make(chan struct{})
		a.requests <- stopRequest{done: done}
		<-done
	})
}

func (a *agent) startSession(st connSettings, cs *protobufs.ConnectionSettingsStatus) (*session, error) {
	s := newSession(st, a.uid, a.log, a.stderr)
	s.clientTLS = a.clientTLS
	if st.CertPEM != "" {
		cert, err := a.certKey.clientCertificate(st.CertPEM)
		if err != nil {
			return nil, err
		}
		s.clientCert = cert
	}
	// Health first: SetCapabilities refuses ReportsHealth without it.
	if err := s.client.SetHealth(&protobufs.ComponentHealth{Healthy: true, Status: "running", StartTimeUnixNano: uint64(time.Now().UnixNano())}); err != nil {
		return nil, err
	}
	// opamp-go v0.23.0 refuses AcceptsPackages in SetCapabilities before Start
	// (the state provider is only known at Start): those go in through the
	// deprecated StartSettings.Capabilities, checked once the provider is set.
	packageCaps := protobufs.AgentCapabilities_AgentCapabilities_AcceptsPackages | protobufs.AgentCapabilities_AgentCapabilities_ReportsPackageStatuses
	caps := a.caps &^ packageCaps
	if err := s.client.SetCapabilities(&caps); err != nil {
		return nil, err
	}
	var startCaps protobufs.AgentCapabilities
	if a.caps&packageCaps != 0 {
		startCaps = a.caps
	}
	a.mu.Lock()
	desc := proto.Clone(a.description).(*protobufs.AgentDescription)
	rcs := proto.Clone(a.remoteStatusOrUnset()).(*protobufs.RemoteConfigStatus)
	a.mu.Unlock()
	if err := s.client.SetAgentDescription(desc); err != nil {
		return nil, err
	}
	var packages types.PackagesStateProvider
	if a.packages != nil {
		packages = a.packages
	}
	active.Store(s)
	err := s.client.Start(context.Background(), types.StartSettings{
		PackagesStateProvider:        packages,
		Capabilities:                 startCaps,
		OpAMPServerURL:               st.Endpoint,
		Header:                       st.Headers.Clone(),
		TLSConfig:                    s.tlsConfig(),
		InstanceUid:                  a.uid,
		RemoteConfigStatus:           rcs,
		LastConnectionSettingsStatus: cs,
		HeartbeatInterval:            st.heartbeat(),
		Callbacks:                    a.callbacks(s),
	})
	if err != nil {
		return nil, err
	}
	seconds := int64(st.HeartbeatSeconds)
	if seconds == 0 {
		seconds = defaultHeartbeatSeconds
	}
	a.heartbeatNow(s, seconds)
	if a.requestCertificate {
		// On every session until a certificate came: a CSR queued on a client that a switch stops is never sent.
		go a.certKey.requestOnConnect(s, uidHexOf(a.uid))
	}
	return s, nil
}

func (a *agent) remoteStatusOrUnset() *protobufs.RemoteConfigStatus {
	if a.remoteStatus == nil {
		return &protobufs.RemoteConfigStatus{Status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_UNSET}
	}
	return a.remoteStatus
}

func (a *agent) heartbeatNow(s *session, seconds int64) {
	a.mu.Lock()
	changed := a.heartbeat != seconds
	a.heartbeat = seconds
	a.mu.Unlock()
	if changed {
		s.emit("heartbeat_interval", map[string]any{"seconds": seconds})
	}
}

// stopSession stops the client; WebSocket sends agent_disconnect (and what is
// queued, e.g. APPLYING) itself, plain HTTP gets it from the agent.
func (a *agent) stopSession(s *session, applying *protobufs.ConnectionSettingsStatus) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.client.Stop(ctx); err != nil {
		fmt.Fprintf(a.stderr, "stop: %v\n", err)
	}
	if s.settings.isHTTP() && s.up.Load() {
		if a.caps&protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus == 0 {
			applying = nil
		}
		if err := postDisconnect(s, a.caps, applying); err != nil {
			fmt.Fprintf(a.stderr, "agent_disconnect: %v\n", err)
		}
	}
	active.CompareAndSwap(s, nil)
}

func (a *agent) callbacks(s *session) types.Callbacks {
	return types.Callbacks{
		OnConnect:       func(context.Context) { s.markConnected() },
		OnConnectFailed: func(_ context.Context, err error) { s.onWebSocketConnectFailed(err) },
		OnError: func(_ context.Context, e *protobufs.ServerErrorResponse) {
			s.emit("server_error_response", map[string]any{"type": e.GetType().String(), "message": e.GetErrorMessage()})
		},
		OnMessage: func(ctx context.Context, msg *types.MessageData) {
			s.offerHash = msg.OfferedConnectionsSettingsHash
			a.ownMetrics.offered(msg.OwnMetricsConnSettings, s.settings.credential())
			if msg.RemoteConfig != nil {
				a.applyRemoteConfig(ctx, s, msg.RemoteConfig)
			}
			if msg.PackagesAvailable != nil && msg.PackageSyncer != nil {
				a.syncPackages(s, msg.PackagesAvailable, msg.PackageSyncer)
			}
		},
		DownloadHTTPClient: a.downloadClient,
		OnOpampConnectionSettings: func(ctx context.Context, offer *protobufs.OpAMPConnectionSettings) error {
			a.certKey.offered(s, offer)
			return a.onOffer(ctx, s, offer)
		},
		GetEffectiveConfig: func(context.Context) (*protobufs.EffectiveConfig, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			cfg := a.remoteConfig
			if cfg == nil {
				cfg = &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{}}
			}
			return &protobufs.EffectiveConfig{ConfigMap: proto.Clone(cfg).(*protobufs.AgentConfigMap)}, nil
		},
	}
}

// applyRemoteConfig keeps the files as they came: the effective config is
// exactly the received files, and the status is APPLIED with their hash.
func (a *agent) applyRemoteConfig(ctx context.Context, s *session, rc *protobufs.AgentRemoteConfig) {
	status := &protobufs.RemoteConfigStatus{LastRemoteConfigHash: rc.GetConfigHash(), Status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED}
	files := []string{}
	for name := range rc.GetConfig().GetConfigMap() {
		files = append(files, name)
	}
	a.mu.Lock()
	a.remoteConfig = rc.GetConfig()
	a.remoteStatus = status
	a.mu.Unlock()
	if err := s.client.SetRemoteConfigStatus(status); err != nil {
		fmt.Fprintf(a.stderr, "remote config status: %v\n", err)
	}
	if err := s.client.UpdateEffectiveConfig(ctx); err != nil {
		fmt.Fprintf(a.stderr, "effective config: %v\n", err)
	}
	s.emit("remote_config", map[string]any{"hash": hex.EncodeToString(rc.GetConfigHash()), "files": files})
}

// onOffer runs on the offering client's receive path. Its return value is the
// status opamp-go reports for the offer on that client, so a switch returns
// only once that client cannot send any more (see the top comment).
func (a *agent) onOffer(ctx context.Context, s *session, offer *protobufs.OpAMPConnectionSettings) error {
	a.mu.Lock()
	cur, failedHash, failedReason := a.current, a.failedHash, a.failedReason
	a.mu.Unlock()
	candidate := cur.withOffer(offer, s.offerHash)
	s.emit("settings_offered", map[string]any{
		"hash": candidate.Hash, "endpoint": candidate.Endpoint, "heartbeatSeconds": offer.GetHeartbeatIntervalSeconds(),
		"headerNames": headerNames(offer), "offerCredential": candidate.credential(),
	})
	if candidate.Hash != "" && candidate.Hash == cur.Hash {
		return nil // accepted before: opamp-go reports APPLIED again
	}
	if candidate.Hash != "" && candidate.Hash == failedHash {
		return fmt.Errorf("offer %s failed before: %s", candidate.Hash, failedReason)
	}
	if candidate.sameConnection(cur) {
		// Only the heartbeat differs: opamp-go set it on this client already.
		if err := a.accept(candidate); err != nil {
			return err
		}
		seconds := int64(offer.GetHeartbeatIntervalSeconds())
		if seconds == 0 && s.settings.isHTTP() {
			seconds = int64(cur.HeartbeatSeconds)
		}
		a.heartbeatNow(s, seconds)
		s.emit("settings_applied", map[string]any{"hash": candidate.Hash, "reconnected": false})
		return nil
	}
	select {
	case a.requests <- switchRequest{from: s, candidate: candidate}:
	case <-ctx.Done():
		return nil
	}
	select {
	case <-ctx.Done():
	case <-s.senderStopped:
	}
	return nil
}

func headerNames(offer *protobufs.OpAMPConnectionSettings) []string {
	names := []string{}
	for _, h := range offer.GetHeaders().GetHeaders() {
		names = append(names, h.GetKey())
	}
	return names
}

func (a *agent) accept(c connSettings) error {
	if err := a.store.save(c); err != nil {
		return fmt.Errorf("persist accepted settings: %w", err)
	}
	a.mu.Lock()
	a.current = c
	a.failedHash, a.failedReason = "", ""
	a.mu.Unlock()
	return nil
}

// switchSettings disconnects (APPLYING), connects with the candidate and keeps
// it if that connection succeeds in time; otherwise back to what worked, FAILED.
func (a *agent) switchSettings(from *session, candidate connSettings) {
	hash, _ := hex.DecodeString(candidate.Hash)
	status := func(st protobufs.ConnectionSettingsStatuses, msg string) *protobufs.ConnectionSettingsStatus {
		return &protobufs.ConnectionSettingsStatus{LastConnectionSettingsHash: hash, Status: st, ErrorMessage: msg}
	}
	a.stopSession(from, status(protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING, ""))
	// The first message of the new connection says APPLIED: it reaches the
	// server only over a connection the candidate made.
	next, err := a.startSession(candidate, status(protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED, ""))
	var reason string
	if err != nil {
		reason = err.Error()
	} else {
		timer := time.NewTimer(a.applyTimeout)
		defer timer.Stop()
		select {
		case <-next.connected:
			err := a.accept(candidate)
			if err == nil {
				a.setSession(next)
				next.emit("settings_applied", map[string]any{"hash": candidate.Hash, "reconnected": true, "certFingerprint": candidate.certFingerprint()})
				return
			}
			reason = err.Error()
		case reason = <-next.failed:
		case <-timer.C:
			reason = fmt.Sprintf("no connection within %s", a.applyTimeout)
		}
		a.stopSession(next, nil)
	}
	a.mu.Lock()
	a.failedHash, a.failedReason = candidate.Hash, reason
	previous := a.current
	a.mu.Unlock()
	a.log.emit("settings_failed", candidate.credential(), map[string]any{"hash": candidate.Hash, "error": reason})
	back, err := a.startSession(previous, status(protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED, reason))
	if err != nil {
		// The previous settings worked a moment ago; nothing sensible is left to try.
		a.log.emit("settings_rolled_back", previous.credential(), map[string]any{"hash": candidate.Hash, "error": err.Error()})
		return
	}
	a.setSession(back)
	back.emit("settings_rolled_back", map[string]any{"hash": candidate.Hash, "endpoint": previous.Endpoint})
}

// defaultHeartbeatSeconds is opamp-go's interval when none is set (WebSocket heartbeat, HTTP poll).
const defaultHeartbeatSeconds = 30
