package campaignfile

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/outpacehq/outpace/senders"
	"github.com/outpacehq/outpace/workflows"
)

// key is a known key of a mapping and what reads its value; field is the
// value's path in the file.
type key struct {
	name string
	read func(v *yaml.Node, field string)
}

// object reads a mapping whose keys are known, reporting unknown and
// repeated keys. what names the mapping for a person ("the pacing"). It
// returns the keys seen, nil when n is not a mapping.
func (d *decoder) object(n *yaml.Node, field, what string, keys []key) map[string]bool {
	n = resolve(n)
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want %s as a mapping of %s; found %s", what, strings.Join(names, ", "), describe(n))
		return nil
	}
	d.file.lines[field] = n.Line
	seen := map[string]bool{}
	firstAt := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := join(field, k.Value)
		switch j := slices.Index(names, k.Value); {
		case k.Kind != yaml.ScalarNode:
			d.fail(k, field, "a key must be a name; found %s", describe(k))
		case seen[k.Value]:
			d.fail(k, path, "repeated key (first at line %d)", firstAt[k.Value])
		case j < 0:
			d.fail(k, path, "unknown key%s; %s has %s", suggest(k.Value, names), what, strings.Join(names, ", "))
		default:
			seen[k.Value], firstAt[k.Value] = true, k.Line
			d.file.lines[path] = v.Line
			keys[j].read(v, path)
		}
	}
	return seen
}

// text reads a scalar as text; a null (an empty value) is absent. A number
// or boolean is read as written: name: 2026 is the text "2026".
func (d *decoder) text(n *yaml.Node, field string) (string, bool) {
	n = resolve(n)
	switch {
	case isNull(n):
		return "", false
	case n.Kind != yaml.ScalarNode:
		d.fail(n, field, "want text; found %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// required reads text that, when its key is written, must not be empty.
func (d *decoder) required(n *yaml.Node, field string) string {
	s, ok := d.text(n, field)
	if ok && strings.TrimSpace(s) == "" || !ok && isNull(resolve(n)) {
		d.fail(n, field, "must not be empty (leave the key out for the default)")
	}
	return s
}

func (d *decoder) sender(n *yaml.Node, field string) string {
	s := d.required(n, field)
	if s != "" && !senders.ValidName(s) {
		d.fail(n, field, "%q: a sender's name is lowercase letters, digits, '-' and '_' (at most 63), as in the worker's configuration", s)
	}
	return s
}

// recipients resolves the CSV's path against the file's directory: the
// file and its recipients travel together.
func (d *decoder) recipients(n *yaml.Node, field string) string {
	s := d.required(n, field)
	if s == "" {
		return ""
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(filepath.Dir(d.file.Name), s)
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		d.fail(n, field, "%v", err)
		return ""
	}
	return abs
}

func (d *decoder) duration(n *yaml.Node, field string) (time.Duration, bool) {
	n = resolve(n)
	switch {
	case isNull(n):
		d.fail(n, field, "want a duration such as 90s, 45m, 12h, 3d or 1d12h; found nothing")
		return 0, false
	case n.Kind != yaml.ScalarNode:
		d.fail(n, field, "want a duration such as 90s, 45m, 12h, 3d or 1d12h; found %s", describe(n))
		return 0, false
	case n.Tag == "!!int" || n.Tag == "!!float":
		d.fail(n, field, "%s: a duration needs its unit, such as %ss, %sm or %sd", n.Value, n.Value, n.Value, n.Value)
		return 0, false
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		d.fail(n, field, "%v", err)
		return 0, false
	}
	return v, true
}

// durationPtr reads a pacing gap, whose rules are Validate's.
func (d *decoder) durationPtr(n *yaml.Node, field string) *workflows.Duration {
	v, ok := d.duration(n, field)
	if !ok {
		return nil
	}
	w := workflows.Duration(v)
	return &w
}

// contactPolicy reads contact_policy: "allow" (or a scope alone), or a
// mapping of scope and window. Validate checks the values.
func (d *decoder) contactPolicy(n *yaml.Node, field string) *workflows.ContactPolicy {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		s, _ := d.text(n, field)
		return &workflows.ContactPolicy{Scope: s}
	}
	if isNull(n) {
		d.fail(n, field, "want allow, or a mapping of scope (account or all) and window (such as 90d); found nothing (leave the key out for the default: account, 90d)")
		return nil
	}
	p := &workflows.ContactPolicy{}
	if d.object(n, field, "the contact policy", []key{
		{"scope", func(v *yaml.Node, field string) { p.Scope = d.required(v, field) }},
		{"window", func(v *yaml.Node, field string) {
			if _, ok := d.duration(v, field); ok {
				p.Window = resolve(v).Value
			}
		}},
	}) == nil {
		return nil
	}
	return p
}

// positive reads a duration that must be more than zero.
func (d *decoder) positive(n *yaml.Node, field string) workflows.Duration {
	v, ok := d.duration(n, field)
	if ok && v <= 0 {
		d.fail(n, field, "must be positive")
	}
	return workflows.Duration(v)
}

// count reads a cap: a whole number, 0 for no cap (Validate checks the rest).
func (d *decoder) count(n *yaml.Node, field string) *int {
	n = resolve(n)
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		d.fail(n, field, "want a whole number (0 for no cap); found %s", describe(n))
		return nil
	}
	return &v
}

func (d *decoder) flag(n *yaml.Node, field string) bool {
	n = resolve(n)
	var v bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		d.fail(n, field, "want true or false; found %s", describe(n))
	}
	return v
}

// stepTypes lists the step types in the order a sequence usually has them.
var stepTypes = []string{
	string(workflows.StepConnect), string(workflows.StepWaitForConnection),
	string(workflows.StepMessage), string(workflows.StepWait),
}

func (d *decoder) steps(n *yaml.Node, field string) {
	n = resolve(n)
	switch {
	case n.Kind != yaml.SequenceNode:
		d.fail(n, field, "want a list of steps, each written \"- <type>: <settings>\" with a type among %s; found %s", strings.Join(stepTypes, ", "), describe(n))
		return
	case len(n.Content) == 0:
		d.fail(n, field, "at least one step is required")
	case len(n.Content) > workflows.MaxSteps:
		d.fail(n, field, "at most %d steps (there are %d)", workflows.MaxSteps, len(n.Content))
	}
	for i, item := range n.Content {
		path := fmt.Sprintf("%s[%d]", field, i)
		d.file.lines[path] = item.Line
		// A broken step still takes its place, so that the steps after it
		// keep their numbers in Validate's problems.
		d.file.Input.Steps = append(d.file.Input.Steps, d.step(resolve(item), path))
	}
}

// step reads one step: a mapping with one key, its type, whose value holds
// its settings; or the bare type of a step without settings.
func (d *decoder) step(n *yaml.Node, field string) workflows.Step {
	d.inputPath[field+".type"] = field
	var typeNode, settings *yaml.Node
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		typeNode = n
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		typeNode, settings = n.Content[0], resolve(n.Content[1])
	case n.Kind == yaml.MappingNode && len(n.Content) > 2:
		var keys []string
		for i := 0; i < len(n.Content); i += 2 {
			keys = append(keys, n.Content[i].Value)
		}
		if slices.Contains(keys, "type") {
			d.fail(n, field, "write a step as its type with its settings under it, e.g. \"- connect: {note: ...}\", not with a type: key")
		} else {
			d.fail(n, field, "a step has one key, its type (%s); found %s: are the step's settings indented under its type?", strings.Join(stepTypes, ", "), strings.Join(keys, ", "))
		}
		return workflows.Step{}
	default:
		d.fail(n, field, "want a step such as \"- message: TEXT\", with a type among %s; found %s", strings.Join(stepTypes, ", "), describe(n))
		return workflows.Step{}
	}
	typ := typeNode.Value
	path := join(field, typ)
	if settings != nil {
		d.file.lines[path] = settings.Line
	}
	st := workflows.Step{Type: workflows.StepType(typ)}
	// Validate names a step's fields as the workflow input has them;
	// they point to the file's keys, or to the step's one value.
	alias := func(input, key string) {
		if settings != nil && settings.Kind == yaml.MappingNode {
			d.inputPath[field+"."+input] = join(path, key)
		} else {
			d.inputPath[field+"."+input] = path
		}
	}
	for _, k := range []string{"name", "duration", "sending_days_only", "timeout", "check_every"} {
		alias(k, k)
	}
	named := func(v *yaml.Node, f string) { st.Name = d.required(v, f) }
	switch workflows.StepType(typ) {
	case workflows.StepMessage:
		alias("template", "text")
		alias("variants", "variants")
		switch {
		case settings == nil || isNull(settings):
			d.fail(typeNode, path, "needs the message's text: \"- message: TEXT\", or \"- message: {text: TEXT, name: NAME}\"")
		case settings.Kind == yaml.MappingNode:
			seen := d.object(settings, path, "a message step", []key{
				{"text", func(v *yaml.Node, f string) { st.Template = d.message(v, f) }},
				{"variants", func(v *yaml.Node, f string) { st.Variants = d.variants(v, f, field, "text", "the message") }},
				{"name", named},
			})
			switch {
			case seen == nil:
			case seen["text"] && seen["variants"]:
				d.fail(settings, join(path, "variants"), "give the message's text or its variants, not both")
			case !seen["text"] && !seen["variants"]:
				d.fail(settings, join(path, "text"), "is required: the message, with {{variable}} placeholders (or variants: a list of {name, text, weight})")
			}
		default:
			st.Template = d.message(settings, path)
		}
	case workflows.StepConnect:
		alias("template", "note")
		alias("variants", "variants")
		switch {
		case settings == nil || isNull(settings):
		case settings.Kind == yaml.MappingNode:
			seen := d.object(settings, path, "a connect step", []key{
				{"note", func(v *yaml.Node, f string) { st.Template = d.note(v, f) }},
				{"variants", func(v *yaml.Node, f string) { st.Variants = d.variants(v, f, field, "note", "the note") }},
				{"name", named},
			})
			if seen["note"] && seen["variants"] {
				d.fail(settings, join(path, "variants"), "give the note or its variants, not both")
			}
		default:
			st.Template = d.note(settings, path)
		}
	case workflows.StepWait:
		wait := func(v *yaml.Node, f string) {
			if w := d.positive(v, f); w > 0 {
				st.Duration = w
			}
		}
		switch {
		case settings == nil || isNull(settings):
			d.fail(typeNode, path, "needs how long: \"- wait: 3d\", or \"- wait: {duration: 3d, sending_days_only: true}\"")
		case settings.Kind == yaml.MappingNode:
			seen := d.object(settings, path, "a wait step", []key{
				{"duration", wait},
				{"sending_days_only", func(v *yaml.Node, f string) { st.SendingDaysOnly = d.flag(v, f) }},
				{"name", named},
			})
			if seen != nil && !seen["duration"] {
				d.fail(settings, join(path, "duration"), "is required: how long to wait, e.g. 3d")
			}
		default:
			wait(settings, path)
		}
	case workflows.StepWaitForConnection:
		switch {
		case settings == nil || isNull(settings):
		case settings.Kind == yaml.MappingNode:
			d.object(settings, path, "a wait_for_connection step", []key{
				{"timeout", func(v *yaml.Node, f string) { st.Timeout = d.positive(v, f) }},
				{"check_every", func(v *yaml.Node, f string) {
					st.CheckEvery = d.positive(v, f)
					if st.CheckEvery > 0 && time.Duration(st.CheckEvery) < workflows.MinConnectionCheckEvery {
						d.fail(v, f, "at least %s: each check is a LinkedIn action, paced and capped like a message", FormatDuration(workflows.MinConnectionCheckEvery))
					}
				}},
				{"name", named},
			})
		default:
			d.fail(settings, path, "takes {timeout: 14d, check_every: 12h}, or nothing for those defaults; found %s", describe(settings))
		}
	case "type":
		d.fail(typeNode, field, "write a step as its type with its settings under it, e.g. \"- connect: {note: ...}\", not with a type: key")
	default:
		d.fail(typeNode, field, "unknown step type %q%s; a step is one of %s", typ, suggest(typ, stepTypes), strings.Join(stepTypes, ", "))
	}
	return st
}

// variants reads a step's variants: a list whose items are mappings of
// name, the text (under textKey: "text" for a message, "note" for a
// connection request) and weight, or a text alone. A variant without a
// name is named by its place, A, B, C... step is the step's path in the
// workflow input (steps[2]), whose problems point here.
func (d *decoder) variants(n *yaml.Node, field, step, textKey, what string) []workflows.Variant {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.fail(n, field, "want a list of variants, each {name: A, %s: ..., weight: 1}; found %s", textKey, describe(n))
		return []workflows.Variant{} // not none: the text is not missing
	}
	d.inputPath[step+".variants"] = field
	out := make([]workflows.Variant, len(n.Content))
	for i, item := range n.Content {
		item = resolve(item)
		path := fmt.Sprintf("%s[%d]", field, i)
		in := fmt.Sprintf("%s.variants[%d]", step, i)
		d.file.lines[path] = item.Line
		d.inputPath[in] = path
		v := &out[i]
		switch {
		case item.Kind == yaml.MappingNode:
			seen := d.object(item, path, "a variant", []key{
				{"name", func(x *yaml.Node, f string) { v.Name = d.required(x, f) }},
				{textKey, func(x *yaml.Node, f string) {
					if textKey == "note" {
						v.Text = d.note(x, f)
					} else {
						v.Text = d.message(x, f)
					}
				}},
				{"weight", func(x *yaml.Node, f string) { v.Weight = d.weight(x, f) }},
			})
			if seen != nil && !seen[textKey] && textKey == "text" {
				d.fail(item, join(path, textKey), "is required: %s's text in this variant", what)
			}
		case item.Kind == yaml.ScalarNode && !isNull(item) && textKey == "text":
			v.Text = d.message(item, path)
		case item.Kind == yaml.ScalarNode:
			v.Text = d.note(item, path)
		default:
			d.fail(item, path, "want a variant {name: A, %s: ..., weight: 1}, or its text alone; found %s", textKey, describe(item))
		}
		if v.Name == "" && i < 26 {
			v.Name = string(rune('A' + i))
		}
		for _, k := range []string{"name", "weight"} {
			d.inputPath[in+"."+k] = join(path, k)
		}
		d.inputPath[in+".text"] = join(path, textKey)
		if item.Kind != yaml.MappingNode {
			d.inputPath[in+".text"] = path
		}
	}
	return out
}

// weight reads a variant's weight: a whole number from 1.
func (d *decoder) weight(n *yaml.Node, field string) int {
	n = resolve(n)
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil || v < 1 {
		d.fail(n, field, "want a whole number from 1 (the variant's share: weights 2 and 1 send two thirds of the recipients the first); found %s", describe(n))
		return 1
	}
	return v
}

// message reads a message's text, which must not be empty.
func (d *decoder) message(n *yaml.Node, field string) string {
	d.file.texts[field] = resolve(n)
	return trimEnd(d.required(n, field))
}

// note reads a connection request's note, which may be empty.
func (d *decoder) note(n *yaml.Node, field string) string {
	d.file.texts[field] = resolve(n)
	s, _ := d.text(n, field)
	return trimEnd(s)
}

// trimEnd drops the line break that ends a block of text ("message: |"),
// which the author did not mean to send.
func trimEnd(s string) string { return strings.TrimRight(s, "\r\n") }

// resolve follows an alias (*name) to its anchor (&name).
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null" || n.Kind == 0
}

// describe names what a node is, for "found ..." in a problem.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!int" || n.Tag == "!!float":
		return "the number " + n.Value
	case n.Tag == "!!bool":
		return n.Value
	}
	v := n.Value
	if r := []rune(v); len(r) > 40 {
		v = string(r[:40]) + "…"
	}
	return fmt.Sprintf("%q", v)
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// suggest names the known name closest to a misspelt one.
func suggest(got string, names []string) string {
	best, dist := "", 3 // more than 2 edits away is no typo
	for _, n := range names {
		if len(got) >= 4 && (strings.HasPrefix(n, got) || strings.HasPrefix(got, n)) {
			return fmt.Sprintf(" (did you mean %s?)", n) // sending_days for sending_days_only
		}
		if e := editDistance(strings.ToLower(got), n); e < dist {
			best, dist = n, e
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
