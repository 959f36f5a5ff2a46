package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/outpacehq/outpace/inbound/api"
)

// decode reads a request's body into v: a JSON object of at most MaxBody
// bytes, with no unknown field, no field of the wrong type, nothing after
// it. Each refusal is an *api.Error that names the field at fault.
func decode(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return &api.Error{Status: http.StatusUnsupportedMediaType, Code: api.CodeUnsupportedMedia,
			Message: fmt.Sprintf("the body must be JSON with Content-Type: application/json (got %q)", clip(ct))}
	}
	if r.ContentLength > MaxBody {
		return tooLarge()
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge()
	case err != nil:
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadJSON, Message: "the body could not be read: " + err.Error()}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadJSON, Message: "the body is empty: send one JSON object"}
	}
	if t := bytes.TrimSpace(data); t[0] != '{' {
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeWrongType, Message: "the body must be one JSON object {…}"}
	}
	if err := checkKeys(data, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadJSON, Message: "the body must hold one JSON object and nothing after it"}
	}
	return nil
}

// checkKeys refuses a top-level key that is not exactly one of v's JSON
// field names (encoding/json would match "Person" to "person"), and a key
// given twice (which one wins differs between parsers: a way to smuggle a
// value past a proxy that checks the first).
func checkKeys(data []byte, v any) error {
	known := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		known[name] = true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // {
		return jsonError(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(err)
		}
		key, _ := tok.(string)
		switch {
		case !known[key]:
			return &api.Error{Status: http.StatusBadRequest, Code: api.CodeUnknownField, Field: clip(key),
				Message: fmt.Sprintf("unknown field %q: see the endpoint's fields in GET /v1/openapi.yaml", clip(key))}
		case seen[key]:
			return &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalid, Field: key,
				Message: fmt.Sprintf("field %q is given twice", key)}
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return jsonError(err)
		}
	}
	return nil
}

func tooLarge() error {
	return &api.Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeTooLarge,
		Message: fmt.Sprintf("the body is larger than %d bytes", MaxBody)}
}

// jsonError names what encoding/json refused.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ):
		field := typ.Field
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeWrongType, Field: field,
			Message: fmt.Sprintf("%s must be a %s, not a JSON %s", fieldOr(field), typeName(typ.Type.Kind().String()), typ.Value)}
	case errors.As(err, &syn):
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadJSON, Message: fmt.Sprintf("not valid JSON at byte %d: %v", syn.Offset, err)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadJSON, Message: "the JSON ends too early"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeUnknownField, Field: clip(field),
			Message: fmt.Sprintf("unknown field %q: see the endpoint's fields in GET /v1/openapi.yaml", clip(field))}
	}
	return &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadJSON, Message: err.Error()}
}

func fieldOr(f string) string {
	if f == "" {
		return "the body"
	}
	return f
}

func typeName(kind string) string {
	switch kind {
	case "struct", "map":
		return "JSON object"
	case "slice", "array":
		return "JSON array"
	}
	return kind
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
