package outx

import (
	"encoding/json"
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

func stringField(m map[string]json.RawMessage, key string) string {
	var s string
	if raw, ok := m[key]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}
