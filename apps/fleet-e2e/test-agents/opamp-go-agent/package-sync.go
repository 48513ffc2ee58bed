// PackagesAvailable handling: opamp-go (v0.23.0) builds a syncer per offer
// and the agent runs it. What the library does and does not do, so the agent
// (and the tests) know: it downloads each file with one plain GET (the
// offer's headers added), accepts only 200 (a 206 is an error), never sends
// Range and never retries; a download that breaks off ends in INSTALL_FAILED
// and only a new offer starts again, from the first byte. The one hook is
// DownloadHTTPClient: with -resume-downloads the agent gives it a transport
// that continues a broken 200 body with `Range: bytes=<received>-` and
// `If-Range: <ETag>` (only a 206 from that offset is accepted), so the
// syncer still reads one whole file and the store checks its hash.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
)

// maxResumes bounds the Range retries of one download.
const maxResumes = 5

// syncPackages runs the syncer of one offer and reports the statuses it ended with.
func (a *agent) syncPackages(s *session, offer *protobufs.PackagesAvailable, syncer types.PackagesSyncer) {
	versions := map[string]any{}
	for name, p := range offer.GetPackages() {
		versions[name] = p.GetVersion()
	}
	all := hex.EncodeToString(offer.GetAllPackagesHash())
	s.emit("packages_offered", map[string]any{"allPackagesHash": all, "packages": versions})
	go func() {
		// Sync waits for a sync still running (opamp-go holds a lock): not on the receiver goroutine.
		if err := syncer.Sync(context.Background()); err != nil {
			s.emit("packages_synced", map[string]any{"allPackagesHash": all, "error": err.Error()})
			return
		}
		<-syncer.Done()
		statuses := map[string]any{}
		if st, err := a.packages.LastReportedStatuses(); err == nil && st != nil {
			for name, p := range st.GetPackages() {
				statuses[name] = map[string]any{"status": p.GetStatus().String(), "version": p.GetAgentHasVersion(), "offeredVersion": p.GetServerOfferedVersion(), "error": p.GetErrorMessage()}
			}
		}
		s.emit("packages_synced", map[string]any{"allPackagesHash": all, "statuses": statuses})
	}()
}

// downloadClient is opamp-go's DownloadHTTPClient: the flags' TLS roots, and resumption when asked for.
func (a *agent) downloadClient(context.Context, *protobufs.DownloadableFile) (*http.Client, error) {
	// A transport of its own: http.DefaultTransport is the transport watch's (transport-watch.go).
	base := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, IdleConnTimeout: 30 * time.Second}
	if a.clientTLS != nil {
		base.TLSClientConfig = a.clientTLS.Clone()
	}
	return &http.Client{Transport: &downloadTransport{base: base, resume: a.resumeDownloads, emit: a.emitCurrent}}, nil
}

type downloadTransport struct {
	base   *http.Transport
	resume bool
	emit   func(event string, fields map[string]any)
}

func (t *downloadTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

func (t *downloadTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// The path only: a signed address's query is a credential.
	t.emit("download_started", map[string]any{"path": req.URL.Path, "range": req.Header.Get("Range")})
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.emit("download_response", map[string]any{"path": req.URL.Path, "status": resp.StatusCode, "contentLength": resp.ContentLength})
	etag := resp.Header.Get("ETag")
	if !t.resume || resp.StatusCode != http.StatusOK || resp.ContentLength <= 0 || etag == "" || strings.HasPrefix(etag, "W/") {
		return resp, nil
	}
	resp.Body = &resumingBody{t: t, req: req, body: resp.Body, length: resp.ContentLength, etag: etag}
	return resp, nil
}

// resumingBody reads a 200 body and, when it breaks off early, the rest of the same entity by Range.
type resumingBody struct {
	t       *downloadTransport
	req     *http.Request
	body    io.ReadCloser
	length  int64
	etag    string
	read    int64
	resumes int
}

func (b *resumingBody) Read(p []byte) (int, error) {
	for {
		n, err := b.body.Read(p)
		b.read += int64(n)
		if err == nil || errors.Is(err, io.EOF) && b.read >= b.length {
			return n, err
		}
		if errors.Is(err, context.Canceled) || b.req.Context().Err() != nil || b.resumes >= maxResumes || b.read >= b.length {
			return n, err
		}
		if rerr := b.resumeFrom(err); rerr != nil {
			return n, fmt.Errorf("%w (resuming at byte %d: %v)", err, b.read, rerr)
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (b *resumingBody) resumeFrom(cause error) error {
	_ = b.body.Close()
	b.resumes++
	// A moment for a cut connection's peer to go; bounded by the resume count.
	time.Sleep(time.Duration(b.resumes) * 200 * time.Millisecond)
	req := b.req.Clone(b.req.Context())
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-", b.read))
	req.Header.Set("If-Range", b.etag)
	b.t.emit("download_resuming", map[string]any{"path": req.URL.Path, "offset": b.read, "cause": cause.Error()})
	resp, err := b.t.base.RoundTrip(req)
	if err != nil {
		return err
	}
	want := fmt.Sprintf("bytes %d-", b.read)
	if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(resp.Header.Get("Content-Range"), want) {
		_ = resp.Body.Close()
		return fmt.Errorf("HTTP %d, Content-Range %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	b.t.emit("download_resumed", map[string]any{"path": req.URL.Path, "offset": b.read, "status": resp.StatusCode, "contentRange": resp.Header.Get("Content-Range")})
	b.body = resp.Body
	return nil
}

func (b *resumingBody) Close() error { return b.body.Close() }
