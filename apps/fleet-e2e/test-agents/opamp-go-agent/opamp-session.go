// One opamp-go client (WebSocket or plain HTTP, by the endpoint's scheme)
// started with one set of connection settings, and what happened to it:
// connected, failed to connect, its sender stopped. A settings switch stops
// one session and starts the next; they never run at the same time.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-telemetry/opamp-go/client"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
)

type session struct {
	settings connSettings
	uid      types.InstanceUid
	client   client.OpAMPClient
	log      *eventLog

	connected     chan struct{}
	connectOnce   sync.Once
	failed        chan string
	senderStopped chan struct{}
	senderOnce    sync.Once

	// up: the last plain-HTTP exchange succeeded (HTTP has no connection to watch).
	up atomic.Bool
	// attempt counts WebSocket dials; opamp-go reports one failed dial twice.
	attempt         atomic.Int64
	reportedAttempt atomic.Int64
	handshakeStatus atomic.Int64
	lastSeq         atomic.Uint64

	// offerHash: the hash of the offer in the message being processed (receiver goroutine only).
	offerHash []byte

	// clientTLS: the flags' CA and client certificate (nil: none).
	clientTLS *tls.Config
	// clientCert: the offered client certificate with the agent's key, used instead of the flags' one (nil: none).
	clientCert *tls.Certificate
}

func newSession(st connSettings, uid types.InstanceUid, log *eventLog, stderr io.Writer) *session {
	s := &session{
		settings:      st,
		uid:           uid,
		log:           log,
		connected:     make(chan struct{}),
		failed:        make(chan string, 1),
		senderStopped: make(chan struct{}),
	}
	logger := &libraryLog{s: s, w: stderr}
	if st.isHTTP() {
		s.client = client.NewHTTP(logger)
	} else {
		s.client = client.NewWebSocket(logger)
	}
	return s
}

func (s *session) emit(event string, fields map[string]any) {
	s.log.emit(event, s.settings.credential(), fields)
}

func (s *session) newAttempt() {
	s.handshakeStatus.Store(0)
	s.attempt.Add(1)
}

func (s *session) markConnected() {
	// Plain HTTP calls OnConnect on every 200: only a change is an event.
	if !s.settings.isHTTP() || !s.up.Swap(true) {
		s.emit("connected", map[string]any{"endpoint": s.settings.Endpoint, "transport": s.transport()})
	}
	s.connectOnce.Do(func() { close(s.connected) })
}

func (s *session) connectFailed(status int, text string) {
	s.up.Store(false)
	fields := map[string]any{"endpoint": s.settings.Endpoint, "transport": s.transport(), "error": text}
	if status != 0 {
		fields["status"] = status
	}
	s.emit("connect_failed", fields)
	msg := text
	if status != 0 {
		msg = fmt.Sprintf("HTTP %d: %s", status, text)
	}
	select {
	case s.failed <- msg:
	default:
	}
}

// onWebSocketConnectFailed: plain HTTP failures are seen by the transport watch instead.
func (s *session) onWebSocketConnectFailed(err error) {
	if s.settings.isHTTP() || errors.Is(err, context.Canceled) {
		return
	}
	n := s.attempt.Load()
	if s.reportedAttempt.Swap(n) == n && n != 0 {
		return
	}
	s.connectFailed(int(s.handshakeStatus.Load()), err.Error())
}

func (s *session) transport() string {
	if s.settings.isHTTP() {
		return "http"
	}
	return "ws"
}

func (s *session) tlsConfig() *tls.Config {
	if !strings.HasPrefix(s.settings.Endpoint, "https://") && !strings.HasPrefix(s.settings.Endpoint, "wss://") {
		return nil
	}
	var c *tls.Config
	if s.clientTLS != nil {
		c = s.clientTLS.Clone()
	}
	if s.settings.Insecure {
		if c == nil {
			c = &tls.Config{}
		}
		c.InsecureSkipVerify = true //nolint:gosec // only when an offer asks for it
	}
	if s.clientCert != nil {
		if c == nil {
			c = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c.Certificates = []tls.Certificate{*s.clientCert}
	}
	return c
}

// libraryLog passes opamp-go's errors to stderr (for a test's failure message)
// and watches for the one line that says a WebSocket sender has stopped.
type libraryLog struct {
	s *session
	w io.Writer
}

func (l *libraryLog) Debugf(_ context.Context, format string, _ ...any) {
	// wsClient.runOneCycle logs this once the sender sent its last message and
	// the close frame; nothing queued after it leaves the process.
	if format == "Waiting for receiver to stop." {
		l.s.senderOnce.Do(func() { close(l.s.senderStopped) })
	}
}

func (l *libraryLog) Errorf(_ context.Context, format string, v ...any) {
	fmt.Fprintf(l.w, "opamp-go: "+format+"\n", v...)
}

var _ types.Logger = (*libraryLog)(nil)

// started is the status sub-messages a new session begins with.
type started struct {
	remoteConfig       *protobufs.RemoteConfigStatus
	connectionSettings *protobufs.ConnectionSettingsStatus
}
