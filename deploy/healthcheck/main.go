// Command healthcheck is the health check of outpace's container image: the
// image is distroless, with no shell, curl or wget, so Docker's HEALTHCHECK
// runs this instead. It GETs one URL on the container's own loopback and exits
// 0 for a 2xx answer, 1 otherwise, saying why on stderr.
//
//	healthcheck http://127.0.0.1:9090/metrics
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// timeout bounds the whole check; Docker's own timeout kills it later anyway.
const timeout = 3 * time.Second

func main() {
	if len(os.Args) != 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: healthcheck URL\n\nGETs URL and exits 0 for a 2xx answer, 1 otherwise.")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := check(ctx, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// check GETs rawURL and reports anything but a 2xx answer as an error.
func check(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("URL %q: want http://host:port/path", rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}
