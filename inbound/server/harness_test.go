package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/inbound/api"
	"github.com/outpacehq/outpace/inbound/server"
	"github.com/outpacehq/outpace/internal/devstack"
	"github.com/outpacehq/outpace/internal/repo"
	"github.com/outpacehq/outpace/stops"
)

// dev is the Temporal dev server the tests stop people through.
var dev *devstack.Server

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		root, err := repo.Root()
		if err == nil {
			var cli string
			if cli, err = devstack.TemporalCLI(root, ""); err == nil {
				dev, err = devstack.StartServer(context.Background(), devstack.ServerOptions{CLI: cli})
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "inbound/server tests: the Temporal dev server:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if code == 0 {
		code = checkCoverage()
	}
	if dev != nil {
		_ = dev.Stop()
	}
	os.Exit(code)
}

// The tokens of the tests' file: Alice's and the CRM's stay; the old one
// is revoked by some tests.
const (
	aliceToken = "alice-0123456789abcdef0123456789abcdef"
	crmToken   = "crm-fedcba9876543210fedcba9876543210"
	oldToken   = "old-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
)

// env is one server under test, real in all its parts: the handler over
// real HTTP, a SQLite contacts store in a file, a Temporal client of the
// dev server (spied on, to prove what was sent), and the tokens file.
type env struct {
	t     *testing.T
	url   string
	store contacts.Store
	spy   *spyClient
	// stopper is the server's: a test may shorten its UpdateWait.
	stopper *stops.Stopper
	tokens  string // the tokens file
	logs    *bytes.Buffer
	queue   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if dev == nil {
		t.Skip("needs a Temporal dev server; skipped with -short")
	}
	dir := t.TempDir()
	e := &env{t: t, tokens: filepath.Join(dir, "tokens"), logs: &bytes.Buffer{}, queue: "inbound-" + strings.ReplaceAll(t.Name(), "/", "-")}
	writeFile(t, e.tokens, "# name token\nalice "+aliceToken+"\ncrm "+crmToken+"\nold "+oldToken+"\n")
	store, err := contacts.Open(context.Background(), filepath.Join(dir, "contacts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e.store = store
	tokens, err := server.LoadTokens(e.tokens)
	if err != nil {
		t.Fatal(err)
	}
	e.spy = &spyClient{Client: dev.Client}
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&lockedWriter{w: e.logs}), zap.DebugLevel))
	e.stopper = &stops.Stopper{Client: e.spy, TaskQueue: e.queue}
	srv := &server.Server{Stopper: e.stopper, Store: store, Tokens: tokens, Logger: logger}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	t.Cleanup(func() {
		for _, tok := range []string{aliceToken, crmToken, oldToken} {
			if strings.Contains(e.logs.String(), tok) {
				t.Errorf("a token is in the log:\n%s", e.logs.String())
			}
		}
	})
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// spyClient is the real client, counting what could change a workflow.
type spyClient struct {
	client.Client
	mu   sync.Mutex
	sent []string
}

func (s *spyClient) note(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, what)
}

func (s *spyClient) Sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

func (s *spyClient) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	s.note("update " + o.UpdateName + " " + o.WorkflowID)
	return s.Client.UpdateWorkflow(ctx, o)
}

func (s *spyClient) SignalWorkflow(ctx context.Context, id, runID, name string, arg any) error {
	s.note("signal " + name + " " + id)
	return s.Client.SignalWorkflow(ctx, id, runID, name, arg)
}

func (s *spyClient) SignalWithStartWorkflow(ctx context.Context, id, signal string, arg any, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	s.note("signal-with-start " + signal + " " + id)
	return s.Client.SignalWithStartWorkflow(ctx, id, signal, arg, o, wf, args...)
}

func (s *spyClient) ExecuteWorkflow(ctx context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	s.note("start " + o.ID)
	return s.Client.ExecuteWorkflow(ctx, o, wf, args...)
}

// call is one HTTP call and its answer.
type call struct {
	method, path string
	header       http.Header
	body         []byte
	status       int
	respHeader   http.Header
	resp         []byte
}

// do sends a call with the given token ("" for none) and a JSON body (a
// string is sent as it is; nil sends none), then checks it against the
// OpenAPI document.
func (e *env) do(method, path, token string, body any, header ...string) call {
	e.t.Helper()
	c := call{method: method, path: path, header: http.Header{}}
	switch b := body.(type) {
	case nil:
	case string:
		c.body = []byte(b)
	case []byte:
		c.body = b
	case chunked:
		c.body = b
	default:
		c.body, _ = json.Marshal(b)
	}
	if body != nil {
		c.header.Set("Content-Type", "application/json")
	}
	if token != "" {
		c.header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		c.header.Set(header[i], header[i+1])
	}
	var reader io.Reader = bytes.NewReader(c.body)
	if _, ok := body.(chunked); ok {
		reader = io.MultiReader(reader) // no length known: sent chunked
	}
	req, err := http.NewRequest(method, e.url+path, reader)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header = c.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	c.status, c.respHeader = resp.StatusCode, resp.Header
	c.resp, _ = io.ReadAll(resp.Body)
	if err := checkContract(c); err != nil {
		e.t.Errorf("%s %s → %d %s: against api/openapi.yaml: %v", method, clip(path), c.status, clip(string(c.resp)), err)
	}
	return c
}

// chunked is a body sent without a Content-Length.
type chunked []byte

// errorOf decodes an error answer; the test fails unless it is one.
func (e *env) errorOf(c call) api.Error {
	e.t.Helper()
	var b api.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(c.resp))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		e.t.Errorf("%s %s → %d: not a JSON error with a code and a message: %s", c.method, clip(c.path), c.status, c.resp)
	}
	return b.Error
}

func decodeAs[T any](t *testing.T, c call) T {
	t.Helper()
	var v T
	if c.status != http.StatusOK {
		t.Fatalf("%s %s → %d, want 200: %s", c.method, c.path, c.status, c.resp)
	}
	if err := json.Unmarshal(c.resp, &v); err != nil {
		t.Fatalf("%s %s: %v: %s", c.method, c.path, err, c.resp)
	}
	return v
}

// The OpenAPI document, its router, and which of its operations the tests
// saw answered with success (each must be).
var (
	docOnce   sync.Once
	doc       *openapi3.T
	router    routers.Router
	docErr    error
	coveredMu sync.Mutex
	covered   = map[string]bool{}
)

func loadDoc() {
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		if doc, docErr = loader.LoadFromData(api.OpenAPI); docErr != nil {
			return
		}
		if docErr = doc.Validate(loader.Context); docErr != nil {
			return
		}
		router, docErr = legacy.NewRouter(doc)
	})
}

// checkContract checks one call against the document: its answer is one
// the document declares for it (status and body, an error body for
// routes it does not have); a request the server accepted is one the
// document allows, and one the document refuses was refused.
func checkContract(c call) error {
	loadDoc()
	if docErr != nil {
		return docErr
	}
	req, _ := http.NewRequest(c.method, "http://127.0.0.1:8089"+c.path, bytes.NewReader(c.body))
	req.Header = c.header.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Not an operation of the document: a 401 (no token), 404 (no such
		// path) or 405 (no such method), with an error body.
		want := []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed}
		if !slices.Contains(want, c.status) {
			return fmt.Errorf("not in the document (%v), answered %d, want one of %v", err, c.status, want)
		}
		return checkSchema("ErrorBody", c.resp)
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	switch {
	case c.status/100 == 2 && reqErr != nil:
		return fmt.Errorf("the server accepted a request the document refuses: %v", reqErr)
	case reqErr != nil && c.status/100 != 4:
		return fmt.Errorf("a request the document refuses was answered %d, not 4xx: %v", c.status, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: c.status, Header: c.respHeader,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(c.resp)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("the answer: %v", err)
	}
	if c.status/100 == 2 {
		coveredMu.Lock()
		covered[c.method+" "+route.Path] = true
		coveredMu.Unlock()
	}
	return nil
}

// checkSchema validates a JSON body against one of the document's schemas.
func checkSchema(name string, body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	return doc.Components.Schemas[name].Value.VisitJSON(v)
}

// checkCoverage fails the run unless every operation of the document was
// answered with success by some test (when the tests that call them ran).
func checkCoverage() int {
	if dev == nil || docErr != nil || doc == nil || flag.Lookup("test.run").Value.String() != "" {
		return 0
	}
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !covered[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		fmt.Fprintf(os.Stderr, "FAIL: operations of api/openapi.yaml no test saw succeed: %v\n", missing)
		return 1
	}
	return 0
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// snapshot is what a hostile call must not change: the do-not-contact
// list and what was sent to Temporal.
type snapshot struct {
	dnc  []contacts.DNCEntry
	sent []string
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	var s snapshot
	if err := e.store.ListDNC(context.Background(), func(d contacts.DNCEntry) error { s.dnc = append(s.dnc, d); return nil }); err != nil {
		e.t.Fatal(err)
	}
	s.sent = e.spy.Sent()
	return s
}

func (s snapshot) equal(o snapshot) bool {
	return slices.EqualFunc(s.dnc, o.dnc, func(a, b contacts.DNCEntry) bool {
		return a.RecipientURN == b.RecipientURN && a.ProfileSlug == b.ProfileSlug && a.Reason == b.Reason && a.AddedAt.Equal(b.AddedAt)
	}) && slices.Equal(s.sent, o.sent)
}
