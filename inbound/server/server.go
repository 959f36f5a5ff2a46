// Package server is the inbound HTTP server: it lets a team's other tools
// (a CRM, an inbox tool, a webhook receiver) stop a person, put them on or
// take them off the do-not-contact list, and read their status. It holds a
// Temporal client (for stops, through package stops) and the contacts store
// (for the list and the ledger), never an OutX key.
//
// Every call but GET /healthz and GET /v1/openapi.yaml needs a bearer token
// from the tokens file; every accepted call is logged with the token's
// name. Bodies are JSON objects of at most MaxBody bytes, with no unknown
// field. The contract is api/openapi.yaml, which a test checks the server
// against.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"

	"github.com/outpacehq/outpace/contacts"
	"github.com/outpacehq/outpace/inbound/api"
	"github.com/outpacehq/outpace/stops"
)

// MaxBody is the largest request body accepted (413 past it).
const MaxBody = 64 << 10

// CallTimeout bounds the work of one call (Temporal's and the store's).
const CallTimeout = 30 * time.Second

// Server serves the inbound API.
type Server struct {
	// Stopper sends stops through Temporal; its Client also lists the
	// runs of a person.
	Stopper *stops.Stopper
	// Store is the contacts store: the do-not-contact list and the
	// ledger. Nil: those endpoints answer 503 no_store.
	Store  contacts.Store
	Tokens *Tokens
	Logger *zap.Logger
	// Now is the clock (tests set it); nil is time.Now.
	Now func() time.Time
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// route is one endpoint: its path pattern and a handler per method.
type route struct {
	pattern string
	public  bool // no token needed
	methods map[string]handlerFunc
}

// handlerFunc answers one call: a value to write as JSON with 200, or an
// *api.Error.
type handlerFunc func(ctx context.Context, r *http.Request) (any, error)

func (s *Server) routes() []route {
	return []route{
		{pattern: "/healthz", public: true, methods: map[string]handlerFunc{http.MethodGet: s.health}},
		{pattern: "/v1/openapi.yaml", public: true, methods: map[string]handlerFunc{http.MethodGet: nil}},
		{pattern: "/v1/stops", methods: map[string]handlerFunc{http.MethodPost: s.stop}},
		{pattern: "/v1/dnc", methods: map[string]handlerFunc{http.MethodPost: s.addDNC}},
		{pattern: "/v1/dnc/{person}", methods: map[string]handlerFunc{http.MethodDelete: s.removeDNC}},
		{pattern: "/v1/people/{person}", methods: map[string]handlerFunc{http.MethodGet: s.person}},
	}
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.serve(rt))
	}
	mux.Handle("/", s.serve(route{pattern: "/"}))
	return mux
}

// serve runs the checks every call goes through, in this order: the
// token (so that nothing, not even which routes exist, is told without
// one), the method, then the handler; and logs the call.
func (s *Server) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID()
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		tokenName := ""
		if !rt.public {
			name, err := s.authenticate(r)
			if err != nil {
				s.fail(w, r, rt.pattern, id, "", start, err)
				return
			}
			tokenName = name
		}
		if rt.methods == nil {
			s.fail(w, r, rt.pattern, id, tokenName, start, &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound,
				Message: "no such endpoint: see GET /v1/openapi.yaml"})
			return
		}
		h, ok := rt.methods[r.Method]
		if !ok {
			var allowed []string
			for m := range rt.methods {
				allowed = append(allowed, m)
			}
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			s.fail(w, r, rt.pattern, id, tokenName, start, &api.Error{Status: http.StatusMethodNotAllowed, Code: api.CodeMethodNotAllowed,
				Message: r.Method + " is not allowed on " + rt.pattern + "; allowed: " + strings.Join(allowed, ", ")})
			return
		}
		if rt.pattern == "/v1/openapi.yaml" {
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write(api.OpenAPI)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), CallTimeout)
		defer cancel()
		out, err := h(ctx, r)
		if err != nil {
			s.fail(w, r, rt.pattern, id, tokenName, start, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
		if !rt.public {
			s.Logger.Info("call", zap.String("token", tokenName), zap.String("method", r.Method), zap.String("route", rt.pattern),
				zap.Int("status", http.StatusOK), zap.Duration("took", time.Since(start)), zap.String("request_id", id),
				zap.String("remote", r.RemoteAddr))
		}
	})
}

// authenticate checks the Authorization header's bearer token; it answers
// the token's name. The token itself is never logged nor repeated.
func (s *Server) authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(h, " ")
	if h == "" {
		return "", &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
			Message: "no bearer token: send Authorization: Bearer <token> (a token from the server's tokens file)"}
	}
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
			Message: "the Authorization header must be \"Bearer <token>\""}
	}
	name, ok, err := s.Tokens.Check(strings.TrimSpace(token))
	if err != nil {
		s.Logger.Error("the tokens file cannot be used: every call is refused until it is fixed", zap.Error(err))
		return "", &api.Error{Status: http.StatusServiceUnavailable, Code: api.CodeUnavailable,
			Message: "the server's tokens file cannot be read: every call is refused until it is fixed (see the server's log)"}
	}
	if !ok {
		return "", &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized,
			Message: "the bearer token is not valid (unknown or revoked)"}
	}
	return name, nil
}

// fail writes err as a JSON error and logs the refusal (with the token's
// name once it is known, never the token, nor the person).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, pattern, id, tokenName string, start time.Time, err error) {
	e := asAPIError(err)
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="outpace-inbound"`)
	}
	writeJSON(w, e.Status, api.ErrorBody{Error: *e})
	// A route's pattern, not its path, which may name the person; an
	// unknown route's path, clipped (zap escapes it).
	where := zap.String("route", pattern)
	if pattern == "/" {
		where = zap.String("path", clip(r.URL.EscapedPath()))
	}
	fields := []zap.Field{zap.String("method", r.Method), where,
		zap.Int("status", e.Status), zap.String("code", e.Code), zap.Duration("took", time.Since(start)),
		zap.String("request_id", id), zap.String("remote", r.RemoteAddr)}
	if tokenName != "" {
		fields = append(fields, zap.String("token", tokenName))
	}
	if e.Status >= 500 {
		s.Logger.Error("call failed", append(fields, zap.String("message", e.Message))...)
		return
	}
	s.Logger.Warn("call refused", fields...)
}

// asAPIError turns any error into the *api.Error to answer: a handler's
// own, or a stop's error by its kind.
func asAPIError(err error) *api.Error {
	var e *api.Error
	var fe *stops.FieldError
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &fe):
		field := fe.Field
		if field == "recipient_urn" {
			field = "person"
		}
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalid, Field: field, Message: fe.Message}
	case errors.Is(err, stops.ErrNotFound):
		return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Field: "campaign", Message: err.Error()}
	case errors.Is(err, stops.ErrNotRunning):
		return &api.Error{Status: http.StatusConflict, Code: api.CodeNotRunning, Field: "campaign", Message: err.Error()}
	case errors.Is(err, contacts.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.As(err, &unavailable), errors.As(err, &deadline):
		return &api.Error{Status: http.StatusServiceUnavailable, Code: api.CodeUnavailable, Message: err.Error()}
	}
	return &api.Error{Status: http.StatusInternalServerError, Code: api.CodeInternal, Message: err.Error()}
}

func (s *Server) health(ctx context.Context, r *http.Request) (any, error) {
	return map[string]string{"status": "ok"}, nil
}

// requestID names one call in the log and in the X-Request-Id header.
func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
