// Command codec-server decrypts outpace's payloads for the Temporal UI (and
// the temporal CLI's --codec-endpoint), so that people allowed to reach it
// read runs in clear while the Temporal server stores them encrypted.
//
// It serves the codec server protocol (POST /encode and /decode with a JSON
// Payloads body) with the SDK's handler over package codec, answers the
// browser's CORS preflight for the UI's origins, and /healthz for health
// checks. It holds the encryption keys: reaching it means reading every
// message, so expose it only to the people allowed to.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"

	"github.com/outpacehq/outpace/codec"
	"github.com/outpacehq/outpace/internal/cliflags"
	"github.com/outpacehq/outpace/internal/logging"
)

const usage = `codec-server decrypts outpace's payloads for the Temporal UI.

Usage:
  codec-server [flags]

The keys are those the worker and the starter use: the file named by
--encryption-key-file, or the single key "<key-id>:<base64>" in
OUTPACE_ENCRYPTION_KEY. Point the UI at it: temporal server start-dev
--ui-codec-endpoint http://127.0.0.1:8081, or TEMPORAL_CODEC_ENDPOINT for the
temporalio/ui image, and allow the UI's origin with --cors-origin.

Endpoints: POST /encode, POST /decode (the codec server protocol; the
X-Namespace header names the namespace), GET /healthz.

Flags:
`

// maxBody bounds a request: the UI sends a run's payloads in batches, and a
// payload is at most 2 MB.
const maxBody = 64 << 20

type config struct {
	addr       string
	keyFile    string
	origins    []string
	namespaces []string
	log        logging.Flags
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg config
	fs := pflag.NewFlagSet("codec-server", pflag.ContinueOnError)
	cliflags.Help(fs, usage, stdout)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8081", "host:port to listen on (port 0: any free port)")
	fs.StringVar(&cfg.keyFile, "encryption-key-file", "", "file of keys, lines \"<key-id> <base64 32-byte key>\", the first one active (default: the single key \"<key-id>:<base64>\" in "+codec.EnvKey+")")
	fs.StringSliceVar(&cfg.origins, "cors-origin", nil, "origin of a Temporal UI allowed to call from a browser, e.g. http://localhost:8233 (repeatable; comma-separated in the variable)")
	fs.StringSliceVar(&cfg.namespaces, "namespace", nil, "serve only these namespaces, by the X-Namespace header (repeatable; default: any)")
	cfg.log.Register(fs)
	cliflags.Env(fs, "addr", "OUTPACE_CODEC_ADDR")
	cliflags.Env(fs, "encryption-key-file", codec.EnvKeyFile)
	cliflags.Env(fs, "cors-origin", "OUTPACE_CODEC_CORS_ORIGINS")
	cliflags.Env(fs, "namespace", "OUTPACE_CODEC_NAMESPACES")
	if code, ok := cliflags.ParseCommand(fs, args, stderr); !ok {
		return code
	}
	logger, err := cfg.log.New(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "codec-server:", err)
		return 2
	}
	defer func() { _ = logger.Sync() }()

	h, err := newHandler(cfg, logger)
	if err != nil {
		fmt.Fprintln(stderr, "codec-server:", err)
		return 2
	}
	if err := serve(ctx, cfg.addr, h, logger); err != nil {
		logger.Error("codec server stopped", zap.Error(err))
		return 1
	}
	return 0
}

// handler is the codec server: CORS, then the namespace check, then the
// SDK's codec handler.
type handler struct {
	keys       *codec.Keyring
	codec      http.Handler
	origins    map[string]bool
	namespaces []string
	logger     *zap.Logger
}

func newHandler(cfg config, logger *zap.Logger) (*handler, error) {
	keys, err := codec.Load(cfg.keyFile, os.Getenv(codec.EnvKey))
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, fmt.Errorf("no keys: set --encryption-key-file (%s) or %s, as for the worker", codec.EnvKeyFile, codec.EnvKey)
	}
	h := &handler{
		keys:    keys,
		codec:   converter.NewPayloadCodecHTTPHandler(codec.New(keys)),
		origins: map[string]bool{},
		logger:  logger,
	}
	for _, o := range cfg.origins {
		origin, err := parseOrigin(o)
		if err != nil {
			return nil, err
		}
		h.origins[origin] = true
	}
	for _, ns := range cfg.namespaces {
		if ns = strings.TrimSpace(ns); ns == "" {
			return nil, errors.New("--namespace: must not be empty")
		}
		h.namespaces = append(h.namespaces, ns)
	}
	return h, nil
}

// parseOrigin checks an origin as a browser sends it: scheme and host, no
// path; a trailing slash is forgiven.
func parseOrigin(s string) (string, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/")
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("--cors-origin %q: want an origin such as http://localhost:8233 (http or https, a host, no path)", s)
	}
	return u.Scheme + "://" + u.Host, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		fmt.Fprintln(w, "ok")
		return
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h.serveCodec(rec, r)
	fields := []zap.Field{
		zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.String("namespace", r.Header.Get("X-Namespace")), zap.String("origin", r.Header.Get("Origin")),
		zap.Int("status", rec.status), zap.Duration("took", time.Since(start)),
	}
	if rec.status >= 400 {
		// The reply says why (a key id, a bad body); it never holds payload data.
		h.logger.Warn("codec request refused", append(fields, zap.String("reason", strings.TrimSpace(rec.errText)))...)
		return
	}
	h.logger.Debug("codec request", fields...)
}

func (h *handler) serveCodec(w *statusRecorder, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" {
		if !h.origins[origin] {
			http.Error(w, fmt.Sprintf("origin %s is not allowed: start the codec server with --cors-origin %s", origin, origin), http.StatusForbidden)
			return
		}
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Set("Access-Control-Allow-Credentials", "true")
		hd.Add("Vary", "Origin")
		if r.Method == http.MethodOptions {
			hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			hd.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			hd.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST /encode or /decode", http.StatusMethodNotAllowed)
		return
	}
	if ns := r.Header.Get("X-Namespace"); len(h.namespaces) > 0 && !slices.Contains(h.namespaces, ns) {
		http.Error(w, fmt.Sprintf("namespace %q is not served here (--namespace %s)", ns, strings.Join(h.namespaces, ",")), http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	h.codec.ServeHTTP(w, r)
}

// statusRecorder keeps the status and, for errors, the reply's text, for
// the request log.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	errText string
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status >= 400 && len(s.errText) < 500 {
		s.errText += string(b)
	}
	return s.ResponseWriter.Write(b)
}

// serve listens on addr until ctx ends, then lets requests in flight finish.
func serve(ctx context.Context, addr string, h *handler, logger *zap.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
	}
	origins := make([]string, 0, len(h.origins))
	for o := range h.origins {
		origins = append(origins, o)
	}
	slices.Sort(origins)
	logger.Info("codec server listening",
		zap.String("addr", ln.Addr().String()),
		zap.String("active_key_id", h.keys.ActiveKeyID()),
		zap.Strings("key_ids", h.keys.KeyIDs()),
		zap.String("keys_from", h.keys.Source()),
		zap.Strings("cors_origins", origins),
		zap.Strings("namespaces", h.namespaces),
	)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	logger.Info("codec server stopped cleanly")
	return nil
}
