// Package outx is a client for the OutX LinkedIn API (outx.ai).
//
// OutX performs LinkedIn actions through a team member's browser extension, so
// every action is asynchronous: a POST queues a task and returns its id, and
// the task's result is read later with GetTaskStatus.
//
// The client makes exactly one HTTP request per call and never retries:
// whether a failed call may be repeated is the caller's decision, made with
// NoTaskCreated and the typed errors in errors.go.
package outx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultBaseURL is OutX's production API.
const DefaultBaseURL = "https://api.outx.ai"

// Endpoint paths, relative to the base URL.
const (
	PathSendMessage   = "/linkedin-agent/send-message"
	PathGetTaskStatus = "/linkedin-agent/get-task-status"
	PathFetchProfile  = "/linkedin-agent/fetch-profile"
	// PathSendConnectionRequest and PathFetchConnections are listed by OutX
	// beside Send Message, with the same task model.
	PathSendConnectionRequest = "/linkedin-agent/send-connection-request"
	PathFetchConnections      = "/linkedin-agent/fetch-connections"
)

// maxAnswerBytes bounds how much of an answer is read; OutX's answers are small.
const maxAnswerBytes = 1 << 20

// Client calls OutX with one team's API key. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	apiKey string
	http   *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default HTTP client (30 s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client for the OutX API at baseURL (DefaultBaseURL if empty).
// The API key is sent in the x-api-key header and nowhere else: it is not part
// of any error, log line or String().
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("outx: base URL %q: must be an absolute http(s) URL", baseURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("outx: base URL must not contain credentials; the API key goes in OUTX_API_KEY")
	}
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("outx: API key is empty: set OUTX_API_KEY")
	}
	c := &Client{base: u, apiKey: apiKey, http: &http.Client{
		Timeout: 30 * time.Second,
		// A redirected POST would be replayed as a GET, or resent: neither is
		// what the caller asked for, so a redirect is returned as an answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// String names the client without its key.
func (c *Client) String() string   { return "outx.Client(" + c.base.String() + ")" }
func (c *Client) GoString() string { return c.String() }

// BaseURL is the API address the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

// SendMessageRequest is the body of Send Message.
type SendMessageRequest struct {
	RecipientURN string `json:"recipient_urn"`
	Message      string `json:"message"`
}

// TaskCreated is OutX's answer to any POST that queues a task.
type TaskCreated struct {
	Success bool   `json:"success"`
	TaskID  string `json:"api_agent_task_id"`
	Message string `json:"message"`
}

// SendMessage queues a LinkedIn message. A nil error means OutX created the
// task; its outcome must then be read with GetTaskStatus, never by sending
// again. On error, NoTaskCreated tells whether sending again is safe.
func (c *Client) SendMessage(ctx context.Context, req SendMessageRequest) (TaskCreated, error) {
	return c.createTask(ctx, PathSendMessage, req)
}

// FetchProfileRequest is the body of Fetch Profile.
type FetchProfileRequest struct {
	ProfileSlug string `json:"profile_slug"`
}

// FetchProfile queues a profile look-up; the profile, including its URN, is
// in the finished task's output (see Task.ProfileURN).
func (c *Client) FetchProfile(ctx context.Context, req FetchProfileRequest) (TaskCreated, error) {
	return c.createTask(ctx, PathFetchProfile, req)
}

// SendConnectionRequestBody is the body of Send Connection Request: the
// person's URN and an optional note of at most MaxNoteLength characters
// after trimming.
type SendConnectionRequestBody struct {
	ProfileURN string `json:"profile_urn"`
	Note       string `json:"note,omitempty"`
}

// SendConnectionRequest queues a LinkedIn connection request. Like
// SendMessage, a nil error means the task exists and must be polled, never
// sent again; on error, NoTaskCreated tells whether sending again is safe.
// The finished task's output is {"sent": true} when the invitation went out.
func (c *Client) SendConnectionRequest(ctx context.Context, req SendConnectionRequestBody) (TaskCreated, error) {
	return c.createTask(ctx, PathSendConnectionRequest, req)
}

// FetchConnections queues a read of the account's 1st-degree connections;
// they are in the finished task's output (see Task.Connections). OutX does
// not document a request field, so the body is empty.
func (c *Client) FetchConnections(ctx context.Context) (TaskCreated, error) {
	return c.createTask(ctx, PathFetchConnections, struct{}{})
}

func (c *Client) createTask(ctx context.Context, path string, body any) (TaskCreated, error) {
	var out TaskCreated
	if err := c.do(ctx, http.MethodPost, path, nil, body, &out); err != nil {
		return TaskCreated{}, err
	}
	if !out.Success || out.TaskID == "" {
		// A 2xx without a task id: OutX may well have created the task.
		return TaskCreated{}, &TransportError{Endpoint: endpointName(path), Ambiguous: true,
			Err: fmt.Errorf("answer has no api_agent_task_id (success=%v)", out.Success)}
	}
	return out, nil
}

// GetTaskStatus reads a task's current state. It is a read: repeating it is
// always safe.
func (c *Client) GetTaskStatus(ctx context.Context, taskID string) (Task, error) {
	var out struct {
		Success bool  `json:"success"`
		Data    *Task `json:"data"`
	}
	q := url.Values{"api_agent_task_id": {taskID}}
	if err := c.do(ctx, http.MethodGet, PathGetTaskStatus, q, nil, &out); err != nil {
		return Task{}, err
	}
	if out.Data == nil {
		return Task{}, &TransportError{Endpoint: endpointName(PathGetTaskStatus), Ambiguous: true,
			Err: errors.New("answer has no data")}
	}
	t := *out.Data
	if string(t.Output) == "null" {
		t.Output = nil
	}
	return t, nil
}

// do makes one request. It records, through httptrace, whether any part of
// the request was handed to the connection: a failure before that point
// certainly reached nobody; a failure after it is ambiguous.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	name := endpointName(path)
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()

	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &TransportError{Endpoint: name, Err: fmt.Errorf("encoding request: %w", err)}
		}
		reader = bytes.NewReader(b)
	}

	var written atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { written.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) { written.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reader)
	if err != nil {
		return &TransportError{Endpoint: name, Err: err}
	}
	req.Header.Set("x-api-key", c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "outpace")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return &TransportError{Endpoint: name, Ambiguous: written.Load(), Err: err}
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))

	if resp.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(truncate([]byte(c.redact(string(data))), 200)))
		}
		return newAPIError(name, resp.StatusCode, c.redact(e.Error))
	}
	// A success status whose body is lost or unreadable: the action happened
	// (or may have), but we do not know its task id.
	if readErr != nil {
		return &TransportError{Endpoint: name, Ambiguous: true, Err: fmt.Errorf("reading answer: %w", readErr)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &TransportError{Endpoint: name, Ambiguous: true, Err: fmt.Errorf("unexpected status %d", resp.StatusCode)}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &TransportError{Endpoint: name, Ambiguous: true,
			Err: fmt.Errorf("answer is not the documented JSON: %w (body %q)", err, truncate([]byte(c.redact(string(data))), 200))}
	}
	return nil
}

// redact hides the API key in a text from the server, such as a proxy's
// error page that echoes the request's headers: the key must not reach an
// error, and so a workflow's history.
func (c *Client) redact(s string) string {
	return strings.ReplaceAll(s, c.apiKey, "[API key]")
}

func endpointName(path string) string { return path[strings.LastIndexByte(path, '/')+1:] }

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
