package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls an inbound server with one bearer token.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// NewClient is a client of the server at baseURL (e.g.
// http://127.0.0.1:8089), authenticating with token.
func NewClient(baseURL, token string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// Stop stops a person (POST /v1/stops).
func (c *Client) Stop(ctx context.Context, r StopRequest) (StopResponse, error) {
	var out StopResponse
	return out, c.do(ctx, http.MethodPost, "/v1/stops", r, &out)
}

// AddDNC puts a person on the do-not-contact list (POST /v1/dnc).
func (c *Client) AddDNC(ctx context.Context, r DNCRequest) (DNCEntry, error) {
	var out DNCEntry
	return out, c.do(ctx, http.MethodPost, "/v1/dnc", r, &out)
}

// RemoveDNC takes a person off the list (DELETE /v1/dnc/{person}).
func (c *Client) RemoveDNC(ctx context.Context, person string) (DNCRemoved, error) {
	var out DNCRemoved
	return out, c.do(ctx, http.MethodDelete, "/v1/dnc/"+url.PathEscape(person), nil, &out)
}

// Person reads a person's status (GET /v1/people/{person}).
func (c *Client) Person(ctx context.Context, person string) (PersonStatus, error) {
	var out PersonStatus
	return out, c.do(ctx, http.MethodGet, "/v1/people/"+url.PathEscape(person), nil, &out)
}

// do sends one call; a non-2xx answer is an *Error.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e ErrorBody
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return &Error{Status: resp.StatusCode, Code: "http_" + fmt.Sprint(resp.StatusCode), Message: strings.TrimSpace(string(data))}
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	return json.Unmarshal(data, out)
}
