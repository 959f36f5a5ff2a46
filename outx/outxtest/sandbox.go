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
//	NotConnected    message task ends "failed": not a 1st-degree connection;
//	                a connection request is sent but never accepted
//	Accepts         not connected: messages fail as NotConnected until the
//	                person accepts a connection request, AcceptDelay after
//	                that request's task completes
//	Ignores         not connected; receives connection requests, never accepts
//	Unsent          task ends "completed" with {"sent": false, ...}
//	Slow            task stays pending for SlowDelay, then is performed
//	Stuck           task stays pending until Finish is called
//	RateLimitedOnce the first send is answered 429 (no task), later ones succeed
//	UnavailableOnce the first send is answered 503 (no task), later ones succeed
//	LostAnswerOnce  the first send creates its task, then the connection drops
//	                before the answer is written
//
// The *Once prefixes count send-message and send-connection-request apart: the
// first request of each kind to such a person is the one refused or lost.
//
// # Connections
//
// Each team is one LinkedIn account. Everyone but NotConnected, Accepts and
// Ignores people is already its 1st-degree connection: a connection request
// to them completes with {"sent": false, "already_connected": true}. A
// request to anyone else completes with {"sent": true}; Accepts people then
// accept it, and Accept makes anyone accept at once. Fetch Connections lists
// the people who accepted (not the implicit connections), as of the moment
// its task completes. A person's acceptance lasts for the sandbox's life.
//
// Profile slugs passed to fetch-profile resolve to urn:li:person:<slug> when
// the slug is a valid URN id, so special recipients can be named by profile
// URL too; slugs starting with "unknown" end in a failed task.
package outxtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
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
	Accepts         = "urn:li:person:accepts"
	Ignores         = "urn:li:person:ignores"
	RateLimitedOnce = "urn:li:person:ratelimited"
	UnavailableOnce = "urn:li:person:unavailable"
	LostAnswerOnce  = "urn:li:person:lostanswer"
)

// DefaultAPIKey is the key of the sandbox's default team, DefaultTeam.
const DefaultAPIKey = "sandbox-key"

// DefaultTeam is the name of the default team, whose key is DefaultAPIKey.
const DefaultTeam = "sandbox"

// NoAdminAPIKey belongs to a default team that has no admin member: its sends
// are answered 404 "No admin user found in the team".
const NoAdminAPIKey = "sandbox-no-admin"

// OutX's error texts, exactly as published.
const (
	TextInvalidRecipient  = "Missing or invalid 'recipient_urn'"
	TextInvalidMessage    = "Missing or invalid 'message'"
	TextTooLong           = "Message text is too long (max 10000 characters)"
	TextInvalidTaskID     = "Missing or invalid 'api_agent_task_id'"
	TextInvalidSlug       = "Missing or invalid 'profile_slug'"
	TextInvalidProfileURN = "Missing or invalid 'profile_urn'"
	TextNoteTooLong       = "Note is too long (max 300 characters)"
	TextMissingKey        = "Missing API Key"
	TextInvalidKey        = "Invalid API Key"
	TextPluginRequired    = "Plugin installation required. No team member has an active OutX Chrome extension in the last 48 hours."
	TextNoAdmin           = "No admin user found in the team"
	TextTaskNotFound      = "Agent task not found"
	TextRateLimited       = "Rate limit exceeded. Please try again later."
	TextNotConnected      = "Recipient is not a 1st-degree connection of the sending account"
	// TextInvalidNote is the sandbox's own text for a note that is not a
	// string: OutX publishes none.
	TextInvalidNote = "Invalid 'note'"
)

// Task types, as in Task.Type and in get-task-status's task_input.task_type.
const (
	TypeSendMessage           = "agent_send_message"
	TypeFetchProfile          = "agent_fetch_profile"
	TypeSendConnectionRequest = "agent_send_connection_request"
	TypeFetchConnections      = "agent_fetch_connections"
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
	// AcceptDelay is how long after its connection request's task completes
	// an Accepts person accepts. Default 1m.
	AcceptDelay time.Duration
	// Now is the sandbox's clock. Default time.Now.
	Now func() time.Time
}

// Task is the record of one task the sandbox created.
type Task struct {
	ID           string          `json:"id"`
	Team         string          `json:"team"`
	Type         string          `json:"type"`                    // one of the Type* constants
	RecipientURN string          `json:"recipient_urn,omitempty"` // send-message and send-connection-request tasks (its profile_urn)
	Message      string          `json:"message,omitempty"`       // send-message tasks
	Note         string          `json:"note,omitempty"`          // send-connection-request tasks, as sent (untrimmed)
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
	sendsTo      map[string]int // send requests seen per path and recipient, for the *Once behaviours
	offline      bool
	offlineSince time.Time
	// invitations holds each team's connection-request tasks by URN, and
	// accepted the acceptances made with Accept: together they say who is
	// connected when.
	invitations map[string]map[string][]*task
	accepted    map[string]map[string]time.Time
}

type task struct {
	Task
	due      time.Time // when it finishes, unless stuck
	stuck    bool
	outcome  outx.TaskStatus
	finalOut json.RawMessage
	// settle, when set, decides the outcome at the moment the task finishes
	// (at), for outcomes that depend on who is connected by then. It is
	// called with the sandbox's lock held, after FinishedAt is set.
	settle func(at time.Time) (outx.TaskStatus, json.RawMessage)
}

// New returns a sandbox with the given options.
func New(opts Options) *Sandbox {
	if opts.Teams == nil {
		opts.Teams = []Team{
			{Name: DefaultTeam, APIKey: DefaultAPIKey},
			{Name: "no-admin", APIKey: NoAdminAPIKey, NoAdmin: true},
		}
	}
	if opts.TaskDelay == 0 {
		opts.TaskDelay = time.Second
	}
	if opts.SlowDelay == 0 {
		opts.SlowDelay = time.Minute
	}
	if opts.AcceptDelay == 0 {
		opts.AcceptDelay = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sandbox{opts: opts, tasks: map[string]*task{}, sendsTo: map[string]int{},
		invitations: map[string]map[string][]*task{}, accepted: map[string]map[string]time.Time{}}
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
		// Tasks due before now were performed before the extension left.
		for _, t := range s.order {
			s.advance(t, now)
		}
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
	t.stuck, t.settle = false, nil
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
	return s.tasksOf(TypeSendMessage, recipientURN)
}

// ConnectionRequestsTo returns the send-connection-request tasks created for
// one person.
func (s *Sandbox) ConnectionRequestsTo(profileURN string) []Task {
	return s.tasksOf(TypeSendConnectionRequest, profileURN)
}

func (s *Sandbox) tasksOf(typ, urn string) []Task {
	var out []Task
	for _, t := range s.Tasks() {
		if t.Type == typ && t.RecipientURN == urn {
			out = append(out, t)
		}
	}
	return out
}

// Accept makes urn accept a connection request from team's account now, as
// if they had clicked Accept on LinkedIn, whether or not one was sent. It
// reports false for an unknown team.
func (s *Sandbox) Accept(team, urn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasTeam(team) {
		return false
	}
	now := s.opts.Now()
	if at, ok := s.acceptedAt(team, urn, now); ok && !at.After(now) {
		return true
	}
	if s.accepted[team] == nil {
		s.accepted[team] = map[string]time.Time{}
	}
	s.accepted[team][urn] = now
	return true
}

// Connections returns the people who have accepted team's connection
// requests by now, in the order they accepted. Implicit connections (every
// URN but the NotConnected, Accepts and Ignores ones) are not listed, as in
// Fetch Connections.
func (s *Sandbox) Connections(team string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var urns []string
	for _, c := range s.connections(team, s.opts.Now()) {
		urns = append(urns, c.urn)
	}
	return urns
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
	case outx.PathSendMessage, outx.PathFetchProfile, outx.PathSendConnectionRequest, outx.PathFetchConnections:
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
	case outx.PathSendConnectionRequest:
		s.sendConnectionRequest(w, r, team, fault)
	case outx.PathFetchConnections:
		s.fetchConnections(w, r, team, fault)
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
	first, refused := s.refuseFirstSend(w, team, outx.PathSendMessage, urn)
	if refused {
		return
	}

	t := s.newTask(team, TypeSendMessage)
	t.RecipientURN, t.Message = urn, msg
	t.outcome, t.finalOut = outx.StatusCompleted, json.RawMessage(`{"sent":true}`)
	switch {
	case hasPrefix(urn, NotConnected), hasPrefix(urn, Accepts), hasPrefix(urn, Ignores):
		// Whether they are connected is known only when the extension
		// performs the task: they may accept in the meantime.
		t.settle = func(at time.Time) (outx.TaskStatus, json.RawMessage) {
			if _, ok := s.acceptedAt(team.Name, urn, at); ok {
				return outx.StatusCompleted, json.RawMessage(`{"sent":true}`)
			}
			return outx.StatusFailed, errorJSON(TextNotConnected)
		}
	case hasPrefix(urn, Unsent):
		t.finalOut = json.RawMessage(`{"sent":false,"error":"LinkedIn did not send the message"}`)
	}
	s.queueSend(w, r, t, fault, first, "Send message task created successfully")
}

// sendConnectionRequest validates as OutX does, then creates a task whose
// outcome depends on whether the person is already connected when it is
// performed.
func (s *Sandbox) sendConnectionRequest(w http.ResponseWriter, r *http.Request, team Team, fault *Fault) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	urn, ok := jsonString(body, "profile_urn")
	if !ok || !isPersonURN(urn) {
		writeError(w, http.StatusBadRequest, TextInvalidProfileURN)
		return
	}
	var note string
	if raw, present := body["note"]; present && string(raw) != "null" {
		if note, ok = jsonString(body, "note"); !ok {
			writeError(w, http.StatusBadRequest, TextInvalidNote)
			return
		}
	}
	if outx.MessageLength(strings.TrimFunc(note, outx.IsJSWhitespace)) > outx.MaxNoteLength {
		writeError(w, http.StatusBadRequest, TextNoteTooLong)
		return
	}
	first, refused := s.refuseFirstSend(w, team, outx.PathSendConnectionRequest, urn)
	if refused {
		return
	}

	t := s.newTask(team, TypeSendConnectionRequest)
	t.RecipientURN, t.Note = urn, note
	if hasPrefix(urn, Unsent) {
		t.outcome, t.finalOut = outx.StatusCompleted, json.RawMessage(`{"sent":false,"error":"LinkedIn did not send the invitation"}`)
	} else {
		implicit := !hasPrefix(urn, NotConnected) && !hasPrefix(urn, Accepts) && !hasPrefix(urn, Ignores)
		t.settle = func(at time.Time) (outx.TaskStatus, json.RawMessage) {
			if _, ok := s.acceptedAt(team.Name, urn, at); implicit || ok {
				return outx.StatusCompleted, json.RawMessage(`{"sent":false,"already_connected":true}`)
			}
			return outx.StatusCompleted, json.RawMessage(`{"sent":true}`)
		}
	}
	s.mu.Lock()
	if s.invitations[team.Name] == nil {
		s.invitations[team.Name] = map[string][]*task{}
	}
	s.invitations[team.Name][urn] = append(s.invitations[team.Name][urn], t)
	s.mu.Unlock()
	s.queueSend(w, r, t, fault, first, "Send connection request task created successfully")
}

// refuseFirstSend applies what send-message and send-connection-request
// share before a task exists: the team needs an admin, and the first send of
// each kind to a RateLimitedOnce or UnavailableOnce person is refused. first
// reports whether this is that first send.
func (s *Sandbox) refuseFirstSend(w http.ResponseWriter, team Team, path, urn string) (first, refused bool) {
	if team.NoAdmin {
		writeError(w, http.StatusNotFound, TextNoAdmin)
		return false, true
	}
	s.mu.Lock()
	s.sendsTo[path+" "+urn]++
	first = s.sendsTo[path+" "+urn] == 1
	s.mu.Unlock()
	switch {
	case first && hasPrefix(urn, RateLimitedOnce):
		writeError(w, http.StatusTooManyRequests, TextRateLimited)
		return first, true
	case first && hasPrefix(urn, UnavailableOnce):
		writeError(w, http.StatusServiceUnavailable, "Service temporarily unavailable")
		return first, true
	}
	return first, false
}

// queueSend stores a send's task, applying the recipient's pacing (Slow,
// Stuck) and the LostAnswerOnce behaviour, and answers.
func (s *Sandbox) queueSend(w http.ResponseWriter, r *http.Request, t *task, fault *Fault, first bool, text string) {
	switch urn := t.RecipientURN; {
	case hasPrefix(urn, Slow):
		t.due = t.CreatedAt.Add(s.opts.SlowDelay)
	case hasPrefix(urn, Stuck):
		t.stuck = true
	}
	s.store(t)
	if first && hasPrefix(t.RecipientURN, LostAnswerOnce) {
		loseAnswer()
	}
	s.answerCreated(w, r, t, fault, text)
}

// fetchConnections creates a task whose output lists the team's accepted
// connections as of the moment it completes.
func (s *Sandbox) fetchConnections(w http.ResponseWriter, r *http.Request, team Team, fault *Fault) {
	if !readOptionalBody(w, r) {
		return
	}
	if team.NoAdmin {
		writeError(w, http.StatusNotFound, TextNoAdmin)
		return
	}
	t := s.newTask(team, TypeFetchConnections)
	t.settle = func(at time.Time) (outx.TaskStatus, json.RawMessage) {
		type entry struct {
			ProfileURN  string `json:"profile_urn"`
			ConnectedAt string `json:"connected_at"`
		}
		list := []entry{}
		for _, c := range s.connections(team.Name, at) {
			list = append(list, entry{c.urn, c.at.UTC().Format(time.RFC3339)})
		}
		out, _ := json.Marshal(map[string]any{"connections": list})
		return outx.StatusCompleted, out
	}
	s.store(t)
	s.answerCreated(w, r, t, fault, "Fetch connections task created successfully")
}

type connection struct {
	urn string
	at  time.Time
}

// connections lists who accepted team's connection requests by at, in the
// order they accepted. Called with s.mu held.
func (s *Sandbox) connections(team string, at time.Time) []connection {
	var out []connection
	seen := map[string]bool{}
	consider := func(urn string) {
		if seen[urn] {
			return
		}
		seen[urn] = true
		if when, ok := s.acceptedAt(team, urn, at); ok {
			out = append(out, connection{urn, when})
		}
	}
	for urn := range s.accepted[team] {
		consider(urn)
	}
	for urn := range s.invitations[team] {
		consider(urn)
	}
	slices.SortFunc(out, func(a, b connection) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.urn, b.urn)
	})
	return out
}

// acceptedAt is when urn accepted a connection request from team's account,
// if they had by at: at Accept, or AcceptDelay after an Accepts person's
// request was performed. Called with s.mu held; it brings those requests up
// to at first.
func (s *Sandbox) acceptedAt(team, urn string, at time.Time) (time.Time, bool) {
	when, ok := s.accepted[team][urn]
	if hasPrefix(urn, Accepts) {
		for _, inv := range s.invitations[team][urn] {
			if !inv.stuck && !inv.due.After(at) {
				s.advance(inv, at)
			}
			if inv.FinishedAt.IsZero() || !sentJSON(inv.Output) {
				continue // unfinished, or being settled now
			}
			if a := inv.FinishedAt.Add(s.opts.AcceptDelay); !ok || a.Before(when) {
				when, ok = a, true
			}
		}
	}
	if !ok || when.After(at) {
		return time.Time{}, false
	}
	return when, true
}

func sentJSON(out json.RawMessage) bool {
	return outx.Task{Status: outx.StatusCompleted, Output: out}.Sent()
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
	t := s.newTask(team, TypeFetchProfile)
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
	switch t.Type {
	case TypeSendMessage:
		input["recipient_urn"], input["message"] = t.RecipientURN, t.Message
	case TypeFetchProfile:
		input["profile_slug"] = t.ProfileSlug
	case TypeSendConnectionRequest:
		input["profile_urn"] = t.RecipientURN
		if t.Note != "" {
			input["note"] = t.Note
		}
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
		// FinishedAt first: a settle that looks at other tasks then sees
		// this one as taken care of, and does not settle it again.
		t.FinishedAt = t.due
		if t.settle != nil {
			t.outcome, t.finalOut = t.settle(t.due)
		}
		t.Status, t.Output = t.outcome, t.finalOut
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

func (s *Sandbox) hasTeam(name string) bool {
	for _, t := range s.opts.Teams {
		if t.Name == name {
			return true
		}
	}
	return false
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

// readOptionalBody accepts an empty body or any JSON object, for endpoints
// without documented fields.
func readOptionalBody(w http.ResponseWriter, r *http.Request) bool {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "Request body too large")
		return false
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return true
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(data, &body); err != nil || body == nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON body")
		return false
	}
	return true
}

// isPersonURN is OutX's check of a person URN as the sandbox models it.
func isPersonURN(urn string) bool {
	id, ok := strings.CutPrefix(urn, "urn:li:person:")
	return ok && urnID.MatchString(id)
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
//	POST   /_sandbox/connections {"team": "sandbox", "profile_urn": "urn:li:person:…"}
//	                            makes the person accept a connection request
//	                            from the team's account now (team defaults to
//	                            "sandbox")
//	GET    /_sandbox/connections?team=sandbox  who has accepted, as JSON
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
	mux.HandleFunc("POST "+AdminPrefix+"connections", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Team       string `json:"team"`
			ProfileURN string `json:"profile_urn"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&body); err != nil || !isPersonURN(body.ProfileURN) {
			writeError(w, http.StatusBadRequest, `connections: want {"team": "<name>", "profile_urn": "urn:li:person:<id>"}`)
			return
		}
		if body.Team == "" {
			body.Team = DefaultTeam
		}
		if !s.Accept(body.Team, body.ProfileURN) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("connections: no team %q", body.Team))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+AdminPrefix+"connections", func(w http.ResponseWriter, r *http.Request) {
		team := r.URL.Query().Get("team")
		if team == "" {
			team = DefaultTeam
		}
		if !s.hasTeam(team) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("connections: no team %q", team))
			return
		}
		urns := s.Connections(team)
		if urns == nil {
			urns = []string{}
		}
		writeJSON(w, http.StatusOK, urns)
	})
	return mux
}
