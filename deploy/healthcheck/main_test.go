package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckAcceptsOnly2xx(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	ctx := context.Background()

	if err := check(ctx, srv.URL+"/healthz"); err != nil {
		t.Fatalf("200: %v", err)
	}
	status = http.StatusServiceUnavailable
	err := check(ctx, srv.URL+"/healthz")
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503: got %v, want an error naming 503", err)
	}
	status = http.StatusOK
	if err := check(ctx, srv.URL+"/elsewhere"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: got %v, want an error naming 404", err)
	}
}

func TestCheckReportsNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = check(context.Background(), "http://"+addr+"/metrics")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("closed port: got %v, want connection refused", err)
	}
}

func TestCheckRefusesABadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9090/metrics", "ftp://x/y", "http:///path"} {
		if err := check(context.Background(), u); err == nil || !strings.Contains(err.Error(), "want http://host:port/path") {
			t.Errorf("check(%q) = %v, want the URL rule", u, err)
		}
	}
}
