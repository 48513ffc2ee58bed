// Own metrics (-own-metrics): the agent declares ReportsOwnMetrics and, like
// the OpAMP supervisor rewriting a Collector's service.telemetry, follows the
// own_metrics destination the server offers: it POSTs a small OTLP/JSON
// metrics export (a Collector's own metric names) to the offered endpoint
// with the offered headers, once per offer and then every interval. Events:
// own_metrics_offered (endpoint, header names), own_metrics_sent (HTTP
// status) or own_metrics_failed.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

type ownMetrics struct {
	interval time.Duration
	log      *eventLog
	uid      string

	mu     sync.Mutex
	hash   string
	cancel context.CancelFunc
}

// offered starts following a destination (a new one replaces the last; the same one again changes nothing).
func (o *ownMetrics) offered(settings *protobufs.TelemetryConnectionSettings, credential string) {
	if o == nil || settings == nil || settings.GetDestinationEndpoint() == "" {
		return
	}
	headers := http.Header{}
	names := []string{}
	for _, h := range settings.GetHeaders().GetHeaders() {
		headers.Add(h.GetKey(), h.GetValue())
		names = append(names, h.GetKey())
	}
	key := settings.GetDestinationEndpoint() + "|" + fmt.Sprint(headers)
	o.mu.Lock()
	defer o.mu.Unlock()
	if key == o.hash {
		return
	}
	o.hash = key
	if o.cancel != nil {
		o.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	endpoint := settings.GetDestinationEndpoint()
	o.log.emit("own_metrics_offered", credential, map[string]any{"endpoint": endpoint, "headerNames": names, "telemetryCredential": credentialOf(headers)})
	go o.run(ctx, endpoint, headers)
}

func (o *ownMetrics) stop() {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cancel != nil {
		o.cancel()
	}
}

func (o *ownMetrics) run(ctx context.Context, endpoint string, headers http.Header) {
	for {
		o.export(ctx, endpoint, headers)
		if o.interval <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(o.interval):
		}
	}
}

func (o *ownMetrics) export(ctx context.Context, endpoint string, headers http.Header) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(o.body()))
	if err != nil {
		o.log.emit("own_metrics_failed", credentialOf(headers), map[string]any{"endpoint": endpoint, "error": err.Error()})
		return
	}
	req.Header = headers.Clone()
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			o.log.emit("own_metrics_failed", credentialOf(headers), map[string]any{"endpoint": endpoint, "error": err.Error()})
		}
		return
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	o.log.emit("own_metrics_sent", credentialOf(headers), map[string]any{"endpoint": endpoint, "status": res.StatusCode, "dataPoints": 2})
}

// body: an OTLP/JSON ExportMetricsServiceRequest with two data points, as a Collector reports about itself.
func (o *ownMetrics) body() []byte {
	now := time.Now().UnixNano()
	return []byte(fmt.Sprintf(`{"resourceMetrics":[{"resource":{"attributes":[`+
		`{"key":"service.name","value":{"stringValue":"opamp-go-test-agent"}},`+
		`{"key":"service.instance.id","value":{"stringValue":%q}}]},`+
		`"scopeMetrics":[{"scope":{"name":"go.opentelemetry.io/collector/service"},"metrics":[`+
		`{"name":"otelcol_process_memory_rss","unit":"By","gauge":{"dataPoints":[{"timeUnixNano":"%d","asInt":"52428800"}]}},`+
		`{"name":"otelcol_exporter_sent_metric_points","unit":"{datapoints}","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[{"timeUnixNano":"%d","asInt":"42","attributes":[{"key":"exporter","value":{"stringValue":"otlp"}}]}]}}`+
		`]}]}]}`, o.uid, now, now))
}
