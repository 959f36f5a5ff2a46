package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"slices"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/outpacehq/outpace/workflows"
)

// A report lists one row per recipient line, in line order: visibility
// returns runs in no useful order, so rows are gathered in a temporary file
// and only an index of them (a few dozen bytes a row) is sorted in memory.
// A recipient the campaign counted without a run of its own (listed twice,
// or handled by an earlier start of the campaign) has no visibility record:
// its row comes from what the campaign's progress says of such rows.

// unrunRow is a row the campaign counted without a run of its own: a
// recipient skipped because the campaign already had their run (listed
// twice, or handled by an earlier start), or stopped before their turn.
//
// It mirrors what the Campaign workflow is asked to record in its
// progress (query and result) and state, as "unrun" and "unrun_more":
// until it does, reports have no such rows.
type unrunRow struct {
	Line         int               `json:"line"`
	Outcome      workflows.Outcome `json:"outcome"`
	RecipientURN string            `json:"recipient_urn,omitempty"`
	// WorkflowID is the run that had the recipient already (skipped).
	WorkflowID string `json:"workflow_id,omitempty"`
}

// reportProgress is a campaign's progress as a report reads it.
type reportProgress struct {
	workflows.CampaignProgress
	Unrun []unrunRow `json:"unrun,omitempty"`
	// UnrunMore counts the rows without a run of their own left out of
	// Unrun, which is bounded.
	UnrunMore int `json:"unrun_more,omitempty"`
}

// reportCampaign is what a report knows of the campaign's latest run.
type reportCampaign struct {
	found    bool
	view     campaignView
	progress *reportProgress // nil when the run did not say
}

// readReportCampaign reads the campaign's latest run and its progress, as
// status does; a campaign whose run is gone (past retention) is not found,
// and its messages are still reported.
func (o *common) readReportCampaign(ctx context.Context, c client.Client, id string) (reportCampaign, error) {
	v, err := o.describeCampaign(ctx, c, id)
	switch {
	case errors.Is(err, errNoCampaign):
		return reportCampaign{}, nil
	case err != nil:
		return reportCampaign{}, err
	}
	rc := reportCampaign{found: true, view: v}
	var p reportProgress
	switch {
	case !v.closed():
		err = queryInto(ctx, c, id, "", reportQueryTimeout, &p)
	default:
		err = c.GetWorkflow(ctx, id, v.RunID).Get(ctx, &p)
		var cancelled *temporal.CanceledError
		switch {
		case err == nil:
		case errors.As(err, &cancelled) && cancelled.HasDetails() && cancelled.Details(&p) == nil:
			err = nil
		default:
			// Failed, terminated: its failure holds no progress; a worker
			// may still replay it.
			rc.view.Failure = rootMessage(err)
			err = queryInto(ctx, c, id, v.RunID, reportQueryTimeout, &p)
		}
	}
	if err == nil {
		rc.progress = &p
	}
	return rc, nil
}

// reportQueryTimeout bounds the progress query of a report, which lists
// the campaign's runs without it, only less well.
const reportQueryTimeout = 5 * time.Second

// queryInto asks a campaign run for its progress, decoded into p.
func queryInto(ctx context.Context, c client.Client, id, runID string, timeout time.Duration, p any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	val, err := c.QueryWorkflow(ctx, id, runID, workflows.QueryProgress)
	if err != nil {
		return err
	}
	return val.Get(p)
}

// handler is the run that had a skipped recipient already, as visibility
// lists it.
type handler struct {
	line  int
	urn   string
	start time.Time
}

// unrunReportRow is the row of a recipient without a run of its own; ok is
// false when the row is already listed: a recipient skipped by a start
// again under the same id, on the same line as their run from an earlier
// start, is that run's row.
func unrunReportRow(u unrunRow, handlers map[string]handler, startedAt time.Time) (reportRow, bool) {
	row := reportRow{Line: u.Line, RecipientURN: u.RecipientURN, Outcome: string(u.Outcome), WorkflowID: u.WorkflowID}
	h, known := handlers[u.WorkflowID]
	if known && row.RecipientURN == "" {
		row.RecipientURN = h.urn
	}
	switch {
	case u.Outcome == workflows.Stopped:
		row.Reason = "stopped before the campaign reached them"
	case known && h.line == u.Line:
		return row, false
	case known && h.line > 0 && !h.start.Before(startedAt):
		row.Reason = fmt.Sprintf("repeats line %d", h.line)
	case known && h.line > 0:
		row.Reason = fmt.Sprintf("handled by an earlier start of the campaign (line %d there)", h.line)
	default:
		row.Reason = "listed twice, or handled by an earlier start of the campaign"
	}
	return row, true
}

// rowSorter gathers rows in a temporary file and gives them back in line
// order, rows without a line last; of the runs of one workflow id on one
// line (a recipient tried again after a run that made no OutX task), only
// the latest is kept.
type rowSorter struct {
	f     *os.File
	w     *bufio.Writer
	off   int64
	index []rowRef
}

type rowRef struct {
	line  int
	id    uint64 // the workflow id's hash
	start int64
	off   int64
	n     int
}

func newRowSorter() (*rowSorter, error) {
	f, err := os.CreateTemp("", "outpace-report-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("a temporary file for the report: %w", err)
	}
	_ = os.Remove(f.Name()) // gone when closed, whatever happens
	return &rowSorter{f: f, w: bufio.NewWriterSize(f, 1<<16)}, nil
}

func (s *rowSorter) Close() error { return s.f.Close() }

// add keeps row; start is when its run started (zero for a row without).
func (s *rowSorter) add(row reportRow, start time.Time) error {
	b, err := json.Marshal(row)
	if err != nil {
		return err
	}
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("a temporary file for the report: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte(row.WorkflowID))
	line := row.Line
	if line <= 0 {
		line = math.MaxInt // last
	}
	ref := rowRef{line: line, id: h.Sum64(), off: s.off, n: len(b)}
	if !start.IsZero() {
		ref.start = start.UnixNano()
	}
	s.index = append(s.index, ref)
	s.off += int64(len(b))
	return nil
}

// each calls fn with every row kept, in order.
func (s *rowSorter) each(fn func(reportRow) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("a temporary file for the report: %w", err)
	}
	slices.SortStableFunc(s.index, func(a, b rowRef) int {
		return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.id, b.id), cmp.Compare(a.start, b.start))
	})
	var buf []byte
	for i, ref := range s.index {
		if i+1 < len(s.index) && s.index[i+1].line == ref.line && s.index[i+1].id == ref.id {
			continue // a later run of the same workflow id follows
		}
		if cap(buf) < ref.n {
			buf = make([]byte, ref.n)
		}
		buf = buf[:ref.n]
		if _, err := s.f.ReadAt(buf, ref.off); err != nil {
			return fmt.Errorf("a temporary file for the report: %w", err)
		}
		var row reportRow
		if err := json.Unmarshal(buf, &row); err != nil {
			return fmt.Errorf("a temporary file for the report: %w", err)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// ranNobody says, when the report lists no run of the campaign, or its
// latest start skipped everyone, why; "" otherwise. elsewhere counts the
// runs that ended skipped themselves (another campaign had contacted the
// person): those were runs of a start.
func (rc reportCampaign) ranNobody(id string, runs, elsewhere int) string {
	v := rc.view
	switch {
	case !rc.found && runs == 0:
		return fmt.Sprintf("no messages found for campaign %s (visibility lags a few seconds behind)", id)
	case runs == 0 && !v.closed():
		return fmt.Sprintf("campaign %s has run nobody yet (it is %s; visibility lags a few seconds behind)", id, cmp.Or(string(statusOf(rc)), "starting"))
	case runs == 0 && v.Failure != "":
		return fmt.Sprintf("campaign %s ran nobody: it ended %s: %s", id, v.WorkflowStatus, v.Failure)
	case runs == 0 && rc.progress != nil && rc.progress.Counts.Done() > rc.progress.Counts.Skipped:
		return fmt.Sprintf("no messages found for campaign %s, which handled %d recipients (visibility lags a few seconds behind)", id, rc.progress.Counts.Done()-rc.progress.Counts.Skipped)
	case runs == 0:
		return fmt.Sprintf("campaign %s ran nobody: it ended %s%s", id, v.WorkflowStatus, skippedAll(rc.progress))
	case rc.progress != nil && v.closed() && rc.progress.Counts.Skipped > 0 && rc.progress.Counts.Done() == rc.progress.Counts.Skipped && elsewhere == 0:
		all := fmt.Sprintf("its %d recipients were all skipped", rc.progress.Counts.Skipped)
		if rc.progress.Counts.Skipped == 1 {
			all = "its one recipient was skipped"
		}
		return fmt.Sprintf("campaign %s's latest start ran nobody: %s (listed twice, or handled by an earlier start of the campaign); the rows are of its earlier runs", id, all)
	}
	return ""
}

func statusOf(rc reportCampaign) workflows.CampaignStatus {
	if rc.progress == nil {
		return ""
	}
	return rc.progress.Status
}

func skippedAll(p *reportProgress) string {
	switch {
	case p == nil:
		return ""
	case p.Counts.Skipped > 0:
		return fmt.Sprintf(", its %d recipients all skipped", p.Counts.Skipped)
	case p.Total == 0:
		return ", with no recipients"
	}
	return ""
}
