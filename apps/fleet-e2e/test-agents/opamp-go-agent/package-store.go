// The agent's packages on disk (-packages-dir): opamp-go's PackagesStateProvider.
// opamp-go's syncer decides what to download and reports the statuses; this
// store keeps the state and the files, and is where the content hash is
// checked: opamp-go passes the offered hash to UpdateContent and checks
// nothing itself, so a file whose SHA-256 differs is refused here (the
// syncer then reports INSTALL_FAILED with this error). Installing the agent's
// own package (-agent-package) sets the version the agent describes itself
// with, as an agent that upgraded itself reports its new service.version.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/encoding/protojson"
)

type storedPackage struct {
	Type        int32  `json:"type"`
	Hash        string `json:"hash"`
	Version     string `json:"version"`
	ContentHash string `json:"contentHash"`
}

type storedState struct {
	AllPackagesHash string                    `json:"allPackagesHash"`
	Packages        map[string]*storedPackage `json:"packages"`
	// LastStatuses: protojson of PackageStatuses.
	LastStatuses json.RawMessage `json:"lastStatuses,omitempty"`
}

type packageStore struct {
	dir          string
	agentPackage string
	// installed: the agent's own package reached this version (SetPackageState).
	installed func(version string)
	emit      func(event string, fields map[string]any)

	mu    sync.Mutex
	state storedState
}

func openPackageStore(dir, agentPackage string) (*packageStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o700); err != nil {
		return nil, err
	}
	s := &packageStore{dir: dir, agentPackage: agentPackage, installed: func(string) {}, emit: func(string, map[string]any) {}}
	s.state.Packages = map[string]*storedPackage{}
	data, err := os.ReadFile(s.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &s.state); err != nil {
		return nil, fmt.Errorf("%s: %w", s.statePath(), err)
	}
	if s.state.Packages == nil {
		s.state.Packages = map[string]*storedPackage{}
	}
	return s, nil
}

func (s *packageStore) statePath() string { return filepath.Join(s.dir, "packages.json") }

// filePath names a package's file by a digest of its name: names come from the server and never become paths.
func (s *packageStore) filePath(name string) string {
	sum := sha256.Sum256([]byte(name))
	return filepath.Join(s.dir, "files", hex.EncodeToString(sum[:16]))
}

// agentVersion: the installed version of the agent's own package ("" when none).
func (s *packageStore) agentVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.state.Packages[s.agentPackage]; p != nil {
		return p.Version
	}
	return ""
}

// saveLocked writes the state through a temporary file (mu held).
func (s *packageStore) saveLocked() error {
	data, err := json.MarshalIndent(s.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.statePath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.statePath())
}

func (s *packageStore) AllPackagesHash() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hex.DecodeString(s.state.AllPackagesHash)
}

func (s *packageStore) SetAllPackagesHash(hash []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.AllPackagesHash = hex.EncodeToString(hash)
	return s.saveLocked()
}

func (s *packageStore) Packages() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.state.Packages))
	for n := range s.state.Packages {
		names = append(names, n)
	}
	return names, nil
}

func (s *packageStore) PackageState(name string) (types.PackageState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.state.Packages[name]
	if p == nil {
		return types.PackageState{Exists: false}, nil
	}
	hash, err := hex.DecodeString(p.Hash)
	if err != nil {
		return types.PackageState{}, err
	}
	return types.PackageState{Exists: true, Type: protobufs.PackageType(p.Type), Hash: hash, Version: p.Version}, nil
}

func (s *packageStore) SetPackageState(name string, st types.PackageState) error {
	s.mu.Lock()
	p := s.state.Packages[name]
	if p == nil {
		s.mu.Unlock()
		return fmt.Errorf("package %q does not exist", name)
	}
	p.Type, p.Hash, p.Version = int32(st.Type), hex.EncodeToString(st.Hash), st.Version
	err := s.saveLocked()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.emit("package_installed", map[string]any{"name": name, "version": st.Version})
	if name == s.agentPackage {
		s.installed(st.Version)
	}
	return nil
}

func (s *packageStore) CreatePackage(name string, typ protobufs.PackageType) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Packages[name] != nil {
		return fmt.Errorf("package %q exists", name)
	}
	s.state.Packages[name] = &storedPackage{Type: int32(typ)}
	return s.saveLocked()
}

func (s *packageStore) FileContentHash(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.state.Packages[name]
	if p == nil || p.ContentHash == "" {
		return nil, nil
	}
	return hex.DecodeString(p.ContentHash)
}

// UpdateContent writes the download to a temporary file while hashing it and
// keeps it only if its SHA-256 is the offered content hash.
func (s *packageStore) UpdateContent(ctx context.Context, name string, data io.Reader, contentHash, _ []byte) error {
	dest := s.filePath(name)
	tmp, err := os.CreateTemp(filepath.Dir(dest), "download-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, hash), &contextReader{ctx: ctx, r: data})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download broke off after %d bytes: %w", n, err)
	}
	got := hash.Sum(nil)
	if !bytes.Equal(got, contentHash) {
		s.emit("package_refused", map[string]any{"name": name, "bytes": n, "sha256": hex.EncodeToString(got), "offeredSha256": hex.EncodeToString(contentHash)})
		return fmt.Errorf("content hash mismatch: the %d bytes downloaded have SHA-256 %s, the offer says %s", n, hex.EncodeToString(got), hex.EncodeToString(contentHash))
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.state.Packages[name]
	if p == nil {
		return fmt.Errorf("package %q does not exist", name)
	}
	p.ContentHash = hex.EncodeToString(got)
	if err := s.saveLocked(); err != nil {
		return err
	}
	s.emit("package_downloaded", map[string]any{"name": name, "bytes": n, "sha256": p.ContentHash})
	return nil
}

func (s *packageStore) DeletePackage(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.state.Packages, name)
	if err := os.Remove(s.filePath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return s.saveLocked()
}

func (s *packageStore) LastReportedStatuses() (*protobufs.PackageStatuses, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.state.LastStatuses) == 0 {
		return nil, nil
	}
	st := &protobufs.PackageStatuses{}
	if err := protojson.Unmarshal(s.state.LastStatuses, st); err != nil {
		return nil, err
	}
	return st, nil
}

func (s *packageStore) SetLastReportedStatuses(st *protobufs.PackageStatuses) error {
	data, err := protojson.Marshal(st)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.LastStatuses = data
	return s.saveLocked()
}

var _ types.PackagesStateProvider = (*packageStore)(nil)

// contextReader stops a copy once the sync's context is cancelled (UpdateContent must).
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
