package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/outpacehq/outpace/codec"
)

const ui = "http://localhost:8233"

func testServer(t *testing.T, cfg config) (*httptest.Server, *codec.Codec) {
	t.Helper()
	t.Setenv(codec.EnvKey, "k1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	h, err := newHandler(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, codec.New(h.keys)
}

func request(t *testing.T, method, url string, body []byte, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// encrypted is a body the UI would POST to /decode.
func encrypted(t *testing.T, c *codec.Codec, text string) []byte {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(text)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeForTheUI(t *testing.T) {
	srv, c := testServer(t, config{origins: []string{ui + "/"}})
	body := encrypted(t, c, "Hi Ada")
	if bytes.Contains(body, []byte("Hi Ada")) {
		t.Fatal("the request body is not encrypted")
	}

	// The browser asks first.
	resp, _ := request(t, http.MethodOptions, srv.URL+"/decode", nil, map[string]string{
		"Origin": ui, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace",
	})
	if resp.StatusCode != http.StatusNoContent ||
		resp.Header.Get("Access-Control-Allow-Origin") != ui ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	resp, got := request(t, http.MethodPost, srv.URL+"/decode", body, map[string]string{
		"Origin": ui, "Content-Type": "application/json", "X-Namespace": "default",
	})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != ui {
		t.Fatalf("decode: %d %v %s", resp.StatusCode, resp.Header, got)
	}
	var out commonpb.Payloads
	if err := protojson.Unmarshal([]byte(got), &out); err != nil {
		t.Fatalf("decode answered %s: %v", got, err)
	}
	var text string
	if err := converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &text); err != nil || text != "Hi Ada" {
		t.Errorf("decoded %q, %v", text, err)
	}

	// Another site's page may not use it.
	resp, got = request(t, http.MethodOptions, srv.URL+"/decode", nil, map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" || !strings.Contains(got, "--cors-origin") {
		t.Errorf("preflight from another origin: %d %v %s", resp.StatusCode, resp.Header, got)
	}
	resp, _ = request(t, http.MethodPost, srv.URL+"/decode", body, map[string]string{"Origin": "http://evil.example"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("decode from another origin: %d", resp.StatusCode)
	}

	if resp, got = request(t, http.MethodGet, srv.URL+"/healthz", nil, nil); resp.StatusCode != http.StatusOK || got != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, got)
	}
}

func TestDecodeErrorsNameTheKey(t *testing.T) {
	srv, _ := testServer(t, config{})
	other, err := codec.ParseKey("other", "k9:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	resp, got := request(t, http.MethodPost, srv.URL+"/decode", encrypted(t, codec.New(other), "Hi"), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(got, `key id "k9"`) {
		t.Errorf("a payload under an unknown key: %d %s", resp.StatusCode, got)
	}
}

func TestNamespaceRestriction(t *testing.T) {
	srv, c := testServer(t, config{namespaces: []string{"outreach"}})
	body := encrypted(t, c, "Hi")
	if resp, got := request(t, http.MethodPost, srv.URL+"/decode", body, map[string]string{"X-Namespace": "default"}); resp.StatusCode != http.StatusForbidden || !strings.Contains(got, `"default"`) {
		t.Errorf("another namespace: %d %s", resp.StatusCode, got)
	}
	if resp, got := request(t, http.MethodPost, srv.URL+"/decode", body, map[string]string{"X-Namespace": "outreach"}); resp.StatusCode != http.StatusOK {
		t.Errorf("its namespace: %d %s", resp.StatusCode, got)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Setenv(codec.EnvKey, "")
	if _, err := newHandler(config{}, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "--encryption-key-file") || !strings.Contains(err.Error(), codec.EnvKey) {
		t.Errorf("no keys: %v", err)
	}
	t.Setenv(codec.EnvKey, "k1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	for _, o := range []string{"localhost:8233", "http://localhost:8233/ui", "*", "ftp://x"} {
		if _, err := newHandler(config{origins: []string{o}}, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "--cors-origin") {
			t.Errorf("--cors-origin %s: %v", o, err)
		}
	}
}

// TestHelpGoesToStandardOutput: "codec-server --help | less" shows the help,
// and exits 0, as the starter and the sandbox do; usage errors go to stderr.
func TestHelpGoesToStandardOutput(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{arg}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "Usage:\n  codec-server [flags]") ||
			!strings.Contains(stdout.String(), "--cors-origin") || stderr.Len() != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0, the help on stdout, nothing on stderr", arg, code, stdout.String(), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--no-such-flag"}, &stdout, &stderr); code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "unknown flag: --no-such-flag") {
		t.Errorf("a bad flag: exit %d, stdout %q, stderr %q; want 2 and the error on stderr", code, stdout.String(), stderr.String())
	}
}
