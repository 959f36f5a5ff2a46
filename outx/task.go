package outx

import (
	"encoding/json"
	"slices"
	"strings"
)

// TaskStatus is a task's state as OutX reports it. The REST documentation
// lists pending and completed; OutX's own client also handles processing and
// failed. Any other value is kept as is and treated as not finished.
type TaskStatus string

const (
	StatusPending    TaskStatus = "pending"
	StatusProcessing TaskStatus = "processing"
	StatusCompleted  TaskStatus = "completed"
	StatusFailed     TaskStatus = "failed"
)

// Task is the data of Get Task Status. Input and Output are kept raw: their
// shapes depend on the task type and are only partly documented.
type Task struct {
	ID     string          `json:"id"`
	Status TaskStatus      `json:"status"`
	Input  json.RawMessage `json:"task_input,omitempty"`
	Output json.RawMessage `json:"task_output,omitempty"` // nil until the task finishes
}

// Finished reports whether the task reached a final status. Unknown statuses
// are not final: polling goes on until a deadline.
func (t Task) Finished() bool {
	return t.Status == StatusCompleted || t.Status == StatusFailed
}

// Sent reports whether a finished message or connection-request task was
// performed: status completed with task_output {"sent": true}. Anything else
// in a finished task is a failure whose reason is FailureReason.
func (t Task) Sent() bool {
	if t.Status != StatusCompleted {
		return false
	}
	var out struct {
		Sent *bool `json:"sent"`
	}
	return json.Unmarshal(t.Output, &out) == nil && out.Sent != nil && *out.Sent
}

// FailureReason is OutX's raw explanation of a finished task that was not
// sent: the task_output JSON when there is one, else the status.
func (t Task) FailureReason() string {
	out := strings.TrimSpace(string(t.Output))
	if out == "" || out == "null" {
		return "task " + string(t.Status) + " with no output"
	}
	// Prefer a readable error text when OutX gave one.
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	if json.Unmarshal(t.Output, &e) == nil {
		for _, s := range []string{e.Error, e.Reason, e.Message} {
			if s != "" {
				return s
			}
		}
	}
	return out
}

// ProfileURN is the profile_urn of a finished Fetch Profile task, looked up at
// the top of task_output or one object down (the shape is not documented).
func (t Task) ProfileURN() (string, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(t.Output, &top) != nil {
		return "", false
	}
	if urn := stringField(top, "profile_urn"); urn != "" {
		return urn, true
	}
	for _, v := range top {
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) == nil {
			if urn := stringField(inner, "profile_urn"); urn != "" {
				return urn, true
			}
		}
	}
	return "", false
}

// AlreadyConnected reports whether a finished connection-request task found
// the person already a 1st-degree connection, so no invitation was sent:
// task_output {"sent": false, "already_connected": true}. Such a task is not
// Sent, yet the person can be messaged.
func (t Task) AlreadyConnected() bool {
	if !t.Finished() {
		return false
	}
	var out struct {
		AlreadyConnected bool `json:"already_connected"`
	}
	return json.Unmarshal(t.Output, &out) == nil && out.AlreadyConnected
}

// Connections is the profile URNs listed in a finished Fetch Connections
// task's output. OutX does not document the shape, so it accepts a list of
// URN strings or of objects with a profile_urn (or urn), found as the whole
// output, under "connections", or under "connections" one object down (e.g.
// {"data": {"connections": [...]}}). ok is false when no such list is found,
// or when an entry of it has no URN: a shape misread would otherwise look
// like "nobody is connected", and stay wrong unnoticed.
func (t Task) Connections() (urns []string, ok bool) {
	if list, ok := connectionList(t.Output); ok {
		return list, true
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(t.Output, &top) != nil {
		return nil, false
	}
	if raw, found := top["connections"]; found {
		return connectionList(raw)
	}
	// One object down, in key order so the answer does not depend on map
	// iteration.
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var inner map[string]json.RawMessage
		if json.Unmarshal(top[k], &inner) != nil {
			continue
		}
		if raw, found := inner["connections"]; found {
			return connectionList(raw)
		}
	}
	return nil, false
}

// connectionList reads a JSON array whose entries are URN strings or objects
// naming a profile_urn or urn.
func connectionList(raw json.RawMessage) ([]string, bool) {
	var entries []json.RawMessage
	if json.Unmarshal(raw, &entries) != nil || entries == nil {
		return nil, false
	}
	urns := make([]string, 0, len(entries))
	for _, e := range entries {
		var urn string
		if json.Unmarshal(e, &urn) != nil {
			var obj map[string]json.RawMessage
			if json.Unmarshal(e, &obj) != nil {
				return nil, false
			}
			if urn = stringField(obj, "profile_urn"); urn == "" {
				urn = stringField(obj, "urn")
			}
		}
		if urn == "" {
			return nil, false
		}
		urns = append(urns, urn)
	}
	return urns, true
}

func stringField(m map[string]json.RawMessage, key string) string {
	var s string
	if raw, ok := m[key]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}
