// Package campaignfile reads a campaign from a file, YAML or JSON, that a
// person writes once and starts, previews and keeps with the recipients:
// the sequence of steps applied to each recipient, the sender account, the
// sending window and the pacing.
//
// The format (testdata/example.yaml is a complete example):
//
//	name: Spring launch          # optional, shown in status and the Temporal UI
//	id: spring-2026              # optional campaign id (the starter's --id overrides it)
//	sender: alice                # the worker's sender account (default "default")
//	recipients: people.csv       # optional CSV (--csv overrides it), relative to this file
//	window: {time_zone: Europe/Berlin, days: mon-fri, hours: "09:00-17:30"}
//	pacing: {min_gap: 2m, max_gap: 6m, hourly_cap: 10, daily_cap: 30}
//	send_deadline: 72h           # optional, per message (see workflows.CampaignInput)
//	poll_deadline: 48h           # optional
//	contact_policy: {scope: account, window: 90d}  # optional: the default; scope all, or contact_policy: allow
//	steps:
//	  - connect:
//	      note: "Hi {{first_name}}, ..."
//	  - wait_for_connection: {timeout: 14d, check_every: 12h}
//	  - message: |
//	      Thanks for connecting, {{first_name}}! ...
//	  - wait: {duration: 3d, sending_days_only: true}
//	  - message:
//	      name: follow-up
//	      text: ...
//
// Each step is a mapping with one key, the step's type, whose value holds
// the step's settings:
//
//	connect              note (optional; at most 300 characters) or variants, name
//	message              text (required) or variants, name
//	wait                 duration (required), sending_days_only, name
//	wait_for_connection  timeout (default 14d), check_every (default 12h), name
//
// A step's one main setting may stand alone as the value: "- message: TEXT",
// "- connect: NOTE", "- wait: 3d"; a connect or wait_for_connection step
// without settings is written "- connect" or "- wait_for_connection".
// Durations are Go durations ("90s", "45m", "12h") or start with days
// ("3d", "1d12h"). Texts take {{variable}} placeholders, filled from each
// recipient's CSV columns, and spintax choices, {Hi|Hello} (see
// recipients.ParseTemplate). Instead of its text, a message or connect
// step may list variants for an A/B test, each {name, text (note for a
// connect step), weight} or its text alone, named A, B, C... when not
// named:
//
//	steps:
//	  - message:
//	      variants:
//	        - {name: short, text: "{Hi|Hello} {{first_name}}!", weight: 2}
//	        - {name: long, text: "..."}
//
// Keys not listed here are errors, so that a typo is not silently ignored.
//
// JSON files have the same shape and are read by the same parser, so that
// problems are reported with their line either way.
package campaignfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/outpacehq/outpace/activities"
	"github.com/outpacehq/outpace/recipients"
	"github.com/outpacehq/outpace/workflows"
)

// File is a campaign file, read and checked.
type File struct {
	// Name is the file's name as given to Load or Parse; problems start
	// with it.
	Name string
	// ID is the campaign id the file gives, "" if none.
	ID string
	// Recipients is the absolute path of the CSV of recipients the file
	// names (resolved against the file's directory), "" if none.
	Recipients string
	// Input is the campaign: name, sender, steps, window, pacing and
	// deadlines. Its CampaignID and recipients are left to the caller,
	// which may take them from ID and Recipients or from its own flags.
	Input workflows.CampaignInput

	lines map[string]int // a field's path in the file → line of its value
	// inputPath maps a field of the campaign's input, as Validate and
	// package recipients name it (steps[0].template), to the path of the
	// file's node that holds it (steps[0].connect.note).
	inputPath map[string]string
	texts     map[string]*yaml.Node // a text's path in the file → its node
}

// TextProblem places a problem found at line and column (from 1, as
// package recipients counts them) of a text of the campaign's input, named
// as Validate and package recipients name it (steps[2].template,
// steps[0].variants[1].text), in the file: under the file's field that
// holds the text (steps[2].message, steps[0].connect.variants[1].note), at
// the line of the file where that place is. The rule is prefixed with the
// place's column in the text, and its line in the text too when the
// text's lines are not the file's (a quoted text of several lines). ok is
// false when the file holds no such text.
func (f File) TextProblem(inputField string, line, column int, rule string) (p Problem, ok bool) {
	field, ok := f.inputPath[inputField]
	if !ok || f.texts[field] == nil {
		return Problem{}, false
	}
	fileLine, where := textPlace(f.texts[field], line, column)
	if where != "" {
		rule = where + ": " + rule
	}
	return Problem{Line: fileLine, Field: field, Rule: rule}, true
}

// textOf is the text of the input's field, as the file gives it.
func (f File) textOf(inputField string) string {
	if n := f.texts[f.inputPath[inputField]]; n != nil {
		return trimEnd(n.Value)
	}
	return ""
}

// textPlace is where line and column of the text of the scalar n are: the
// file's line, and what locates the place in it.
//
// A block of text ("message: |") starts on the line after its key, and its
// lines are the file's; a text written on the key's line ("message: Hi",
// quoted or not) is there. Only the lines of a folded block ("message: >")
// or of a quoted text with line breaks ("Hi\nthere") are not the file's:
// the file's line is then where the text starts, and the text's own line is
// named too.
func textPlace(n *yaml.Node, line, column int) (fileLine int, where string) {
	if line < 1 {
		return n.Line, ""
	}
	where = fmt.Sprintf("column %d", column)
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		return n.Line + line, where
	case !strings.Contains(trimEnd(n.Value), "\n"):
		if n.Style&yaml.FoldedStyle != 0 {
			return n.Line + 1, where
		}
		return n.Line, where
	}
	where = fmt.Sprintf("line %d, column %d", line, column)
	if n.Style&yaml.FoldedStyle != 0 {
		return n.Line + 1, where
	}
	return n.Line, where
}

// Line is the line of the file where field (a path in the file's keys,
// such as "recipients" or "steps[2].message") is written; the line of the
// nearest enclosing field when it is absent; 0 when none is known.
func (f File) Line(field string) int {
	return lineOf(f.lines, field)
}

// MaxFileSize bounds a campaign file: steps, settings and templates, never
// the recipients (those are in the CSV).
const MaxFileSize = 1 << 20

// Load reads and checks a campaign file; see Parse.
func Load(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	switch {
	case err != nil:
		return File{}, fmt.Errorf("%s: %w", path, err)
	case len(data) > MaxFileSize:
		return File{}, fmt.Errorf("%s: larger than %d MB: a campaign file holds steps and settings, recipients go in a CSV file", path, MaxFileSize>>20)
	}
	return Parse(path, data)
}

// Parse reads a campaign file's content, YAML or JSON; name is the file's
// name, which problems start with and relative recipient paths are resolved
// against. It checks the whole campaign, as workflows.CampaignInput's
// Validate does and more (unknown keys, types, each step's settings), and
// returns every problem at once as *Errors, each with its line and field.
// Whether recipients are given is left to the caller, which may take them
// from elsewhere.
func Parse(name string, data []byte) (File, error) {
	d := &decoder{file: File{
		Name:      name,
		lines:     map[string]int{},
		inputPath: map[string]string{"campaign_id": "id", "template": "steps", "recipients_file": "recipients", "recipients_file.path": "recipients"},
		texts:     map[string]*yaml.Node{},
	}}
	d.inputPath = d.file.inputPath
	if root := d.document(name, data); root != nil {
		if d.campaign(root) {
			d.validate()
		}
	}
	if len(d.problems) > 0 {
		sort.SliceStable(d.problems, func(i, j int) bool {
			a, b := d.problems[i].Line, d.problems[j].Line
			return a != 0 && (b == 0 || a < b) // a problem without a line last
		})
		return File{}, &Errors{File: name, Problems: d.problems}
	}
	return d.file, nil
}

// decoder reads the file's YAML nodes into a File, recording every problem
// rather than stopping at the first.
type decoder struct {
	file       File
	problems   []Problem
	structural int // problems found reading the nodes (before Validate's)
	// inputPath maps a field path of workflows.CampaignInput, as Validate
	// names it (steps[0].template), to the path of the file's node that
	// holds it (steps[0].connect.note).
	inputPath map[string]string
}

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.problems = append(d.problems, Problem{Line: line, Field: field, Rule: fmt.Sprintf(format, args...)})
	d.structural = len(d.problems)
}

// yamlLine is where the YAML parser places a syntax error.
var yamlLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// document parses the file into its root node, or records why it cannot.
func (d *decoder) document(name string, data []byte) *yaml.Node {
	if strings.EqualFold(filepath.Ext(name), ".json") {
		// YAML reads JSON and more (trailing commas, comments): a file
		// named .json must be JSON, so that other tools read it too.
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			var syn *json.SyntaxError
			line := 0
			if errors.As(err, &syn) {
				line = 1 + bytes.Count(data[:min(int(syn.Offset), len(data))], []byte("\n"))
			}
			d.fail(nil, "", "invalid JSON: %v", err)
			d.problems[len(d.problems)-1].Line = line
			return nil
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			d.fail(nil, "", "the file is empty; a campaign needs at least its steps")
			return nil
		}
		d.syntax(err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.fail(&next, "", "a campaign file holds one YAML document; this is a second one (after a --- line)")
	case err != io.EOF:
		d.syntax(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if isNull(root) {
		d.fail(root, "", "the file is empty; a campaign needs at least its steps")
		return nil
	}
	return root
}

func (d *decoder) syntax(err error) {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.fail(&yaml.Node{Line: line}, "", "invalid YAML: %s", m[2])
		return
	}
	d.fail(nil, "", "invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
}

// campaign reads the top-level mapping; false if n is not one.
func (d *decoder) campaign(n *yaml.Node) bool {
	f := &d.file
	in := &f.Input
	seen := d.object(n, "", "a campaign", []key{
		{"name", func(v *yaml.Node, field string) { in.Name, _ = d.text(v, field) }},
		{"id", func(v *yaml.Node, field string) { f.ID = d.required(v, field) }},
		{"sender", func(v *yaml.Node, field string) { in.Sender = d.sender(v, field) }},
		{"recipients", func(v *yaml.Node, field string) { f.Recipients = d.recipients(v, field) }},
		{"window", func(v *yaml.Node, field string) {
			d.object(v, field, "the sending window", []key{
				{"time_zone", func(v *yaml.Node, field string) { in.Window.TimeZone = d.required(v, field) }},
				{"days", func(v *yaml.Node, field string) { in.Window.Days = d.required(v, field) }},
				{"hours", func(v *yaml.Node, field string) { in.Window.Hours = d.required(v, field) }},
			})
		}},
		{"pacing", func(v *yaml.Node, field string) {
			d.object(v, field, "the pacing", []key{
				{"min_gap", func(v *yaml.Node, field string) { in.Pacing.MinGap = d.durationPtr(v, field) }},
				{"max_gap", func(v *yaml.Node, field string) { in.Pacing.MaxGap = d.durationPtr(v, field) }},
				{"hourly_cap", func(v *yaml.Node, field string) { in.Pacing.HourlyCap = d.count(v, field) }},
				{"daily_cap", func(v *yaml.Node, field string) { in.Pacing.DailyCap = d.count(v, field) }},
			})
		}},
		{"send_deadline", func(v *yaml.Node, field string) { in.SendDeadline = d.positive(v, field) }},
		{"poll_deadline", func(v *yaml.Node, field string) { in.PollDeadline = d.positive(v, field) }},
		{"contact_policy", func(v *yaml.Node, field string) { in.ContactPolicy = d.contactPolicy(v, field) }},
		{"steps", d.steps},
	})
	if seen != nil && !seen["steps"] {
		d.fail(n, "steps", "is required: the sequence applied to each recipient, e.g. steps: [{message: \"Hi {{first_name}}!\"}]")
	}
	return seen != nil
}

// validate checks the campaign as the worker will, mapping each problem
// Validate names to the file's line and key. A problem already found in
// the same place while reading the file is not repeated.
func (d *decoder) validate() {
	in := d.file.Input
	in.CampaignID = d.file.ID
	// Recipients may come from the starter's flags instead: they are the
	// caller's to check, so any path stands in for them here.
	in.RecipientsFile = &activities.RecipientsFile{Path: d.file.Recipients}
	if in.RecipientsFile.Path == "" {
		in.RecipientsFile.Path = string(filepath.Separator) + "recipients.csv"
	}
	for _, e := range errorLeaves(in.Validate()) {
		msg := e.Error()
		path, rule := msg, ""
		if m := inputField.FindStringSubmatch(msg); m != nil {
			path, rule = m[1], m[2]
		}
		// A text's problem at its line and column (spintax, a
		// placeholder) is at a line of the file.
		var te *recipients.TemplateError
		if errors.As(e, &te) && te.Line > 0 && rule != "" {
			rule := te.Rule
			if !strings.Contains(d.file.textOf(path), "\n") {
				rule = te.OneLineRule()
			}
			if p, ok := d.file.TextProblem(path, te.Line, te.Column, rule); ok {
				if !d.reported(p.Field) {
					d.problems = append(d.problems, p)
				}
				continue
			}
		}
		if path == "template" && len(in.Steps) == 0 {
			continue // a campaign without steps: reading the file said so
		}
		field := path
		if f, ok := d.inputPath[path]; ok {
			field = f
		}
		if rule == "" {
			field, rule = "", msg
		}
		if field != "" && d.reported(field) {
			continue
		}
		d.problems = append(d.problems, Problem{Line: lineOf(d.file.lines, field), Field: field, Rule: rule})
	}
}

// inputField is the field path that starts a problem of Validate:
// "steps[0].template: ...", "pacing.min_gap: ...".
var inputField = regexp.MustCompile(`(?s)^([A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\])*(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\])*)*): (.*)$`)

// errorLeaves lists the problems of a joined error, one error each.
func errorLeaves(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, errorLeaves(e)...)
		}
		return out
	}
	return []error{err}
}

// reported says whether reading the file found a problem at field, or in
// a field that holds it or that it holds: Validate then says it again.
func (d *decoder) reported(field string) bool {
	for _, p := range d.problems[:d.structural] {
		if p.Field == field || within(field, p.Field) || within(p.Field, field) {
			return true
		}
	}
	return false
}

// within says whether field is inside parent: steps[2].message in steps[2].
func within(field, parent string) bool {
	return parent != "" && strings.HasPrefix(field, parent) && len(field) > len(parent) &&
		(field[len(parent)] == '.' || field[len(parent)] == '[')
}

// lineOf finds field's line, or that of the nearest field holding it.
func lineOf(lines map[string]int, field string) int {
	for field != "" {
		if l, ok := lines[field]; ok {
			return l
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			break
		}
		field = field[:i]
	}
	return lines[""]
}
