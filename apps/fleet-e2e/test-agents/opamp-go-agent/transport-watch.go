// What the library does not tell its callbacks, seen on the wire: the HTTP
// status of a refused WebSocket handshake (OnConnectFailed only gets "bad
// handshake"), every plain-HTTP response that is not 200 (opamp-go calls no
// callback for a 401, it drops the request) and the sequence number of the
// last plain-HTTP message (for the agent_disconnect the HTTP client lacks).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// active is the one session that dials; sessions follow each other, never overlap.
var active atomic.Pointer[session]

// baseTransport is the real HTTP transport, used by the watch and by the agent's own requests.
var baseTransport = http.DefaultTransport.(*http.Transport).Clone()

func installTransportWatch() {
	// opamp-go clones http.DefaultTransport only if it is an *http.Transport;
	// otherwise its client uses http.DefaultTransport, which is this watch.
	http.DefaultTransport = httpWatch{}
	d := *websocket.DefaultDialer
	var nd net.Dialer
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		s := active.Load()
		if s != nil {
			s.newAttempt()
		}
		conn, err := nd.DialContext(ctx, network, addr)
		if err != nil || s == nil {
			return conn, err
		}
		return &statusSniffer{Conn: conn, s: s}, nil
	}
	websocket.DefaultDialer = &d
}

type httpWatch struct{}

func (httpWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	s := active.Load()
	if s != nil && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		var msg protobufs.AgentToServer
		if proto.Unmarshal(body, &msg) == nil {
			s.lastSeq.Store(msg.GetSequenceNum())
		}
	}
	resp, err := baseTransport.RoundTrip(req)
	if s == nil {
		return resp, err
	}
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		s.connectFailed(0, err.Error())
	case err == nil && resp.StatusCode != http.StatusOK:
		s.connectFailed(resp.StatusCode, resp.Status)
	}
	return resp, err
}

// statusSniffer reads the status line of the handshake response as it passes.
type statusSniffer struct {
	net.Conn
	s    *session
	head []byte
	done bool
}

func (c *statusSniffer) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.done && n > 0 {
		c.head = append(c.head, p[:n]...)
		if i := bytes.Index(c.head, []byte("\r\n")); i >= 0 || len(c.head) > 256 {
			c.done = true
			c.s.handshakeStatus.Store(int64(parseStatusLine(string(c.head))))
			c.head = nil
		}
	}
	return n, err
}

func parseStatusLine(head string) int {
	line, _, _ := bufio.NewReader(strings.NewReader(head)).ReadLine()
	fields := strings.Fields(string(line))
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		return 0
	}
	code, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0
	}
	return code
}

// postDisconnect sends the agent_disconnect opamp-go's HTTP client does not
// send on Stop (spec PR #353), with a connection settings status if given.
func postDisconnect(s *session, caps protobufs.AgentCapabilities, status *protobufs.ConnectionSettingsStatus) error {
	msg := &protobufs.AgentToServer{
		InstanceUid:              s.uid[:],
		SequenceNum:              s.lastSeq.Load() + 1,
		Capabilities:             uint64(caps),
		AgentDisconnect:          &protobufs.AgentDisconnect{},
		ConnectionSettingsStatus: status,
	}
	body, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.settings.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = s.settings.Headers.Clone()
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("OpAMP-Instance-UID", uuidString(s.uid))
	resp, err := (&http.Client{Transport: baseTransport}).Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("agent_disconnect: " + resp.Status)
	}
	return nil
}
