package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/internal/logging"
)

func TestJSONLogsCarryTemporalFields(t *testing.T) {
	var buf bytes.Buffer
	z, err := logging.New(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	logging.Temporal(z).Info("Started Worker", "TaskQueue", "outpace", "Attempt", 2)
	logging.Temporal(z).Debug("hidden below the level")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, buf.String())
	}
	if line["msg"] != "Started Worker" || line["TaskQueue"] != "outpace" || line["Attempt"] != float64(2) || line["level"] != "info" {
		t.Fatalf("line = %v", line)
	}
}

func TestConsoleIsTheDefault(t *testing.T) {
	var buf bytes.Buffer
	z, err := logging.New(&buf, "", "info")
	if err != nil {
		t.Fatal(err)
	}
	z.Info("hello")
	if !strings.Contains(buf.String(), "INFO\thello") {
		t.Fatalf("console line = %q", buf.String())
	}
}

func TestBadSettingsNameTheFlag(t *testing.T) {
	if _, err := logging.New(nil, "xml", "info"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("format: %v", err)
	}
	if _, err := logging.New(nil, "json", "loud"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("level: %v", err)
	}
}
