// Package pacer is the contract of an account's pacer: the workflow
// (workflows.SenderPacer) that every LinkedIn action of one sender account
// waits for, from every campaign, sequence and single send. It holds the
// names of the pacer's update, signals and query, and their payloads, so
// that the workflows that ask for slots and the activities that reach the
// pacer from outside share one definition. It depends on nothing but the
// standard library and the pure pacing rules.
//
// The protocol, one slot per LinkedIn action:
//
//  1. The requester asks with UpdateAcquire (an activity sends it, starting
//     the pacer if need be). The answer says granted, stopped, or waiting
//     with the reason and the expected time. A pacer may also take the same
//     Request as a signal; it then answers only by SignalGranted.
//  2. A waiting requester is told by SignalGranted: a Grant, or a Notice
//     when the reason of its wait changes.
//  3. The holder ends its slot with SignalRelease once its OutX task is
//     over; the next gap counts from that moment.
package pacer

import (
	"time"

	"github.com/outpacehq/outpace/pacing"
)

// WorkflowType is the pacer's workflow type.
const WorkflowType = "SenderPacer"

// DefaultSender names the account used when a workflow names none.
const DefaultSender = "default"

// Or returns sender, or DefaultSender when it is empty.
func Or(sender string) string {
	if sender == "" {
		return DefaultSender
	}
	return sender
}

// WorkflowID is the workflow id of the named sender's pacer on a task
// queue: one per account of the workers serving that queue (whose
// configuration defines the account), shared by every campaign and single
// send that uses it, e.g. "pacer/outpace/default".
func WorkflowID(taskQueue, sender string) string { return "pacer/" + taskQueue + "/" + Or(sender) }

// Names of the pacer's update, signals and query.
const (
	// UpdateAcquire asks for a slot (a Request) and is answered with an
	// Answer. Also accepted as a signal, answered only by SignalGranted.
	UpdateAcquire = "acquire"
	// SignalRelease ends a granted slot (a Release).
	SignalRelease = "release"
	// SignalGranted is what the pacer sends the requesting run (a Grant).
	SignalGranted = "slot-granted"
	// StopRecipient is both a signal and an update (a StopRequest): no
	// further action is taken for that person by the campaign named, or by
	// any campaign of the account. The update answers what was recorded.
	StopRecipient = "stop-recipient"
	// SignalCampaignPause pauses, resumes or cancels one campaign's actions
	// (a CampaignPause), sent by the campaign.
	SignalCampaignPause = "campaign-pause"
	// SignalAccountPause pauses or resumes every action of the account (an
	// AccountPause), sent by a person (starter account pause|resume).
	SignalAccountPause = "account-pause"
	// QueryStatus returns a Status.
	QueryStatus = "pacer"
)

// Action is a kind of LinkedIn action; each has its own caps.
type Action string

const (
	ActionMessage Action = "message"
	ActionConnect Action = "connect"
	// ActionLookup: profile look-ups and connection checks (reads).
	ActionLookup Action = "lookup"
)

// Actions lists every action type, in a fixed order.
var Actions = []Action{ActionMessage, ActionConnect, ActionLookup}

// Input is a pacer run's input: the account it paces, and the state it
// carries through continue-as-new.
type Input struct {
	Sender string `json:"sender"`
	State  *State `json:"state,omitempty"`
}

// Request asks a sender's pacer for the right to start one LinkedIn action.
type Request struct {
	// ID is unique per request; the answer, the grant and the release name it.
	ID string `json:"id"`
	// WorkflowID and RunID are the requester's, to which a grant is signalled.
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Action     Action `json:"action"`
	// Campaign groups requests for fairness ("" for single sends) and names
	// the campaign whose own limits (CampaignPacing) apply too.
	Campaign string `json:"campaign,omitempty"`
	// Recipient is the person the action is for; a stopped recipient is
	// refused.
	Recipient string `json:"recipient,omitempty"`
	// CampaignPacing, when set, are the campaign's own spacing, caps and
	// sending hours, enforced on its actions besides the account's.
	CampaignPacing *CampaignLimits `json:"campaign_pacing,omitempty"`
	// Hold bounds how long the slot may be held before the pacer takes it
	// back (a requester that was terminated never releases).
	Hold Duration  `json:"hold"`
	At   time.Time `json:"at"`
	// Linger is how long the acquire update may stay open for a grant that
	// is that close, so that a short wait needs no grant signal (0: answer
	// at once). The pacer caps it.
	Linger Duration `json:"linger,omitzero"`
}

// Answer is the acquire update's result: granted, stopped, or waiting.
type Answer struct {
	ID      string `json:"id"`
	Granted bool   `json:"granted,omitempty"`
	// GrantedAt is when the slot was granted.
	GrantedAt time.Time `json:"granted_at,omitzero"`
	// Stopped is set instead of a grant when the recipient or the campaign
	// was stopped: the action must not be taken (nothing to release).
	Stopped string `json:"stopped,omitempty"`
	// Waiting says why the request waits and until when; the grant comes
	// later by SignalGranted.
	Waiting *Wait `json:"waiting,omitempty"`
	// Events is set by the AcquireSlot activity, never by the pacer: the
	// types of the events a task run writes itself (message.unknown,
	// account.waiting) that the worker's webhook endpoints take for the
	// request's account and campaign. Empty without endpoints, so the run
	// writes none.
	Events []string `json:"events,omitempty"`
}

// Wait is why a request waits for its slot, for the people who watch it.
type Wait struct {
	// Reason is a sentence, e.g. "hourly cap of 20 messages reached".
	Reason string `json:"reason"`
	// Kind is the limit that holds it: one of the Wait* constants.
	Kind string `json:"kind"`
	// NextAt is the earliest time the request may go under every limit
	// known now (zero when it waits for something without a time: another
	// action in flight, a paused campaign).
	NextAt time.Time `json:"next_at,omitzero"`
	// At is NextAt as a person reads it, in the time zone of the limit
	// that holds the request ("10:06 UTC", "Mon 26 Oct 09:00 CET").
	At string `json:"at,omitempty"`
	// Ahead counts the requests that go first.
	Ahead int `json:"ahead,omitempty"`
}

// Kinds of waits.
const (
	WaitSpacing   = "spacing"        // the gap after the previous task
	WaitHourlyCap = "hourly_cap"     // an hourly cap
	WaitDailyCap  = "daily_cap"      // a daily cap
	WaitWeeklyCap = "weekly_cap"     // a weekly cap
	WaitWindow    = "outside_window" // outside the sending hours
	WaitBusy      = "busy"           // another action of the account is in flight
	WaitQueued    = "queued"         // other requests go first
	WaitPaused    = "paused"         // the campaign is paused
	// WaitAccountPaused: the whole account is paused, by a person or after
	// repeated refusals (the extension offline).
	WaitAccountPaused = "account_paused"
	// WaitInvitationLimit: LinkedIn's invitation limit was hit (OutX
	// answered 429 to a connection request): connection requests pause.
	WaitInvitationLimit = "invitation_limit"
	// WaitPendingInvitations: too many connection requests are not yet
	// accepted: further ones wait for acceptances.
	WaitPendingInvitations = "pending_invitations"
)

// Grant is signalled to a requester (SignalGranted): its slot, a refusal
// (Stopped), or a Notice of why it still waits.
type Grant struct {
	ID string `json:"id"`
	// Stopped is set instead of a grant when the recipient was stopped.
	Stopped string `json:"stopped,omitempty"`
	// Notice, when set, is not a grant: the request still waits, now for
	// this reason.
	Notice    *Wait     `json:"notice,omitempty"`
	GrantedAt time.Time `json:"granted_at,omitzero"`
}

// Release ends a granted slot. Counted says whether an OutX task was (or may
// have been) created: only then does the action count against the caps,
// and the next gap count from End.
type Release struct {
	ID      string    `json:"id"`
	Counted bool      `json:"counted"`
	Start   time.Time `json:"start,omitzero"`
	End     time.Time `json:"end,omitzero"`
	// Invited: a connection request was sent (not to someone already
	// connected): it is pending until a check finds it accepted.
	Invited bool `json:"invited,omitempty"`
	// Connected: a connection check found the recipient connected: their
	// invitation is no longer pending.
	Connected bool `json:"connected,omitempty"`
	// PushBack says OutX refused the action without a task in a way that
	// concerns the account: PushBackInvitationLimit (429 to a connection
	// request) or PushBackOffline (403, the extension offline).
	PushBack string `json:"push_back,omitempty"`
	// Reason is OutX's text for the push-back.
	Reason string `json:"reason,omitempty"`
}

// Push-backs a release may report.
const (
	PushBackInvitationLimit = "invitation_limit"
	PushBackOffline         = "extension_offline"
)

// AccountPause pauses (Paused, with a Reason, until Until or a resume) or
// resumes every action of the account.
type AccountPause struct {
	Paused bool      `json:"paused"`
	Reason string    `json:"reason,omitempty"`
	Until  time.Time `json:"until,omitzero"`
	// Connect limits the pause or the resume to connection requests.
	Connect bool `json:"connect,omitempty"`
}

// StopRequest stops one person: in the campaign named, or in every campaign
// of the account when Campaign is empty.
type StopRequest struct {
	RecipientURN string `json:"recipient_urn"`
	Campaign     string `json:"campaign_id,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// CampaignPause pauses or resumes one campaign's actions at the pacer.
type CampaignPause struct {
	Campaign string `json:"campaign"`
	Paused   bool   `json:"paused"`
	// Cancelled: the campaign was cancelled; its sequences' further
	// actions are refused.
	Cancelled bool `json:"cancelled,omitempty"`
	// Reason is the pause's reason, shown to whoever waits.
	Reason string `json:"reason,omitempty"`
}

// Status answers QueryStatus.
type Status struct {
	Sender string  `json:"sender"`
	Queued int     `json:"queued"`
	Holder *Holder `json:"holder,omitempty"`
	// NextAt and Reason say when and why the next request goes.
	NextAt time.Time `json:"next_at,omitzero"`
	Reason string    `json:"reason,omitempty"`
	// Waiting lists the queued requests in the order they would go, each
	// with its own reason (at most MaxStatusWaiting).
	Waiting  []Waiting `json:"waiting,omitempty"`
	Actions  int64     `json:"actions"`
	Stopped  int       `json:"stopped"`
	Campaign []string  `json:"campaigns,omitempty"`
	// Paused lists the campaigns paused at the pacer.
	Paused []string `json:"paused,omitempty"`
	// Account is the account's safety: its warm-up, pending invitations and
	// pauses.
	Account AccountStatus `json:"account"`
}

// AccountStatus is an account's safety state, as starter account status
// shows it.
type AccountStatus struct {
	// RampDay is the account's sending day since its first action through
	// outpace (1 on the first); zero without a warm-up.
	RampDay     int       `json:"ramp_day,omitempty"`
	FirstAction time.Time `json:"first_action,omitzero"`
	// Caps are today's daily caps by action type, with the warm-up applied.
	Caps []DailyCap `json:"caps,omitempty"`
	// Pending counts connection requests not yet accepted; Ceiling is the
	// most before further ones wait (0: none).
	Pending int `json:"pending"`
	Ceiling int `json:"ceiling,omitempty"`
	// Paused is set while every action waits; ConnectPaused while
	// connection requests do. Each with its reason and, when it ends by
	// itself, its end.
	Paused        *Pause `json:"paused,omitempty"`
	ConnectPaused *Pause `json:"connect_paused,omitempty"`
}

// DailyCap is one action type's daily cap today.
type DailyCap struct {
	Action Action `json:"action"`
	// Today is the cap that holds today (0: no cap); Cap is the configured
	// one, which the warm-up reaches by Step a sending day.
	Today int `json:"today"`
	Cap   int `json:"cap"`
	Start int `json:"start,omitempty"`
	Step  int `json:"step,omitempty"`
}

// Pause is an account's pause.
type Pause struct {
	Reason string    `json:"reason"`
	Until  time.Time `json:"until,omitzero"` // zero: until resumed
	// By says who paused: "operator", or "outpace" after OutX's push-back.
	By string `json:"by"`
}

// MaxStatusWaiting bounds Status.Waiting.
const MaxStatusWaiting = 100

// Waiting is one queued request in a Status.
type Waiting struct {
	ID         string    `json:"id"`
	WorkflowID string    `json:"workflow_id"`
	Action     Action    `json:"action"`
	Campaign   string    `json:"campaign,omitempty"`
	Since      time.Time `json:"since"`
	Wait       Wait      `json:"wait"`
}

// Holder is the request holding the account's one slot.
type Holder struct {
	Request   Request   `json:"request"`
	GrantedAt time.Time `json:"granted_at"`
	Until     time.Time `json:"until"`
	// NextCheck is when the pacer next checks that the holder is still
	// running (a terminated run never releases).
	NextCheck time.Time `json:"next_check,omitzero"`
}

// State is everything a pacer remembers, carried through continue-as-new.
// It stays bounded: the queue holds one request per requester waiting,
// pacing states keep at most a cap's worth of starts, campaigns are
// forgotten a day after their last action, stops and recent ids are capped.
type State struct {
	Run    int       `json:"run"`
	Queue  []Request `json:"queue,omitempty"`
	Holder *Holder   `json:"holder,omitempty"`
	// Actions counts the account's actions; gaps are drawn from it.
	Actions int64        `json:"actions"`
	Account pacing.State `json:"account"`
	Message pacing.State `json:"message"`
	Connect pacing.State `json:"connect"`
	Lookup  pacing.State `json:"lookup"`
	// Campaigns holds each campaign's own pacing memory and its turn in
	// the round robin ("" is single sends).
	Campaigns []CampaignTurn `json:"campaigns,omitempty"`
	// Served counts grants; a campaign's LastServed is the count at its
	// latest grant.
	Served  int64         `json:"served"`
	Stopped []StopRequest `json:"stopped,omitempty"`
	// Recent are the ids of requests granted lately, so that a request
	// sent twice (a retried activity) is not served twice.
	Recent []string `json:"recent,omitempty"`
	// Told is what each waiting request was last told, so that a notice
	// goes out only when the reason changes.
	Told []Told `json:"told,omitempty"`
	// FirstAction is the account's first counted action through outpace:
	// its warm-up counts sending days from it.
	FirstAction time.Time `json:"first_action,omitzero"`
	// Pending are the connection requests sent and not yet found accepted
	// (capped).
	Pending []Invitation `json:"pending,omitempty"`
	// AccountPause and ConnectPause hold the account's pauses.
	AccountPause *Pause `json:"account_pause,omitempty"`
	ConnectPause *Pause `json:"connect_pause,omitempty"`
	// Offline counts OutX's 403 refusals in a row (the extension offline);
	// OfflinePauses counts the pauses they caused since the last action.
	Offline       int `json:"offline,omitempty"`
	OfflinePauses int `json:"offline_pauses,omitempty"`
}

// Invitation is a pending connection request.
type Invitation struct {
	URN string    `json:"urn"`
	At  time.Time `json:"at"`
}

// Told is the kind of wait a request was last told of.
type Told struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

// CampaignTurn is one campaign's place in the pacer.
type CampaignTurn struct {
	Campaign   string       `json:"campaign"`
	LastServed int64        `json:"last_served"`
	Actions    int64        `json:"actions"`
	Pacing     pacing.State `json:"pacing"`
	Paused     bool         `json:"paused,omitempty"`
	PauseWhy   string       `json:"pause_why,omitempty"`
	LastAt     time.Time    `json:"last_at"`
}
