// opamp-go-agent: a small OpAMP agent on the opamp-go client library, for the
// fleet server's end-to-end tests. Flags say how it connects; stdout carries
// one JSON event per line, stdin takes one JSON command per line. README:
// apps/fleet-e2e/README.md.
package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

const defaultCaps = "ReportsStatus,AcceptsRemoteConfig,ReportsRemoteConfig,ReportsEffectiveConfig,ReportsHealth,ReportsHeartbeat,AcceptsOpAMPConnectionSettings,ReportsConnectionSettingsStatus"

type labelFlags []string

func (l *labelFlags) String() string { return strings.Join(*l, ",") }
func (l *labelFlags) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("label %q is not k=v", v)
	}
	*l = append(*l, v)
	return nil
}

func main() {
	if err := runMain(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "opamp-go-agent:", err)
		os.Exit(2)
	}
}

func runMain(args []string) error {
	fs := flag.NewFlagSet("opamp-go-agent", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "OpAMP server URL: ws(s):// for WebSocket, http(s):// for plain HTTP")
	token := fs.String("token", "", "bearer token, sent as Authorization: Bearer <token>")
	uidHex := fs.String("uid", "", "instance_uid, 32 hex chars")
	stateDir := fs.String("state-dir", "", "directory for the accepted connection settings (used instead of -endpoint/-token when present)")
	capsList := fs.String("caps", defaultCaps, "comma-separated AgentCapabilities names")
	heartbeat := fs.Uint64("heartbeat", 0, "initial heartbeat (HTTP: poll) interval in seconds; 0: opamp-go's default (30)")
	applyTimeout := fs.Duration("apply-timeout", 10*time.Second, "how long a connection with offered settings may take before the agent rolls back")
	tlsCA := fs.String("tls-ca", "", "PEM file of the CA that signed the server's certificate (wss://, https://)")
	tlsCert := fs.String("tls-cert", "", "PEM file of the agent's client certificate (mutual TLS), with -tls-key")
	tlsKey := fs.String("tls-key", "", "PEM file of the client certificate's private key")
	requestCertificate := fs.Bool("request-certificate", false, "once connected, send a CSR for the agent's uid (an ECDSA P-256 key made in memory)")
	certificateKey := fs.String("certificate-key", "", "PEM file for the CSR's key: read when it exists, else made there (mode 0600); an offered certificate for it is used as the client certificate")
	packagesDir := fs.String("packages-dir", "", "directory of the agent's packages: accept packages (AcceptsPackages, ReportsPackageStatuses added to -caps)")
	agentPackage := fs.String("agent-package", "opamp-go-test-agent", "the package that is the agent itself: its installed version is the agent's service.version")
	resumeDownloads := fs.Bool("resume-downloads", false, "continue a package download that broke off with a Range request (opamp-go itself starts over only on a new offer)")
	ownMetricsOn := fs.Bool("own-metrics", false, "declare ReportsOwnMetrics and POST a small OTLP/JSON metrics export to the offered own_metrics destination with its headers")
	ownMetricsEvery := fs.Duration("own-metrics-interval", 0, "with -own-metrics: export again at this interval (0: once per offer)")
	var labels labelFlags
	fs.Var(&labels, "label", "k=v non-identifying attribute (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	uid, err := parseUID(*uidHex)
	if err != nil {
		return err
	}
	caps, err := parseCaps(*capsList)
	if err != nil {
		return err
	}
	var own *ownMetrics
	if *ownMetricsOn {
		caps |= protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnMetrics
		own = &ownMetrics{interval: *ownMetricsEvery, uid: uuidString(uid)}
	}
	clientTLS, err := loadClientTLS(*tlsCA, *tlsCert, *tlsKey)
	if err != nil {
		return err
	}
	var store *settingsStore
	if *stateDir != "" {
		store = &settingsStore{dir: *stateDir}
	}
	settings, accepted, err := store.load()
	if err != nil {
		return err
	}
	if !accepted {
		settings = connSettings{Endpoint: *endpoint, Headers: http.Header{}, HeartbeatSeconds: *heartbeat}
		if *token != "" {
			settings.Headers.Set("Authorization", "Bearer "+*token)
		}
	}
	if err := checkEndpoint(settings.Endpoint); err != nil {
		return err
	}

	var packages *packageStore
	desc := description(labels)
	if *packagesDir != "" {
		if packages, err = openPackageStore(*packagesDir, *agentPackage); err != nil {
			return err
		}
		caps |= protobufs.AgentCapabilities_AgentCapabilities_AcceptsPackages | protobufs.AgentCapabilities_AgentCapabilities_ReportsPackageStatuses
		// Restarted after an upgrade: the version installed last.
		if v := packages.agentVersion(); v != "" {
			desc = withServiceVersion(desc, v)
		}
	}

	installTransportWatch()
	log := &eventLog{out: os.Stdout}
	if own != nil {
		own.log = log
	}
	a := newAgent(agentOptions{
		uid:          uid,
		caps:         caps,
		description:  desc,
		applyTimeout: *applyTimeout,
		store:        store,
		log:          log,
		stderr:       os.Stderr,
		clientTLS:    clientTLS,

		requestCertificate: *requestCertificate,
		certificateKeyFile: *certificateKey,
		packages:           packages,
		resumeDownloads:    *resumeDownloads,
		ownMetrics:         own,
	})
	// Before the first connection, so an early SIGTERM still ends in agent_disconnect and exit 0.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	if err := a.start(settings, accepted); err != nil {
		return err
	}
	commands := make(chan command)
	go readCommands(os.Stdin, commands, log)
	for {
		select {
		case <-signals:
			own.stop()
			a.stop()
			return nil
		case cmd, ok := <-commands:
			// stdin closed: the test that started the agent is gone, so stop too.
			if !ok || cmd.Cmd == "stop" {
				own.stop()
				a.stop()
				return nil
			}
			a.handle(cmd)
		}
	}
}

func parseUID(s string) (types.InstanceUid, error) {
	var uid types.InstanceUid
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(uid) {
		return uid, fmt.Errorf("-uid must be 32 hex chars, got %q", s)
	}
	copy(uid[:], b)
	return uid, nil
}

func uuidString(uid types.InstanceUid) string {
	h := hex.EncodeToString(uid[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func parseCaps(list string) (protobufs.AgentCapabilities, error) {
	var caps protobufs.AgentCapabilities
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		v, ok := protobufs.AgentCapabilities_value["AgentCapabilities_"+strings.TrimPrefix(name, "AgentCapabilities_")]
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", name)
		}
		caps |= protobufs.AgentCapabilities(v)
	}
	return caps | protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus, nil
}

func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-endpoint %q is not a URL", endpoint)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
		return nil
	}
	return errors.New("-endpoint must start with ws://, wss://, http:// or https://")
}

// withServiceVersion: a copy of the description with service.version set.
func withServiceVersion(d *protobufs.AgentDescription, version string) *protobufs.AgentDescription {
	out := proto.Clone(d).(*protobufs.AgentDescription)
	for _, kv := range out.IdentifyingAttributes {
		if kv.Key == "service.version" {
			kv.Value = &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: version}}
		}
	}
	return out
}

func description(labels labelFlags) *protobufs.AgentDescription {
	str := func(k, v string) *protobufs.KeyValue {
		return &protobufs.KeyValue{Key: k, Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: v}}}
	}
	nonIdentifying := []*protobufs.KeyValue{str("os.type", runtime.GOOS)}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		nonIdentifying = append(nonIdentifying, str(k, v))
	}
	return &protobufs.AgentDescription{
		IdentifyingAttributes: []*protobufs.KeyValue{
			str("service.name", "opamp-go-test-agent"),
			str("service.version", "0.23.0"),
		},
		NonIdentifyingAttributes: nonIdentifying,
	}
}
