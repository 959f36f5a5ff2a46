package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/outpacehq/outpace/workflows"
)

var campaignReportCommand = command{
	name:    "report",
	summary: "list every recipient's outcome (CSV or JSON lines)",
	usage: `starter campaign report lists the outcome of every message of a campaign, from
its runs in Temporal's visibility store, as CSV with the header
line,recipient_urn,outcome,reason,task_id,workflow_id,status
(for a campaign of steps, one row per recipient with the step reached and
every step's outcome: line,recipient_urn,outcome,reason,step,steps,workflow_id,status)
(or JSON lines with --json), one row per recipient line, in line order. A
recipient listed twice has a row too, "skipped", naming the line it repeats
(once the campaign records such rows). A recipient on the do-not-contact list
is "excluded", with the entry's reason; one another campaign contacted
(the campaign's contact_policy) is "skipped", naming that campaign. Rows are gathered in a temporary file
and sorted by an index of a few dozen bytes each, so a campaign of any size is
listed in little memory. A count of rows by outcome goes to standard error,
and a campaign that ran nobody says so there.

A message still running has the outcome "pending". Visibility is eventually
consistent: a run that ended a moment ago may still show as running.

A campaign with variants (an A/B test) has a last column, variant (for a
campaign of steps, variants: "1:short 3:thanks", step and variant), and a
line per variant on standard error: its recipients, how many were sent and
delivered, for a connection request how many accepted (the wait for the
connection ended connected) and the rate, and how many went on to each later
message or connection request. --by-variant prints those lines instead of the
rows (CSV step,type,variant,weight,recipients,sent,delivered,accepted,
acceptance,reached, or JSON lines).

With payload encryption on, recipients are named by pseudonyms in workflow
ids; the report reads their URNs from the encrypted memos, so it needs the
keys.

Usage:
  starter campaign report --id ID [--output FILE] [--by-variant]
`,
	flags: func(fs *pflag.FlagSet, o *common) func(context.Context) error {
		r := &campaignReport{common: o}
		fs.StringVar(&r.id, "id", "", "campaign id (required)")
		fs.StringVarP(&r.output, "output", "o", "-", "write the report to this file (- for standard output)")
		fs.BoolVar(&r.byVariant, "by-variant", false, "print a line per variant of the campaign's texts instead of a row per recipient")
		// Hidden: for tests of the paging, which a real campaign needs only
		// past 1000 messages.
		fs.IntVar(&r.pageSize, "page-size", reportPageSize, "runs asked of visibility per page")
		_ = fs.MarkHidden("page-size")
		return r.run
	},
}

type campaignReport struct {
	*common
	id, output string
	pageSize   int
	byVariant  bool
}

// reportRow is one message of a campaign; its JSON is a --json line.
type reportRow struct {
	Line         int    `json:"line,omitempty"`
	RecipientURN string `json:"recipient_urn,omitempty"`
	Outcome      string `json:"outcome"`
	Reason       string `json:"reason,omitempty"`
	TaskID       string `json:"task_id,omitempty"`
	WorkflowID   string `json:"workflow_id"`
	Status       string `json:"status"`
	// For a sequence campaign: the step reached (1-based, with its type),
	// the number of steps (0 when the campaign's input is gone), and what
	// became of each step so far.
	Step       int                    `json:"step,omitempty"`
	StepType   workflows.StepType     `json:"step_type,omitempty"`
	StepsTotal int                    `json:"steps_total,omitempty"`
	Steps      []workflows.StepResult `json:"steps,omitempty"`
	// Variant is the variant of a one-message campaign's message drawn for
	// the recipient; Variants, a sequence's, one per step ("" for a step
	// without variants).
	Variant  string   `json:"variant,omitempty"`
	Variants []string `json:"variants,omitempty"`
}

var reportHeader = []string{"line", "recipient_urn", "outcome", "reason", "task_id", "workflow_id", "status"}

// sequenceHeader is a sequence campaign's: one row per recipient, with the
// step reached ("3/5 message") and each step's outcome ("1 connect
// delivered, 2 wait_for_connection delivered, 3 message delivered").
var sequenceHeader = []string{"line", "recipient_urn", "outcome", "reason", "step", "steps", "workflow_id", "status"}

// reportPageSize is the most visibility returns per page.
const reportPageSize = 1000

// pending is the outcome of a message whose run has not ended.
const pending = "pending"

func (r *campaignReport) run(ctx context.Context) error {
	if r.id == "" {
		return usagef("--id: is required (the campaign id given to `campaign start`)")
	}
	if r.pageSize < 1 || r.pageSize > reportPageSize {
		return usagef("--page-size: must be between 1 and %d", reportPageSize)
	}
	c, err := r.dial()
	if err != nil {
		return err
	}
	defer c.Close()

	out := r.stdout
	var file *os.File
	if r.output != "-" && r.output != "" {
		if file, err = os.Create(r.output); err != nil {
			return fmt.Errorf("--output: %v", err)
		}
		defer file.Close() // on early returns; the normal path closes it below to see its error
		out = file
	}
	// The campaign's latest run: the rows it counted without a run of
	// their own, and whether it ran anyone at all.
	camp, err := r.readReportCampaign(ctx, c, r.id)
	if err != nil {
		return err
	}
	// A sequence campaign's recipients are its Sequence runs; their
	// messages and connection requests carry the same CampaignId but are
	// steps, not recipients. A one-message campaign has no Sequence run.
	req := &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: r.namespace,
		PageSize:  int32(r.pageSize),
		Query:     reportQuery(r.id, workflows.SequenceWorkflow),
	}
	first, err := c.ListWorkflow(ctx, req)
	if err != nil {
		return fmt.Errorf("listing the recipients of campaign %s: %v%s", r.id, err, searchAttributeHint(err))
	}
	sequences := len(first.GetExecutions()) > 0
	stepsTotal := 0
	if sequences && camp.found {
		// Best effort: "step 3/5" needs the campaign's steps, which are
		// gone with its run after the namespace's retention.
		in, _ := readCampaignInput(ctx, c, r.dataConverter, r.keys != nil, r.id, camp.view.RunID)
		stepsTotal = len(in.Steps)
	} else if !sequences {
		req.Query, first = reportQuery(r.id, workflows.SendMessageWorkflow), nil
	}
	var unrun []unrunRow
	if camp.progress != nil {
		unrun = camp.progress.Unrun
	}
	handlers := map[string]handler{}
	for _, u := range unrun {
		if u.WorkflowID != "" {
			handlers[u.WorkflowID] = handler{}
		}
	}
	sorter, err := newRowSorter()
	if err != nil {
		return err
	}
	defer sorter.Close()
	runs, withVariants := 0, false
	// elsewhere counts the recipients skipped by their own run: another
	// campaign had contacted them (the contact policy); those skipped as
	// listed twice or handled by an earlier run have no run of their own.
	elsewhere := 0
	for {
		resp := first
		if resp == nil {
			resp, err = c.ListWorkflow(ctx, req)
		}
		first = nil
		if err != nil {
			return fmt.Errorf("listing the messages of campaign %s (after %d rows): %v%s", r.id, runs, err, searchAttributeHint(err))
		}
		for _, e := range resp.GetExecutions() {
			row := rowFromExecution(e, r.dataConverter)
			if sequences {
				row.StepsTotal = stepsTotal
			}
			start := e.GetStartTime().AsTime()
			if h, ok := handlers[row.WorkflowID]; ok && !start.Before(h.start) {
				handlers[row.WorkflowID] = handler{line: row.Line, urn: row.RecipientURN, start: start}
			}
			if err := sorter.add(row, start); err != nil {
				return err
			}
			runs++
			if row.Outcome == string(workflows.Skipped) {
				elsewhere++
			}
			withVariants = withVariants || row.Variant != "" || len(row.Variants) > 0
		}
		if len(resp.GetNextPageToken()) == 0 {
			break
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
	for _, u := range unrun {
		var startedAt time.Time
		if camp.progress != nil {
			startedAt = camp.progress.StartedAt
		}
		if row, ok := unrunReportRow(u, handlers, startedAt); ok {
			if err := sorter.add(row, time.Time{}); err != nil {
				return err
			}
		}
	}

	var tally variantTally
	if camp.progress != nil {
		tally.seed(camp.progress.Variants)
	}
	withVariants = withVariants || len(tally.list) > 0
	w := newReportWriter(out, r.json, sequences, withVariants)
	if r.byVariant {
		w = nil
	}
	counts := map[string]int{}
	rows := 0
	err = sorter.each(func(row reportRow) error {
		tally.add(row)
		if w == nil {
			counts[row.Outcome]++
			rows++
			return nil
		}
		if err := w.write(row); err != nil {
			return fmt.Errorf("writing the report: %v", err)
		}
		counts[row.Outcome]++
		rows++
		if rows%reportPageSize == 0 { // a reader of a long report sees it grow
			return w.flush()
		}
		return nil
	})
	switch {
	case err == nil && w != nil:
		err = w.flush()
	case err == nil:
		err = writeVariants(out, r.json, tally.counts())
	}
	if err != nil {
		return fmt.Errorf("writing the report: %v", err)
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return fmt.Errorf("writing the report: %v", err)
		}
	}
	fmt.Fprintf(r.stderr, "report: rows %d  delivered %d  failed %d  unknown %d  invalid %d",
		rows, counts[string(workflows.Delivered)], counts[string(workflows.Failed)], counts[string(workflows.Unknown)],
		counts[string(workflows.Invalid)])
	if n := counts[string(workflows.Skipped)]; n > 0 {
		fmt.Fprintf(r.stderr, "  skipped %d", n)
	}
	if n := counts[string(workflows.Excluded)]; n > 0 {
		fmt.Fprintf(r.stderr, "  excluded %d", n)
	}
	if sequences {
		fmt.Fprintf(r.stderr, "  not_connected %d  stopped %d", counts[string(workflows.NotConnected)], counts[string(workflows.Stopped)])
	} else if n := counts[string(workflows.Stopped)]; n > 0 {
		fmt.Fprintf(r.stderr, "  stopped %d", n)
	}
	fmt.Fprintf(r.stderr, "  pending %d\n", counts[pending])
	if excluded := counts[string(workflows.Excluded)]; excluded > 0 || elsewhere > 0 {
		fmt.Fprintf(r.stderr, "report: the contacts store held back %d: %d excluded (on the do-not-contact list), %d skipped (contacted by another campaign); each row's reason says why\n",
			excluded+elsewhere, excluded, elsewhere)
	}
	printVariants(r.stderr, "report: variant ", tally.counts())
	if camp.progress != nil && camp.progress.UnrunMore > 0 {
		fmt.Fprintf(r.stderr, "report: %d more rows skipped without a run of their own are not listed (the campaign keeps the first %d)\n",
			camp.progress.UnrunMore, len(camp.progress.Unrun))
	}
	if why := camp.ranNobody(r.id, runs, elsewhere); why != "" {
		fmt.Fprintf(r.stderr, "report: %s\n", why)
	} else if counts[pending] > 0 {
		fmt.Fprintf(r.stderr, "report: %d still pending (visibility lags a few seconds behind)\n", counts[pending])
	}
	return nil
}

// reportQuery finds a campaign's runs of one type (SendMessage, or
// Sequence for a campaign of steps): its own run and its steps' runs carry
// the same CampaignId, so the type is part of the query.
func reportQuery(id, workflowType string) string {
	return fmt.Sprintf("WorkflowType = %s AND CampaignId = %s", visibilityString(workflowType), visibilityString(id))
}

// rowFromExecution reads a message's row from its visibility record: the
// outcome from the memo its run set when it ended, the line (and, when
// recipients are named by pseudonyms, the URN) from the memo its campaign
// set when it started it. Memos are payloads, read with dc (which
// decrypts them when payload encryption is on); search attributes are not.
func rowFromExecution(e *workflowpb.WorkflowExecutionInfo, dc converter.DataConverter) reportRow {
	row := reportRow{
		WorkflowID: e.GetExecution().GetWorkflowId(),
		Status:     e.GetStatus().String(),
	}
	memo := e.GetMemo().GetFields()
	decode(dc, memo[workflows.MemoLine], &row.Line)
	decode(dc, memo[workflows.MemoOutcome], &row.Outcome)
	decode(dc, memo[workflows.MemoReason], &row.Reason)
	decode(dc, memo[workflows.MemoTaskID], &row.TaskID)
	decode(dc, memo[workflows.MemoSteps], &row.Steps)
	decode(dc, memo[workflows.MemoVariant], &row.Variant)
	decode(dc, memo[workflows.MemoVariants], &row.Variants)
	if n := len(row.Steps); n > 0 {
		row.Step, row.StepType = row.Steps[n-1].Step, row.Steps[n-1].Type
	}
	// With payload encryption on, the search attribute holds a pseudonym
	// and the memo the URN.
	decode(dc, memo[workflows.MemoRecipientURN], &row.RecipientURN)
	if row.RecipientURN == "" {
		decodeKeyword(e.GetSearchAttributes().GetIndexedFields()[workflows.RecipientURNAttribute.GetName()], &row.RecipientURN)
	}
	if row.Outcome == "" {
		// A delivered message records no outcome in its memo (it would cost
		// an action each): its Outcome search attribute says it.
		decodeKeyword(e.GetSearchAttributes().GetIndexedFields()[workflows.OutcomeAttribute.GetName()], &row.Outcome)
	}
	switch {
	case e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		row.Outcome = pending
	case row.Outcome == "":
		// Ended without recording an outcome (terminated, timed out): a
		// task may exist, so it is unknown, as the workflow would say.
		row.Outcome = string(workflows.Unknown)
		if row.Reason == "" {
			row.Reason = "the run ended (" + row.Status + ") without recording an outcome"
		}
	}
	return row
}

// decode reads a memo payload; a missing or unreadable one leaves v as is,
// since one odd run must not stop a report of a million.
func decode(dc converter.DataConverter, p *commonpb.Payload, v any) {
	if p != nil {
		_ = dc.FromPayload(p, v)
	}
}

// decodeKeyword reads a Keyword search attribute, which older servers may
// hand back as a list.
func decodeKeyword(p *commonpb.Payload, s *string) {
	if p == nil {
		return
	}
	dc := converter.GetDefaultDataConverter()
	if dc.FromPayload(p, s) == nil {
		return
	}
	var list []string
	if dc.FromPayload(p, &list) == nil && len(list) > 0 {
		*s = list[0]
	}
}

// reportWriter writes rows as CSV or JSON lines.
type reportWriter struct {
	csv       *csv.Writer
	json      *json.Encoder
	sequences bool
	variants  bool // a last column names each recipient's variant(s)
}

func newReportWriter(w io.Writer, asJSON, sequences, variants bool) *reportWriter {
	if asJSON {
		return &reportWriter{json: newJSONEncoder(w), sequences: sequences}
	}
	cw := csv.NewWriter(w)
	switch {
	case sequences && variants:
		_ = cw.Write(append(slices.Clone(sequenceHeader), "variants"))
	case sequences:
		_ = cw.Write(sequenceHeader)
	case variants:
		_ = cw.Write(append(slices.Clone(reportHeader), "variant"))
	default:
		_ = cw.Write(reportHeader)
	}
	return &reportWriter{csv: cw, sequences: sequences, variants: variants}
}

// writeVariants writes report --by-variant's lines.
func writeVariants(w io.Writer, asJSON bool, vs []workflows.VariantCounts) error {
	if asJSON {
		enc := newJSONEncoder(w)
		for _, v := range vs {
			if err := enc.Encode(v); err != nil {
				return err
			}
		}
		return nil
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(variantHeader)
	for _, v := range vs {
		_ = cw.Write(variantRecord(v))
	}
	cw.Flush()
	return cw.Error()
}

// stepReached says how far a recipient's sequence went: "3/5 message".
func stepReached(r reportRow) string {
	if r.Step == 0 {
		if r.StepsTotal > 0 {
			return fmt.Sprintf("0/%d", r.StepsTotal)
		}
		return ""
	}
	s := strconv.Itoa(r.Step)
	if r.StepsTotal > 0 {
		s += "/" + strconv.Itoa(r.StepsTotal)
	}
	return s + " " + string(r.StepType)
}

// stepOutcomes lists each step's outcome: "1 connect delivered, 2
// wait_for_connection delivered".
func stepOutcomes(steps []workflows.StepResult) string {
	parts := make([]string, len(steps))
	for i, st := range steps {
		parts[i] = fmt.Sprintf("%d %s %s", st.Step, st.Type, st.Outcome)
	}
	return strings.Join(parts, ", ")
}

func (w *reportWriter) write(r reportRow) error {
	if w.json != nil {
		return w.json.Encode(r)
	}
	line := ""
	if r.Line > 0 {
		line = strconv.Itoa(r.Line)
	}
	if w.sequences {
		rec := []string{line, r.RecipientURN, r.Outcome, r.Reason, stepReached(r), stepOutcomes(r.Steps), r.WorkflowID, r.Status}
		if w.variants {
			rec = append(rec, stepVariants(r.Variants))
		}
		return w.csv.Write(rec)
	}
	rec := []string{line, r.RecipientURN, r.Outcome, r.Reason, r.TaskID, r.WorkflowID, r.Status}
	if w.variants {
		rec = append(rec, r.Variant)
	}
	return w.csv.Write(rec)
}

func (w *reportWriter) flush() error {
	if w.json != nil {
		return nil
	}
	w.csv.Flush()
	return w.csv.Error()
}
