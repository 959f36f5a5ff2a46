package workflows

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/pacer"
	"github.com/outpacehq/outpace/pacing"
	"github.com/outpacehq/outpace/recipients"
)

// CampaignWorkflow is the Campaign workflow's type name.
const CampaignWorkflow = "Campaign"

// Names of the campaign's signals and query. Signals, not updates, so that
// `temporal workflow signal --name pause` controls a campaign too.
const (
	// SignalPause holds the campaign before its next send (a PauseRequest).
	SignalPause = "pause"
	// SignalResume lets a paused campaign go on.
	SignalResume = "resume"
	// SignalRecipientWait is sent by a campaign's child run (a RecipientWait).
	SignalRecipientWait = "recipient-wait"
	// QueryProgress returns a CampaignProgress.
	QueryProgress = "progress"
)

// Pacing defaults, inside OutX's guidance (30 to 60 seconds at least between
// messages, at most about 50 actions an hour) and what careful outreach tools
// ship: 20 to 50 messages a day in working hours, weekends off.
const (
	DefaultMinGap      = pacer.DefaultMinGap
	DefaultMaxGap      = pacer.DefaultMaxGap
	DefaultHourlyCap   = pacer.DefaultHourlyCap
	DefaultDailyCap    = pacer.DefaultDailyCap
	DefaultTimeZone    = pacer.DefaultTimeZone
	DefaultDays        = pacer.DefaultDays
	DefaultHours       = pacer.DefaultHours
	DefaultPageSize    = 100
	MaxPageSize        = 1000
	DefaultRunEvents   = 2500
	MaxInlineRecipient = 1000
	// MaxActiveSequences bounds a campaign's sequences in progress at once
	// (Temporal limits a run's pending children to 2,000).
	MaxActiveSequences = 1000
	// DefaultCampaignSendDeadline is how long a campaign's message keeps
	// retrying sends that OutX refused without creating a task (extension
	// offline, rate limit): the campaign waits with it, so it is long.
	DefaultCampaignSendDeadline = 72 * time.Hour
)

// CampaignInput is the input of the Campaign workflow. Either Recipients
// (at most MaxInlineRecipient) or RecipientsFile names the recipients.
type CampaignInput struct {
	// CampaignID names the campaign in child workflow ids and the CampaignId
	// search attribute. Default: the workflow id.
	CampaignID string `json:"campaign_id,omitempty"`
	Name       string `json:"name,omitempty"`
	// RecipientKey, when set, is the base64 of 32 random bytes with which
	// the campaign names recipients by pseudonyms (RecipientPseudonym) in
	// its children's workflow ids and RecipientUrn search attribute, which
	// payload encryption cannot hide. The starter sets it when it encrypts
	// payloads, and reuses it when the campaign is started again under the
	// same id, so that nobody is messaged twice. It is a secret: it travels
	// only inside the encrypted input.
	RecipientKey string `json:"recipient_key,omitempty"`
	// Template is the message, with {{variable}} placeholders filled from
	// each recipient's columns. A campaign has a Template (one message per
	// recipient) or Steps (a sequence per recipient), not both.
	Template string `json:"template,omitempty"`
	// Variants, instead of Template, are versions of the message, each
	// sent to a share of the recipients by its weight (an A/B test): each
	// recipient's is drawn from the campaign id, the recipient and the
	// step, so it is the same on a replay and a restart.
	Variants []Variant `json:"variants,omitempty"`
	// Steps is the sequence applied to each recipient, in order.
	Steps []Step `json:"steps,omitempty"`
	// Sender names the OutX account (configured in the worker) the campaign
	// acts from; default "default".
	Sender         string                     `json:"sender,omitempty"`
	Recipients     []recipients.Recipient     `json:"recipients,omitempty"`
	RecipientsFile *activities.RecipientsFile `json:"recipients_file,omitempty"`
	Pacing         Pacing                     `json:"pacing,omitzero"`
	Window         SendingWindow              `json:"window,omitzero"`
	// SendDeadline and PollDeadline apply to each message (see
	// SendMessageInput). SendDeadline defaults to 72h in a campaign.
	SendDeadline Duration `json:"send_deadline,omitzero"`
	PollDeadline Duration `json:"poll_deadline,omitzero"`
	// PageSize is how many recipients are read at a time (default 100).
	PageSize int `json:"page_size,omitempty"`
	// MaxRunEvents is the history length after which the campaign continues
	// as new, after the recipient being handled (default 2500, under the
	// 4096 at which Temporal suggests it).
	MaxRunEvents int `json:"max_run_events,omitempty"`
	// StartAt is when a scheduled campaign starts. The starter also delays
	// the run's first task until then (Temporal's start delay); a signal or
	// a cancellation wakes the run early, and it then waits for StartAt
	// itself, doing nothing else meanwhile. Zero: at once.
	StartAt time.Time `json:"start_at,omitzero"`
	// ContactPolicy says which earlier contacts by other campaigns make
	// this one skip a person (default: the same account within 90 days),
	// or "allow"; the do-not-contact list holds whatever it says. Each
	// message and step is checked in the contacts store as it is sent.
	ContactPolicy *ContactPolicy `json:"contact_policy,omitempty"`

	// State is set by the campaign itself when it continues as new.
	State *CampaignState `json:"state,omitempty"`

	inputErr string // a field that could not be read (input_json.go)
}

// Pacing spaces a campaign's OutX tasks; SendingWindow is when it may act;
// CampaignLimits are both, as the account's pacer applies them. They are
// defined with the pacer's contract, which carries them.
type (
	Pacing         = pacer.Pacing
	SendingWindow  = pacer.SendingWindow
	CampaignLimits = pacer.CampaignLimits
	// Duration is a time.Duration written in JSON as Go's duration text.
	Duration = pacer.Duration
)

// CampaignState is what a campaign carries through continue-as-new: its
// position, its counters and its pacing memory, never its recipients.
type CampaignState struct {
	Run       int       `json:"run"`
	StartedAt time.Time `json:"started_at"`
	Total     int       `json:"total"`
	// Cursor is where the current page starts; PageDone counts the
	// recipients of that page already handled (a run may end mid-page).
	Cursor   recipients.Cursor `json:"cursor"`
	PageDone int               `json:"page_done,omitempty"`
	Counts   Counts            `json:"counts"`
	// Paused is the operator's pause, with its reason; empty when running.
	Paused string `json:"paused,omitempty"`
	// Active counts sequences started and not yet ended; AwaitFirst names
	// the latest one while its first action is not over (the next
	// recipient waits for it, so the account's queue holds one newcomer
	// per campaign).
	Active     int    `json:"active,omitempty"`
	AwaitFirst string `json:"await_first,omitempty"`
	// StoppedURNs are recipients stopped in this campaign (capped).
	StoppedURNs []string `json:"stopped_urns,omitempty"`
	// Unrun are rows that ended without a run of their own (capped at
	// MaxUnrunRows; UnrunMore counts the rest).
	Unrun     []UnrunRow `json:"unrun,omitempty"`
	UnrunMore int        `json:"unrun_more,omitempty"`
	// Variants count what became of each variant of each step's text
	// (bounded: at most MaxVariants per step).
	Variants []VariantCounts `json:"variants,omitempty"`
	// Events are the webhook event types the worker's endpoints take for
	// this campaign (see emitEvent); Pauses, OutXPauses and Waits count
	// operator pauses, OutX's holds and the account's waits on a limit,
	// which tells one's events from another's.
	Events     []string `json:"events,omitempty"`
	Pauses     int      `json:"pauses,omitempty"`
	OutXPauses int      `json:"outx_pauses,omitempty"`
	Waits      int      `json:"waits,omitempty"` // the account's waits on a limit
}

// Variant is one version of a message or a note in an A/B test: its name,
// its text and its weight (see recipients.Variant).
type Variant = recipients.Variant

// VariantCounts are what became of the recipients drawn one variant of one
// step's text, as the campaign learns it.
type VariantCounts struct {
	// Step is the step's number (1 for a one-message campaign's message),
	// Type its type.
	Step    int      `json:"step"`
	Type    StepType `json:"type"`
	Variant string   `json:"variant"`
	Weight  int      `json:"weight"`
	// Recipients were drawn this variant and started (skipped and invalid
	// rows are not counted).
	Recipients int `json:"recipients"`
	// Sent: the step made its OutX task (or may have: unknown).
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	// Accepted (a connect step): the wait_for_connection step after it
	// ended connected.
	Accepted int `json:"accepted,omitempty"`
	// Reached counts, for each later message or connection request, the
	// recipients whose sequence went as far as doing it.
	Reached []StepReach `json:"reached,omitempty"`
}

// StepReach is how many recipients reached a step.
type StepReach struct {
	Step       int `json:"step"`
	Recipients int `json:"recipients"`
}

// UnrunRow is a row the campaign ended without a run of its own: skipped
// (WorkflowID names the run that already took the person: a repeated row,
// or an earlier execution under the same id) or stopped before reached.
// The report lists it at its line.
type UnrunRow struct {
	Line         int     `json:"line"`
	Outcome      Outcome `json:"outcome"`
	RecipientURN string  `json:"recipient_urn,omitempty"`
	WorkflowID   string  `json:"workflow_id,omitempty"`
}

// MaxUnrunRows bounds the unrun rows a campaign carries.
const MaxUnrunRows = 1000

// Counts are a campaign's recipients by outcome.
type Counts struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Unknown   int `json:"unknown"`
	Invalid   int `json:"invalid"`
	// Skipped: listed twice, already handled by an earlier run of the
	// same campaign, or contacted by another campaign (the contact
	// policy; the row's reason names it).
	Skipped int `json:"skipped"`
	// Excluded: on the do-not-contact list when their turn came.
	Excluded int `json:"excluded"`
	// NotConnected: a sequence whose connection request was not accepted
	// in time.
	NotConnected int `json:"not_connected,omitempty"`
	// Stopped: stopped by the user (they replied, or the CRM said so).
	Stopped int `json:"stopped,omitempty"`
}

// Done is the number of recipients with a final outcome.
func (c Counts) Done() int {
	return c.Delivered + c.Failed + c.Unknown + c.Invalid + c.Skipped + c.Excluded + c.NotConnected + c.Stopped
}

func (c *Counts) add(o Outcome) Outcome {
	switch o {
	case Delivered:
		c.Delivered++
	case Failed:
		c.Failed++
	case Invalid:
		c.Invalid++
	case Skipped:
		c.Skipped++
	case Excluded:
		c.Excluded++
	case NotConnected:
		c.NotConnected++
	case Stopped:
		c.Stopped++
	default:
		c.Unknown++
		return Unknown
	}
	return o
}

// CampaignStatus names what a campaign is doing now.
type CampaignStatus string

const (
	// StatusScheduled: the campaign waits for its scheduled start.
	StatusScheduled CampaignStatus = "scheduled"
	StatusStarting  CampaignStatus = "starting"
	StatusSending   CampaignStatus = "sending"
	StatusLookingUp CampaignStatus = "looking_up"
	// StatusRunning: a sequence campaign's recipients are going through
	// their steps, each on its own; the account's pacer spaces them.
	StatusRunning       CampaignStatus = "running"
	StatusSpacing       CampaignStatus = "spacing"
	StatusHourlyCap     CampaignStatus = "hourly_cap"
	StatusDailyCap      CampaignStatus = "daily_cap"
	StatusOutsideWindow CampaignStatus = "outside_window"
	StatusPaused        CampaignStatus = "paused"
	StatusFinished      CampaignStatus = "finished"
	StatusCancelled     CampaignStatus = "cancelled"
	StatusStopped       CampaignStatus = "stopped"
)

// CampaignProgress is the answer to QueryProgress and the campaign's result.
type CampaignProgress struct {
	CampaignID string         `json:"campaign_id"`
	Name       string         `json:"name,omitempty"`
	Status     CampaignStatus `json:"status"`
	// Reason explains Status when it is a wait or a stop.
	Reason  string `json:"reason,omitempty"`
	Counts  Counts `json:"counts"`
	Total   int    `json:"total"`
	Pending int    `json:"pending"`
	// Active counts recipients whose sequence is in progress.
	Active     int       `json:"active,omitempty"`
	Sender     string    `json:"sender,omitempty"`
	Current    string    `json:"current,omitempty"` // the recipient being handled
	NextSendAt time.Time `json:"next_send_at,omitzero"`
	Run        int       `json:"run"`
	StartedAt  time.Time `json:"started_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Window     string    `json:"window,omitempty"`
	Spacing    string    `json:"spacing,omitempty"`
	// Unrun are rows that ended without a run of their own, for the report.
	Unrun     []UnrunRow `json:"unrun,omitempty"`
	UnrunMore int        `json:"unrun_more,omitempty"`
	// Variants count each variant of each step's text: sent, delivered,
	// accepted, and how far its recipients went.
	Variants []VariantCounts `json:"variants,omitempty"`
	// ScheduledAt is a scheduled campaign's start (StartAt).
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
}

// PauseRequest is SignalPause's payload.
type PauseRequest struct {
	Reason string `json:"reason,omitempty"`
}

// Policy is the campaign's pacing with defaults applied. Errors name the
// input field and the rule.
func (in CampaignInput) Policy() (pacing.Policy, error) {
	return CampaignLimits{Pacing: in.Pacing, Window: in.Window}.Policy()
}

// Validate checks a campaign's input as a whole before anything is sent.
// Every problem names the field and the rule.
func (in CampaignInput) Validate() error {
	var errs []error
	if in.inputErr != "" {
		errs = append(errs, errors.New(in.inputErr))
	}
	switch {
	case len(in.Steps) > 0 && in.Template != "":
		errs = append(errs, errors.New("template: give template (one message) or steps (a sequence), not both"))
	case len(in.Steps) > 0:
		errs = append(errs, validateSteps(in.Steps)...)
		if in.Variants != nil {
			errs = append(errs, errors.New("variants: a sequence's variants are given in its message and connect steps"))
		}
	case in.Variants != nil:
		if in.Template != "" {
			errs = append(errs, errors.New("variants: give template (one text) or variants, not both"))
		} else if _, err := recipients.ParseVariants(in.Variants); err != nil {
			errs = append(errs, err) // it names variants[i]
		}
	default:
		if _, err := recipients.ParseTemplate(in.Template); err != nil {
			errs = append(errs, err) // it names the template
		}
	}
	if err := checkSender(in.Sender); err != nil {
		errs = append(errs, err)
	}
	switch {
	case len(in.Recipients) == 0 && in.RecipientsFile == nil:
		errs = append(errs, errors.New("recipients: give recipients or recipients_file"))
	case len(in.Recipients) > 0 && in.RecipientsFile != nil:
		errs = append(errs, errors.New("recipients: give recipients or recipients_file, not both"))
	case len(in.Recipients) > MaxInlineRecipient:
		errs = append(errs, fmt.Errorf("recipients: at most %d inline (there are %d); put larger lists in recipients_file", MaxInlineRecipient, len(in.Recipients)))
	case in.RecipientsFile != nil && !filepath.IsAbs(in.RecipientsFile.Path):
		errs = append(errs, fmt.Errorf("recipients_file.path: %q must be an absolute path, readable by the worker", in.RecipientsFile.Path))
	}
	if _, err := in.Policy(); err != nil {
		errs = append(errs, err)
	}
	if in.CampaignID != "" {
		if err := checkCampaignID("campaign_id", in.CampaignID); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := in.recipientSecret(); err != nil {
		errs = append(errs, err)
	}
	if _, err := in.ContactPolicy.Policy(); err != nil {
		errs = append(errs, err)
	}
	if in.PageSize < 0 || in.PageSize > MaxPageSize {
		errs = append(errs, fmt.Errorf("page_size: must be between 1 and %d", MaxPageSize))
	}
	if in.MaxRunEvents < 0 || (in.MaxRunEvents > 0 && in.MaxRunEvents < 100) || in.MaxRunEvents > 40000 {
		errs = append(errs, errors.New("max_run_events: must be between 100 and 40000"))
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"send_deadline", in.SendDeadline}, {"poll_deadline", in.PollDeadline}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative", d.name))
		}
	}
	return errors.Join(errs...)
}

// MaxCampaignIDLength bounds a campaign id, which names every recipient's
// run ("<campaign id>/<recipient URN>") within Temporal's 1,000-character
// limit on workflow ids.
const MaxCampaignIDLength = 200

func checkCampaignID(field, id string) error {
	switch {
	case utf8.RuneCountInString(id) > MaxCampaignIDLength:
		return fmt.Errorf("%s: at most %d characters, as it names each recipient's run (it has %d)", field, MaxCampaignIDLength, utf8.RuneCountInString(id))
	case strings.ContainsFunc(id, unicode.IsControl) || !utf8.ValidString(id):
		return fmt.Errorf("%s: %q must be valid text without control characters (tabs, newlines...)", field, id)
	}
	return nil
}

// check refuses a state that does not fit the input it came with, which only
// a hand-written input can do: a cursor outside the inline list.
func (st *CampaignState) check(in CampaignInput) error {
	c := st.Cursor
	switch {
	case in.inputErr != "":
		return errors.New(in.inputErr)
	case c.Offset < 0 || c.Line < 0 || st.PageDone < 0:
		return fmt.Errorf("state: cursor and page_done must not be negative (state is set by the campaign itself when it continues as new)")
	case in.RecipientsFile == nil && c.Offset > int64(len(in.Recipients)):
		return fmt.Errorf("state.cursor.offset: %d is past the %d inline recipients (state is set by the campaign itself when it continues as new)", c.Offset, len(in.Recipients))
	}
	return nil
}
