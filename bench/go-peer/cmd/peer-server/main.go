// peer-server: the naive in-memory OpAMP server that bench/embedded-vs-peer.bench.js
// compares the embedded server with. opamp-go's server package accepts the
// agents over WebSocket; every agent's last status lives in a map (no
// durability at all); a tiny HTTP API lists them and pushes one remote
// configuration to every connected agent. It prints one JSON line
// {"event":"ready","opamp":…,"api":…} once both listen, and stops on SIGTERM/SIGINT.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/open-telemetry/opamp-go/server"
	"github.com/open-telemetry/opamp-go/server/types"
)

func main() {
	opampAddr := flag.String("listen", "127.0.0.1:0", "OpAMP (WebSocket) listen address")
	apiAddr := flag.String("api", "127.0.0.1:0", "HTTP API listen address")
	pushers := flag.Int("pushers", 64, "concurrent sends when a configuration is pushed")
	flag.Parse()

	f := newFleet(*pushers)
	srv := server.New(nil)
	err := srv.Start(server.StartSettings{
		ListenEndpoint: *opampAddr,
		Settings: server.Settings{Callbacks: types.Callbacks{
			OnConnecting: func(*http.Request) types.ConnectionResponse {
				return types.ConnectionResponse{Accept: true, ConnectionCallbacks: types.ConnectionCallbacks{
					OnMessage:         f.onMessage,
					OnConnectionClose: f.onClose,
				}}
			},
		}},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "opamp listen: %v\n", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *apiAddr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "api listen: %v\n", err)
		os.Exit(1)
	}
	api := &http.Server{Handler: apiHandler(f), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = api.Serve(ln) }()

	ready, _ := json.Marshal(map[string]string{
		"event": "ready",
		"opamp": fmt.Sprintf("ws://%s/v1/opamp", srv.Addr()),
		"api":   fmt.Sprintf("http://%s", ln.Addr()),
	})
	fmt.Println(string(ready))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = api.Shutdown(ctx)
	_ = srv.Stop(ctx)
}
