package outx_test

import (
	"context"
	"errors"
	"github.com/outpacehq/outpace/internal/repo"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
)

// TestCheckKeyAcceptedKeyMakesOneReadAndNoTask: an accepted key is one
// read of a task that cannot exist, answered 404 "Agent task not found", and
// nothing else: no task, so no LinkedIn action.
func TestCheckKeyAcceptedKeyMakesOneReadAndNoTask(t *testing.T) {
	srv, c := sandbox(t, outxtest.Options{})
	if err := c.CheckKey(context.Background()); err != nil {
		t.Fatalf("CheckKey with the sandbox's key: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != outx.PathGetTaskStatus || reqs[0].Status != http.StatusNotFound {
		t.Fatalf("requests = %+v, want one GET %s answered 404", reqs, outx.PathGetTaskStatus)
	}
	if n := len(srv.Tasks()); n != 0 {
		t.Fatalf("the check created %d tasks", n)
	}
}

func TestCheckKeyRefusedKeyIsUnauthorized(t *testing.T) {
	srv, _ := sandbox(t, outxtest.Options{})
	for _, key := range []string{"wrong-key-SECRET-77", envExampleKey(t)} {
		err := newClient(t, srv.URL, key).CheckKey(context.Background())
		var api *outx.APIError
		if !errors.As(err, &api) || api.StatusCode != http.StatusUnauthorized ||
			!errors.Is(err, outx.ErrUnauthorized) || !errors.Is(err, outx.ErrInvalidAPIKey) {
			t.Fatalf("CheckKey with key %d chars long: err = %v, want the 401 Invalid API Key", len(key), err)
		}
		if errors.Is(err, outx.ErrKeyNotChecked) {
			t.Errorf("a refused key must not also be 'not checked': %v", err)
		}
		if strings.Contains(err.Error(), key) {
			t.Fatalf("the error shows the key: %v", err)
		}
	}
	if n := len(srv.Tasks()); n != 0 {
		t.Fatalf("the checks created %d tasks", n)
	}
}

// envExampleKey is the placeholder OUTX_API_KEY of .env.example.
func envExampleKey(t *testing.T) string {
	t.Helper()
	key, err := repo.EnvExample("OUTX_API_KEY")
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestCheckKeyExtensionOfflineMeansAccepted(t *testing.T) {
	srv, c := sandbox(t, outxtest.Options{})
	srv.SetExtensionOffline(true)
	if err := c.CheckKey(context.Background()); err != nil {
		t.Fatalf("CheckKey while the extension is offline (403): %v; OutX accepted the key to know that", err)
	}
	if err := newClient(t, srv.URL, "wrong-key").CheckKey(context.Background()); !errors.Is(err, outx.ErrUnauthorized) {
		t.Fatalf("a wrong key while the extension is offline: %v, want 401", err)
	}
}

// TestCheckKeyWithoutAnAnswerIsNotChecked: when OutX cannot say (down, 5xx,
// 429, an answer lost or late, not OutX at all), the error is
// ErrKeyNotChecked with its cause, never ErrUnauthorized.
func TestCheckKeyWithoutAnAnswerIsNotChecked(t *testing.T) {
	ctx := context.Background()
	faulty := func(f outxtest.Fault) func(t *testing.T) *outx.Client {
		return func(t *testing.T) *outx.Client {
			srv, c := sandbox(t, outxtest.Options{})
			f.Path = outx.PathGetTaskStatus
			srv.Inject(f)
			return c
		}
	}
	cases := []struct {
		name   string
		client func(t *testing.T) *outx.Client
		cause  error
		text   string
	}{
		{"connection refused", func(t *testing.T) *outx.Client {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			return newClient(t, "http://"+addr, "key-SECRET")
		}, nil, "request not sent"},
		{"500", faulty(outxtest.Fault{Status: 500}), outx.ErrServer, "500"},
		{"502", faulty(outxtest.Fault{Status: 502}), outx.ErrServer, "502"},
		{"503", faulty(outxtest.Fault{Status: 503}), outx.ErrServer, "503"},
		{"429", faulty(outxtest.Fault{Status: 429}), outx.ErrRateLimited, "429"},
		{"answer lost", func(t *testing.T) *outx.Client {
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
			t.Cleanup(srv.Close)
			return newClient(t, srv.URL, "key-SECRET")
		}, nil, "answer lost"},
		{"answer too late", func(t *testing.T) *outx.Client {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) })
			return newClient(t, srv.URL, "key-SECRET", outx.WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
		}, nil, "answer lost"},
		{"not OutX", func(t *testing.T) *outx.Client {
			srv := httptest.NewServer(http.NotFoundHandler())
			t.Cleanup(srv.Close)
			return newClient(t, srv.URL, "key-SECRET")
		}, nil, "OutX's API?"},
		{"a proxy's 403", func(t *testing.T) *outx.Client {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "Forbidden by policy", http.StatusForbidden)
			}))
			t.Cleanup(srv.Close)
			return newClient(t, srv.URL, "key-SECRET")
		}, nil, "OutX's API?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.client(t).CheckKey(ctx)
			if !errors.Is(err, outx.ErrKeyNotChecked) || errors.Is(err, outx.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrKeyNotChecked and not ErrUnauthorized", err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want it to match its cause %v", err, tc.cause)
			}
			if !strings.Contains(err.Error(), tc.text) || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), outxtest.DefaultAPIKey) {
				t.Errorf("err = %q, want it to say %q and hold no key", err, tc.text)
			}
		})
	}
}

// TestCheckKeyRedactsAKeyEchoedByTheServer: a 401 page that repeats the
// request's key (some proxies do) does not bring it into the error.
func TestCheckKeyRedactsAKeyEchoedByTheServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error": "Invalid API Key ` + r.Header.Get("x-api-key") + `"}`))
	}))
	defer srv.Close()
	err := newClient(t, srv.URL, "echoed-SECRET-key").CheckKey(context.Background())
	if !errors.Is(err, outx.ErrUnauthorized) || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err = %v, want a 401 without the key", err)
	}
}
