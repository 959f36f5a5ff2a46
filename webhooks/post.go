package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Timeout bounds one delivery: a receiver that takes longer has failed it.
const Timeout = 10 * time.Second

// Poster makes deliveries over HTTP.
type Poster struct {
	// Client is the HTTP client (one that follows no redirect when nil: a
	// receiver that moved is told by a failed delivery, not followed).
	Client *http.Client
	// Now is the clock of the signature's timestamp (time.Now when nil).
	Now func() time.Time
	// UserAgent names the sender ("outpace-webhooks" when empty).
	UserAgent string
}

var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Post delivers one outbox row to ep, signed at the time of the request.
// Only a 2xx answer delivers it; the error says what the receiver did
// instead (its status and the start of its body, or the network error).
func (p *Poster) Post(ctx context.Context, ep Endpoint, r Row) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(r.Body))
	if err != nil {
		return err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	ua := p.UserAgent
	if ua == "" {
		ua = "outpace-webhooks"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", ua)
	req.Header.Set(HeaderEventID, r.EventID)
	req.Header.Set(HeaderEventType, r.Type)
	req.Header.Set(HeaderSignature, Sign(ep.Secret, now(), r.Body))
	c := p.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL is the endpoint's own, not a secret; the error names it.
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("%s answered %s", ep.Name, resp.Status)
		if s := strings.Join(strings.Fields(string(snippet)), " "); s != "" {
			msg += ": " + s
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}
