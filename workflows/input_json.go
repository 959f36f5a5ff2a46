package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// Inputs come from any client, the temporal CLI among them, and a value of
// the wrong type ("daily_cap": "5") would otherwise fail the run inside the
// SDK, before the workflow starts, as a retryable "unable to decode" error
// of no particular type. Instead, the input is read as far as it goes and
// the mistake, naming the field and the rule, becomes the run's own
// invalid outcome (MessageInvalid, InvalidCampaign) like any other rule.

// UnmarshalJSON reads a SendMessage input, keeping a mistyped field as the
// input's problem rather than an error.
func (in *SendMessageInput) UnmarshalJSON(b []byte) error {
	type plain SendMessageInput
	err := json.Unmarshal(b, (*plain)(in))
	in.inputErr = inputError(err)
	return nil
}

// UnmarshalJSON reads a Campaign input, keeping a mistyped field as the
// input's problem rather than an error.
func (in *CampaignInput) UnmarshalJSON(b []byte) error {
	type plain CampaignInput
	err := json.Unmarshal(b, (*plain)(in))
	in.inputErr = inputError(err)
	return nil
}

// inputError says which field could not be read and what it must be.
func inputError(err error) string {
	if err == nil {
		return ""
	}
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) {
		return "input: " + err.Error()
	}
	field := typ.Field
	if field == "" {
		field = "input"
	}
	return fmt.Sprintf("%s: got %s, want %s", field, typ.Value, jsonKind(typ.Type))
}

// jsonKind describes what a Go type accepts in JSON, for a person.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch {
	case t == reflect.TypeFor[Duration]():
		return `a duration such as "90s", "15m" or "24h", or a number of seconds`
	case t == reflect.TypeFor[time.Time]():
		return "a time such as 2026-01-02T15:04:05Z"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}
