// Package outxtest is the OutX sandbox: an http.Handler that behaves like the
// OutX API as published (paths, methods, the x-api-key header, validation with
// OutX's exact error texts, 401/403/404, the JSON shapes, asynchronous tasks),
// with fault injection and a record of every request and task.
//
// Tests build one with NewServer, as with net/http/httptest, and read what
// happened from it. The sandbox binary serves the same handler on a port.
//
// # Special recipients
//
// Like a payment sandbox's test card numbers, recipient URNs whose id starts
// with one of these prefixes behave deterministically (anything may follow the
// prefix, e.g. urn:li:person:notconnected-7); every other valid URN is
// delivered TaskDelay after its task is created.
//
//	NotConnected    task ends "failed": not a 1st-degree connection
//	Unsent          task ends "completed" with {"sent": false, ...}
//	Slow            task stays pending for SlowDelay, then is delivered
//	Stuck           task stays pending until Finish is called
//	RateLimitedOnce the first send is answered 429 (no task), later ones succeed
//	UnavailableOnce the first send is answered 503 (no task), later ones succeed
//	LostAnswerOnce  the first send creates its task, then the connection drops
//	                before the answer is written
//
// Profile slugs passed to fetch-profile resolve to urn:li:person:<slug> when
// the slug is a valid URN id, so special recipients can be named by profile
// URL too; slugs starting with "unknown" end in a failed task.
package outxtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/outpacehq/outpace/outx"
)

// Special recipient URN prefixes; see the package documentation.
const (
	NotConnected    = "urn:li:person:notconnected"
	Unsent          = "urn:li:person:unsent"
	Slow            = "urn:li:person:slow"
	Stuck           = "urn:li:person:stuck"
	RateLimitedOnce = "urn:li:person:ratelimited"
	UnavailableOnce = "urn:li:person:unavailable"
	LostAnswerOnce  = "urn:li:person:lostanswer"
)

// DefaultAPIKey is the key of the sandbox's default team.
const DefaultAPIKey = "sandbox-key"

// NoAdminAPIKey belongs to a default team that has no admin member: its sends
// are answered 404 "No admin user found in the team".
const NoAdminAPIKey = "sandbox-no-admin"

// OutX's error texts, exactly as published.
const (
	TextInvalidRecipient = "Missing or invalid 'recipient_urn'"
	TextInvalidMessage   = "Missing or invalid 'message'"
	TextTooLong          = "Message text is too long (max 10000 characters)"
	TextInvalidTaskID    = "Missing or invalid 'api_agent_task_id'"
	TextInvalidSlug      = "Missing or invalid 'profile_slug'"
	TextMissingKey       = "Missing API Key"
	TextInvalidKey       = "Invalid API Key"
	TextPluginRequired   = "Plugin installation required. No team member has an active OutX Chrome extension in the last 48 hours."
	TextNoAdmin          = "No admin user found in the team"
	TextTaskNotFound     = "Agent task not found"
	TextRateLimited      = "Rate limit exceeded. Please try again later."
	TextNotConnected     = "Recipient is not a 1st-degree connection of the sending account"
)

// Team is one OutX team: an API key and the LinkedIn account behind it.
type Team struct {
	Name    string
	APIKey  string
	NoAdmin bool
}

// Options tune a sandbox. Zero values take the defaults.
type Options struct {
	// Teams whose keys are accepted. Default: DefaultAPIKey ("sandbox") and
	// NoAdminAPIKey ("no-admin").
	Teams []Team
	// TaskDelay is how long an ordinary task takes from creation to its final
	// status; it is "pending", then "processing" for the second half. Default 1s.
	TaskDelay time.Duration
	// SlowDelay is how long Slow recipients' tasks stay pending. Default 1m.
	SlowDelay time.Duration
	// Now is the sandbox's clock. Default time.Now.
	Now func() time.Time
}

// Task is the record of one task the sandbox created.
type Task struct {
	ID           string          `json:"id"`
	Team         string          `json:"team"`
	Type         string          `json:"type"`                    // "agent_send_message" or "agent_fetch_profile"
	RecipientURN string          `json:"recipient_urn,omitempty"` // send-message tasks
	Message      string          `json:"message,omitempty"`       // send-message tasks
	ProfileSlug  string          `json:"profile_slug,omitempty"`  // fetch-profile tasks
	Status       outx.TaskStatus `json:"status"`
	Output       json.RawMessage `json:"output,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	FinishedAt   time.Time       `json:"finished_at,omitzero"` // zero while the task is not finished
}

// Request is the record of one HTTP request the sandbox answered.
type Request struct {
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"` // 0 when the answer was deliberately lost
	At     time.Time `json:"at"`
}

// Fault changes how the sandbox answers the next requests.
type Fault struct {
	// Path limits the fault to one endpoint (e.g. outx.PathSendMessage); empty
	// means every OutX endpoint.
	Path string `json:"path,omitempty"`
	// Times is how many requests the fault applies to; 0 means until ClearFaults.
	Times int `json:"times,omitempty"`
	// Status answers with this error status and OutX's text for it, and does
	// nothing else: no task is created.
	Status int `json:"status,omitempty"`
	// LoseAnswer does the work (creates the task), then drops the connection
	// before answering: the client cannot know the task exists.
	LoseAnswer bool `json:"lose_answer,omitempty"`
	// LatencyMS does the work, then waits this long before answering.
	LatencyMS int `json:"latency_ms,omitempty"`
}

// Sandbox is the OutX API as an http.Handler. It is safe for concurrent use.
type Sandbox struct {
	opts Options

	mu           sync.Mutex
	tasks        map[string]*task
	order        []*task
	requests     []Request
	faults       []*Fault
	sendsTo      map[string]int // send requests seen per recipient, for the *Once behaviours
	offline      bool
	offlineSince time.Time
}

type task struct {
	Task
	due      time.Time // when it finishes, unless stuck
	stuck    bool
	outcome  outx.TaskStatus
	finalOut json.RawMessage
}

// New returns a sandbox with the given options.
func New(opts Options) *Sandbox {
	if opts.Teams == nil {
		opts.Teams = []Team{
			{Name: "sandbox", APIKey: DefaultAPIKey},
			{Name: "no-admin", APIKey: NoAdminAPIKey, NoAdmin: true},
		}
	}
	if opts.TaskDelay == 0 {
		opts.TaskDelay = time.Second
	}
	if opts.SlowDelay == 0 {
		opts.SlowDelay = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sandbox{opts: opts, tasks: map[string]*task{}, sendsTo: map[string]int{}}
}

// Server is a sandbox listening on a loopback port, like httptest.Server.
type Server struct {
	*Sandbox
	URL string
	srv *httptest.Server
}

// NewServer starts a sandbox on 127.0.0.1. Close it when done.
func NewServer(opts Options) *Server {
	sb := New(opts)
	srv := httptest.NewServer(sb)
	return &Server{Sandbox: sb, URL: srv.URL, srv: srv}
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Inject adds a fault; faults apply in the order they were added.
func (s *Sandbox) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Sandbox) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetExtensionOffline takes every team's browser extension offline (every
// request is answered 403 and no task progresses) or brings it back, in which
// case unfinished tasks resume where they were.
func (s *Sandbox) SetExtensionOffline(offline bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	switch {
	case offline && !s.offline:
		s.offlineSince = now
	case !offline && s.offline:
		gap := now.Sub(s.offlineSince)
		for _, t := range s.order {
			if t.FinishedAt.IsZero() {
				t.due = t.due.Add(gap)
			}
		}
	}
	s.offline = offline
}

// Finish ends an unfinished task now: completed and sent, or failed. It
// reports whether the task existed and was unfinished.
func (s *Sandbox) Finish(taskID string, sent bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[taskID]
	if !ok || !t.FinishedAt.IsZero() {
		return false
	}
	t.stuck = false
	t.due = s.opts.Now()
	if sent {
		t.outcome, t.finalOut = outx.StatusCompleted, json.RawMessage(`{"sent":true}`)
	} else {
		t.outcome, t.finalOut = outx.StatusFailed, errorJSON("Task failed")
	}
	s.advance(t, t.due)
	return true
}

// Tasks returns every task created so far, in creation order, with statuses
// as of now.
func (s *Sandbox) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	out := make([]Task, 0, len(s.order))
	for _, t := range s.order {
		s.advance(t, now)
		out = append(out, t.Task)
	}
	return out
}

// TasksTo returns the send-message tasks created for one recipient.
func (s *Sandbox) TasksTo(recipientURN string) []Task {
	var out []Task
	for _, t := range s.Tasks() {
		if t.RecipientURN == recipientURN {
			out = append(out, t)
		}
	}
	return out
}

// Requests returns every request answered so far, in order.
func (s *Sandbox) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

var urnID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// ServeHTTP answers one OutX API request.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Record the request on arrival, so a test sees it even while its answer
	// is delayed; the status is filled in when the answer is written.
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, At: s.opts.Now()})
	w = &recorder{ResponseWriter: w, sb: s, index: len(s.requests) - 1}
	s.mu.Unlock()

	var method string
	switch r.URL.Path {
	case outx.PathSendMessage, outx.PathFetchProfile:
		method = http.MethodPost
	case outx.PathGetTaskStatus:
		method = http.MethodGet
	default:
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	if r.Method != method {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}

	key := r.Header.Get("x-api-key")
	if key == "" {
		writeError(w, http.StatusUnauthorized, TextMissingKey)
		return
	}
	team, ok := s.team(key)
	if !ok {
		writeError(w, http.StatusUnauthorized, TextInvalidKey)
		return
	}

	fault := s.takeFault(r.URL.Path)
	if fault != nil && fault.Status != 0 {
		writeError(w, fault.Status, textForStatus(fault.Status))
		return
	}
	s.mu.Lock()
	offline := s.offline
	s.mu.Unlock()
	if offline {
		writeError(w, http.StatusForbidden, TextPluginRequired)
		return
	}

	switch r.URL.Path {
	case outx.PathSendMessage:
		s.sendMessage(w, r, team, fault)
	case outx.PathFetchProfile:
		s.fetchProfile(w, r, team, fault)
	case outx.PathGetTaskStatus:
		s.getTaskStatus(w, r, team, fault)
	}
}

// sendMessage validates as OutX does, then creates a task.
func (s *Sandbox) sendMessage(w http.ResponseWriter, r *http.Request, team Team, fault *Fault) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	urn, ok := jsonString(body, "recipient_urn")
	if !ok || urn == "" {
		writeError(w, http.StatusBadRequest, TextInvalidRecipient)
		return
	}
	msg, ok := jsonString(body, "message")
	if !ok || strings.TrimFunc(msg, outx.IsJSWhitespace) == "" {
		writeError(w, http.StatusBadRequest, TextInvalidMessage)
		return
	}
	if outx.MessageLength(msg) > outx.MaxMessageLength {
		writeError(w, http.StatusBadRequest, TextTooLong)
		return
	}
	if team.NoAdmin {
		writeError(w, http.StatusNotFound, TextNoAdmin)
		return
	}

	s.mu.Lock()
	s.sendsTo[urn]++
	first := s.sendsTo[urn] == 1
	s.mu.Unlock()
	if first && hasPrefix(urn, RateLimitedOnce) {
		writeError(w, http.StatusTooManyRequests, TextRateLimited)
		return
	}
	if first && hasPrefix(urn, UnavailableOnce) {
		writeError(w, http.StatusServiceUnavailable, "Service temporarily unavailable")
		return
	}

	t := s.newTask(team, "agent_send_message")
	t.RecipientURN, t.Message = urn, msg
	t.outcome, t.finalOut = outx.StatusCompleted, json.RawMessage(`{"sent":true}`)
	switch {
	case hasPrefix(urn, NotConnected):
		t.outcome, t.finalOut = outx.StatusFailed, errorJSON(TextNotConnected)
	case hasPrefix(urn, Unsent):
		t.finalOut = json.RawMessage(`{"sent":false,"error":"LinkedIn did not send the message"}`)
	case hasPrefix(urn, Slow):
		t.due = t.CreatedAt.Add(s.opts.SlowDelay)
	case hasPrefix(urn, Stuck):
		t.stuck = true
	}
	s.store(t)

	if first && hasPrefix(urn, LostAnswerOnce) {
		loseAnswer()
	}
	s.answerCreated(w, r, t, fault, "Send message task created successfully")
}

func (s *Sandbox) fetchProfile(w http.ResponseWriter, r *http.Request, team Team, fault *Fault) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	slug, ok := jsonString(body, "profile_slug")
	if !ok || strings.TrimSpace(slug) == "" {
		writeError(w, http.StatusBadRequest, TextInvalidSlug)
		return
	}
	t := s.newTask(team, "agent_fetch_profile")
	t.ProfileSlug = slug
	switch {
	case strings.HasPrefix(strings.ToLower(slug), "unknown"):
		t.outcome, t.finalOut = outx.StatusFailed, errorJSON("Profile not found")
	default:
		id := slug
		if !urnID.MatchString(id) {
			id = "ACoAA" + strings.ReplaceAll(uuid.NewSHA1(uuid.NameSpaceURL, []byte(slug)).String(), "-", "")[:16]
		}
		out, _ := json.Marshal(map[string]any{
			"profile_urn":  "urn:li:person:" + id,
			"profile_slug": slug,
			"full_name":    strings.ReplaceAll(slug, "-", " "),
		})
		t.outcome, t.finalOut = outx.StatusCompleted, out
	}
	s.store(t)
	s.answerCreated(w, r, t, fault, "Fetch profile task created successfully")
}

func (s *Sandbox) getTaskStatus(w http.ResponseWriter, r *http.Request, team Team, fault *Fault) {
	id := r.URL.Query().Get("api_agent_task_id")
	if strings.TrimSpace(id) == "" {
		writeError(w, http.StatusBadRequest, TextInvalidTaskID)
		return
	}
	s.mu.Lock()
	t, ok := s.tasks[id]
	if !ok || t.Team != team.Name {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, TextTaskNotFound)
		return
	}
	s.advance(t, s.opts.Now())
	input := map[string]any{"task_type": t.Type}
	if t.Type == "agent_send_message" {
		input["recipient_urn"], input["message"] = t.RecipientURN, t.Message
	} else {
		input["profile_slug"] = t.ProfileSlug
	}
	output := t.Output
	if output == nil {
		output = json.RawMessage("null")
	}
	answer := map[string]any{"success": true, "data": map[string]any{
		"id": t.ID, "status": t.Status, "task_input": input, "task_output": output,
	}}
	s.mu.Unlock()
	s.finishAnswer(w, r, fault, http.StatusOK, answer)
}

func (s *Sandbox) newTask(team Team, typ string) *task {
	now := s.opts.Now()
	return &task{Task: Task{
		ID: uuid.NewString(), Team: team.Name, Type: typ,
		Status: outx.StatusPending, CreatedAt: now,
	}, due: now.Add(s.opts.TaskDelay)}
}

func (s *Sandbox) store(t *task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks[t.ID] = t
	s.order = append(s.order, t)
}

// advance brings a task's status up to the time now. Called with s.mu held.
func (s *Sandbox) advance(t *task, now time.Time) {
	if !t.FinishedAt.IsZero() || s.offline {
		return
	}
	switch {
	case t.stuck || now.Before(t.CreatedAt.Add(t.due.Sub(t.CreatedAt)/2)):
		t.Status = outx.StatusPending
	case now.Before(t.due):
		t.Status = outx.StatusProcessing
	default:
		t.Status, t.Output, t.FinishedAt = t.outcome, t.finalOut, t.due
	}
}

func (s *Sandbox) answerCreated(w http.ResponseWriter, r *http.Request, t *task, fault *Fault, text string) {
	s.finishAnswer(w, r, fault, http.StatusOK, map[string]any{
		"success": true, "api_agent_task_id": t.ID, "message": text,
	})
}

// finishAnswer applies a fault's latency and lost answer to work already done.
func (s *Sandbox) finishAnswer(w http.ResponseWriter, r *http.Request, fault *Fault, status int, answer any) {
	if fault != nil && fault.LatencyMS > 0 {
		select {
		case <-time.After(time.Duration(fault.LatencyMS) * time.Millisecond):
		case <-r.Context().Done():
			return // the client gave up; the work stays done, as on a real server
		}
	}
	if fault != nil && fault.LoseAnswer {
		loseAnswer()
	}
	writeJSON(w, status, answer)
}

func (s *Sandbox) team(key string) (Team, bool) {
	for _, t := range s.opts.Teams {
		if t.APIKey == key {
			return t, true
		}
	}
	return Team{}, false
}

func (s *Sandbox) takeFault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Path != "" && f.Path != path {
			continue
		}
		applied := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return &applied
	}
	return nil
}

// loseAnswer drops the connection without writing an answer: the server's
// own way to abort a handler.
func loseAnswer() { panic(http.ErrAbortHandler) }

func hasPrefix(urn, prefix string) bool {
	return strings.HasPrefix(strings.ToLower(urn), prefix)
}

func readBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "Request body too large")
		return nil, false
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(data, &body); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON body")
		return nil, false
	}
	return body, true
}

// jsonString reads a field that must be a JSON string.
func jsonString(body map[string]json.RawMessage, key string) (string, bool) {
	raw, ok := body[key]
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func textForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "Bad request"
	case http.StatusUnauthorized:
		return TextInvalidKey
	case http.StatusForbidden:
		return TextPluginRequired
	case http.StatusNotFound:
		return TextNoAdmin
	case http.StatusTooManyRequests:
		return TextRateLimited
	}
	return fmt.Sprintf("Internal error (%d)", status)
}

func errorJSON(text string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"error": text})
	return b
}

func writeError(w http.ResponseWriter, status int, text string) {
	writeJSON(w, status, map[string]string{"error": text})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// recorder writes the answer's status into the request record.
type recorder struct {
	http.ResponseWriter
	sb    *Sandbox
	index int
}

func (r *recorder) WriteHeader(code int) {
	r.sb.mu.Lock()
	r.sb.requests[r.index].Status = code
	r.sb.mu.Unlock()
	r.ResponseWriter.WriteHeader(code)
}

// AdminPrefix is where AdminHandler is mounted by the sandbox binary.
const AdminPrefix = "/_sandbox/"

// AdminHandler exposes the record and the fault controls over HTTP, for a
// sandbox running as its own process:
//
//	GET    /_sandbox/tasks      every task, as JSON
//	GET    /_sandbox/requests   every request answered, as JSON
//	POST   /_sandbox/faults     add a Fault (JSON body)
//	DELETE /_sandbox/faults     remove every fault
//	PUT    /_sandbox/extension  {"online": false} takes the extension offline
func (s *Sandbox) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+AdminPrefix+"tasks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Tasks())
	})
	mux.HandleFunc("GET "+AdminPrefix+"requests", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Requests())
	})
	mux.HandleFunc("POST "+AdminPrefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
			writeError(w, http.StatusBadRequest, "fault: "+err.Error())
			return
		}
		s.Inject(f)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE "+AdminPrefix+"faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT "+AdminPrefix+"extension", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Online *bool `json:"online"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&body); err != nil || body.Online == nil {
			writeError(w, http.StatusBadRequest, `extension: want {"online": true|false}`)
			return
		}
		s.SetExtensionOffline(!*body.Online)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}
