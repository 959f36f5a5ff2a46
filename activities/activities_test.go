package activities_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/outx"
	"github.com/outpacehq/outpace/outx/outxtest"
)

func env(t *testing.T, baseURL string) *testsuite.TestActivityEnvironment {
	t.Helper()
	client, err := outx.New(baseURL, outxtest.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	e.RegisterActivity(&activities.Activities{OutX: client, PollInterval: 5 * time.Millisecond, PollBurst: 100 * time.Millisecond})
	return e
}

func errorType(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type()
	}
	return ""
}

// sendAnswers are OutX's answers to a request that creates a task (a
// message, a connection request), and the error type each must become: only
// answers that certainly created no task are anything but Ambiguous.
var sendAnswers = []struct {
	fault outxtest.Fault
	want  string
}{
	{outxtest.Fault{Status: http.StatusBadRequest}, activities.ErrInvalidInput},
	{outxtest.Fault{Status: http.StatusUnauthorized}, activities.ErrUnauthorized},
	{outxtest.Fault{Status: http.StatusForbidden}, activities.ErrExtensionOffline},
	{outxtest.Fault{Status: http.StatusNotFound}, activities.ErrNoAdmin},
	{outxtest.Fault{Status: http.StatusTooManyRequests}, activities.ErrRateLimited},
	{outxtest.Fault{Status: http.StatusServiceUnavailable}, activities.ErrNotSent},
	{outxtest.Fault{Status: http.StatusInternalServerError}, activities.ErrAmbiguous},
	{outxtest.Fault{Status: http.StatusBadGateway}, activities.ErrAmbiguous},
	{outxtest.Fault{Status: http.StatusGatewayTimeout}, activities.ErrAmbiguous},
	{outxtest.Fault{LoseAnswer: true}, activities.ErrAmbiguous},
}

// TestSendErrorTypes: every OutX answer maps to the type the workflow acts
// on, and only answers that certainly created no task are anything but
// Ambiguous.
func TestSendErrorTypes(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{})
	defer sb.Close()
	e := env(t, sb.URL)
	var a *activities.Activities
	in := activities.SendInput{RecipientURN: "urn:li:person:abc", Message: "hi"}
	for _, tc := range sendAnswers {
		tc.fault.Times = 1
		sb.Inject(tc.fault)
		_, err := e.ExecuteActivity(a.Send, in)
		if got := errorType(err); got != tc.want {
			t.Errorf("%+v: type %q, want %q (%v)", tc.fault, got, tc.want, err)
		}
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := env(t, "http://"+addr).ExecuteActivity(a.Send, in)
	if got := errorType(err); got != activities.ErrNotSent {
		t.Errorf("connection refused: type %q, want NotSent (%v)", got, err)
	}
}

func TestPollStatusFirstAttemptBurstsThenHandsOver(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{})
	defer sb.Close()
	e := env(t, sb.URL)
	var a *activities.Activities
	created, err := outxClient(t, sb.URL).SendMessage(t.Context(), outx.SendMessageRequest{RecipientURN: outxtest.Stuck + "-1", Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = e.ExecuteActivity(a.PollStatus, activities.PollInput{TaskID: created.TaskID})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTaskPending || app.NonRetryable() {
		t.Fatalf("err = %v, want a retryable TaskPending", err)
	}
	var progress struct{ Polls int }
	if err := app.Details(&progress); err != nil || progress.Polls < 10 {
		t.Fatalf("polls = %d (%v): the first attempt should poll for its whole burst", progress.Polls, err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("the attempt took %s; it must end after its burst", elapsed)
	}
	if !strings.Contains(app.Error(), "status pending") {
		t.Fatalf("message %q does not say what was last seen", app.Error())
	}

	if !sb.Finish(created.TaskID, true) {
		t.Fatal("could not finish the task")
	}
	v, err := e.ExecuteActivity(a.PollStatus, activities.PollInput{TaskID: created.TaskID})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.PollResult
	if err := v.Get(&res); err != nil || !res.Sent || res.Status != outx.StatusCompleted {
		t.Fatalf("result = %+v, %v", res, err)
	}
}

func TestPollStatusStopsOnUnknownTask(t *testing.T) {
	sb := outxtest.NewServer(outxtest.Options{})
	defer sb.Close()
	var a *activities.Activities
	_, err := env(t, sb.URL).ExecuteActivity(a.PollStatus, activities.PollInput{TaskID: "no-such-task"})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.ErrTaskNotFound || !app.NonRetryable() {
		t.Fatalf("err = %v, want a non-retryable TaskNotFound", err)
	}
}

func outxClient(t *testing.T, url string) *outx.Client {
	c, err := outx.New(url, outxtest.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
