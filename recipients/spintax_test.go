package recipients

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/outpacehq/outpace/outx"
)

// outcomes renders text for n recipients of one campaign and counts each
// distinct text.
func outcomes(t *testing.T, text string, vars map[string]string, n int) map[string]int {
	t.Helper()
	tpl := mustTemplate(t, text).ForCampaign("spring")
	seen := map[string]int{}
	for i := range n {
		out, err := tpl.Render(fmt.Sprintf("urn:li:person:p%d", i), vars)
		if err != nil {
			t.Fatalf("Render(%q): %v", text, err)
		}
		seen[out]++
	}
	return seen
}

func TestSpintaxRenders(t *testing.T) {
	vars := map[string]string{"first_name": " Ada ", "x": "X"}
	cases := []struct {
		name, text string
		want       []string // every text the recipients may get, each drawn at least once among 300
	}{
		{"a choice", "{Hi|Hello|Hey} {{first_name}}", []string{"Hi Ada", "Hello Ada", "Hey Ada"}},
		{"nested", "{Hi|{Hello|Hey} there}", []string{"Hi", "Hello there", "Hey there"}},
		{"a placeholder in an alternative", "{Hi {{first_name}}|Hello}!", []string{"Hi Ada!", "Hello!"}},
		{"three braces: a choice starting with a placeholder", "Hi {{{first_name}}|there}", []string{"Hi Ada", "Hi there"}},
		{"four braces: two choices then a placeholder", "{{{{x}}|y}|z}", []string{"X", "y", "z"}},
		{"'}}' closes a placeholder, the next '}' a choice", "{a|{{x}}}", []string{"a", "X"}},
		{"whitespace alternatives are text", "Hi{ | there }.", []string{"Hi .", "Hi there ."}},
		{"escapes", `\{{Hi|Yo}\} \| a\|b \\ \n`, []string{`{Hi} | a|b \ \n`, `{Yo} | a|b \ \n`}},
		{"'|' outside a choice is text", "a|b {c|d}", []string{"a|b c", "a|b d"}},
		{"an escaped '{{' is not a placeholder", `\{\{x\}\} {{x}}`, []string{"{{x}} X"}},
		{"an escaped '|' inside a choice", `{a\|b|c}`, []string{"a|b", "c"}},
		{"multi-line alternatives", "{Hi,\nAda|Hello,\nAda}", []string{"Hi,\nAda", "Hello,\nAda"}},
		{"a lone backslash at the end", `Hi {a|b}\`, []string{`Hi a\`, `Hi b\`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := outcomes(t, tc.text, vars, 300)
			if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, slices.Sorted(slices.Values(tc.want))) {
				t.Errorf("%q rendered %q, want each of %q", tc.text, keys, tc.want)
			}
		})
	}
}

func TestSpintaxErrors(t *testing.T) {
	oneAlt := `; a choice is written {a|b} (a placeholder {{name}}, a literal brace \{)`
	cases := []struct {
		name, text string
		line, col  int
		rule       string
	}{
		{"unclosed choice", "Hi {there|you", 1, 4, `unclosed "{": a choice is written {a|b|c}; write \{ for a literal brace`},
		{"unclosed nested choice", "{a|{b|c}", 1, 1, `unclosed "{": a choice is written {a|b|c}; write \{ for a literal brace`},
		{"unclosed on a later line, columns in characters", "Grüße,\n  ünd {a|b", 2, 7, `unclosed "{": a choice is written {a|b|c}; write \{ for a literal brace`},
		{"a '}' closing nothing", "Hi }", 1, 4, `"}" closes no choice: write \} for a literal brace`},
		{"a '}' after a closed choice", "{a|b}}", 1, 6, `"}" closes no choice: write \} for a literal brace`},
		{"'}}' with no placeholder", "a\nb }}", 2, 3, `"}" closes no choice: write \} for a literal brace`},
		{"empty first alternative", "{|b}", 1, 2, "alternative 1 of the choice opened at line 1, column 1 is empty"},
		{"empty middle alternative", "x {a||b}", 1, 6, "alternative 2 of the choice opened at line 1, column 3 is empty"},
		{"empty last alternative", "{a|b|}", 1, 6, "alternative 3 of the choice opened at line 1, column 1 is empty"},
		{"empty nested alternative", "{a|{b|}}", 1, 7, "alternative 2 of the choice opened at line 1, column 4 is empty"},
		{"empty choice", "Hi {}", 1, 5, "alternative 1 of the choice opened at line 1, column 4 is empty"},
		{"one alternative: a placeholder missing a brace", "Hi {first_name}", 1, 4, `the choice "{first_name}" has one alternative` + oneAlt},
		{"an unclosed placeholder in a choice", "{Hi {{name|Hello}", 1, 5, `unclosed "{{": a placeholder is written {{name}}`},
		{"a bad name in a choice", "{Hi {{first name}}|Hello}", 1, 5, `invalid variable name "first name": a name starts with a letter or '_' and has only letters, digits, '_', '.' and '-'`},
		{"nested too deep", strings.Repeat("{a|", 21) + strings.Repeat("b}", 21), 1, 61, "choices nested more than 20 deep"},
		{"a run of braces too deep", strings.Repeat("{", 23) + "x}}" + strings.Repeat("|y}", 21), 1, 21, "choices nested more than 20 deep"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := ParseTemplate(tc.text)
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("ParseTemplate(%q) = %v, %v; want a *TemplateError", tc.text, tpl, err)
			}
			if te.Line != tc.line || te.Column != tc.col || te.Rule != tc.rule {
				t.Errorf("error at line %d, column %d: %q\nwant line %d, column %d: %q", te.Line, te.Column, te.Rule, tc.line, tc.col, tc.rule)
			}
			if want := fmt.Sprintf("template: line %d, column %d: %s", tc.line, tc.col, tc.rule); err.Error() != want {
				t.Errorf("Error() = %q, want %q", err, want)
			}
			checkTemplateError(t, tc.text, tpl, err)
			// For a text of one line, the places a rule names are
			// columns alone.
			if want := strings.ReplaceAll(tc.rule, "opened at line 1, column", "opened at column"); te.OneLineRule() != want {
				t.Errorf("OneLineRule() = %q, want %q", te.OneLineRule(), want)
			}
		})
	}
}

// TestSpintaxDeterministic: the text a recipient gets depends on the
// campaign, the recipient and the step, and on nothing else: not on the
// values, not on the template value used (parsed again, as a restarted
// worker does), not on other recipients rendered before.
func TestSpintaxDeterministic(t *testing.T) {
	const text = "{Hi|Hello|Hey|Howdy} {{first_name}}, {a|b|c|d|e|f|g|h} {x|{y|z} w}"
	vars := map[string]string{"first_name": "Ada"}
	render := func(campaign, urn string, reversed bool) []string {
		tpl := mustTemplate(t, text).ForCampaign(campaign)
		var out []string
		for i := range 200 {
			if reversed {
				i = 199 - i
			}
			s, err := tpl.Render(fmt.Sprintf("%s%d", urn, i), vars)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if reversed {
			slices.Reverse(out)
		}
		return out
	}
	first := render("spring", "urn:li:person:p", false)
	if again := render("spring", "urn:li:person:p", true); !slices.Equal(first, again) {
		t.Error("the same campaign and recipients, rendered again in another order, got other texts")
	}
	other, same := render("autumn", "urn:li:person:p", false), 0
	for i := range first {
		if first[i] == other[i] {
			same++
		}
	}
	// 4*8*3 = 96 texts: another campaign draws the same for about 1 in 96.
	if same > 20 {
		t.Errorf("another campaign drew the same text for %d of 200 recipients: the campaign does not key the draw", same)
	}
	// The step keys it too: the same person's note and message differ.
	parts := mustParts(t, Part{Kind: PartNote, Text: text}, Part{Kind: PartMessage, Text: text}).ForCampaign("spring")
	differ := 0
	for i := range 100 {
		p := Prepare(2, Recipient{RecipientURN: fmt.Sprintf("urn:li:person:p%d", i), Vars: vars}, parts)
		if len(p.Texts) != 2 {
			t.Fatalf("Prepare: %+v", p)
		}
		if p.Texts[0] != p.Texts[1] {
			differ++
		}
	}
	if differ < 80 {
		t.Errorf("steps 1 and 2 of the same text differ for %d of 100 recipients: the step does not key the draw", differ)
	}
}

func TestSpintaxLongestChecked(t *testing.T) {
	long := strings.Repeat("x", 9990)
	// Every row is checked with every choice at its longest, so that
	// whether a row is valid never depends on its draw.
	tpl := mustTemplate(t, "{Hi|"+long+"} {{name}}").ForCampaign("c")
	for i := range 20 {
		p := Prepare(2, Recipient{RecipientURN: fmt.Sprintf("urn:li:person:p%d", i), Vars: map[string]string{"name": "Adalbert"}}, tpl)
		if p.Problems != nil || p.Message == "" {
			t.Fatalf("9999 characters at the longest: %+v", p)
		}
		p = Prepare(2, Recipient{RecipientURN: fmt.Sprintf("urn:li:person:p%d", i), Vars: map[string]string{"name": "Adalbert Hugo"}}, tpl)
		if want := []string{"message: is 10004 characters long (UTF-16 code units, as OutX counts them); the limit is 10000 (with every choice at its longest)"}; !slices.Equal(p.Problems, want) || p.Message != "" {
			t.Fatalf("10004 characters at the longest: %+v\nwant %q", p, want)
		}
	}
	// A note: 300 after trimming, emoji counted as OutX counts them.
	emoji := "😀"
	note := mustParts(t, Part{Kind: PartNote, Text: "  {Hi|" + strings.Repeat(emoji, 140) + "} {{name}}\n"}).ForCampaign("c")
	p := Prepare(2, Recipient{RecipientURN: "urn:li:person:a", Vars: map[string]string{"name": strings.Repeat("a", 19)}}, note)
	if p.Problems != nil {
		t.Errorf("a note of 300 at the longest: %q", p.Problems)
	}
	p = Prepare(2, Recipient{RecipientURN: "urn:li:person:a", Vars: map[string]string{"name": strings.Repeat("a", 20)}}, note)
	if want := []string{"step 1 (note): note: is 301 characters long after trimming (UTF-16 code units, as OutX counts them); the limit is 300 (with every choice at its longest)"}; !slices.Equal(p.Problems, want) {
		t.Errorf("a note of 301 at the longest: %q\nwant %q", p.Problems, want)
	}
	if n := LongestFixedText(PartNote, "  {Hi|"+strings.Repeat(emoji, 140)+"} {{name}}\n", nil); n != 280 {
		t.Errorf("LongestFixedText = %d, want 280 (the space before the empty variable trimmed)", n)
	}
	if n := LongestFixedText(PartNote, "", []Variant{{Name: "a", Text: "{ab|abcd} {{x}}"}, {Name: "b"}}); n != 4 {
		t.Errorf("LongestFixedText of variants = %d, want 4", n)
	}
}

// TestChooseVariantSplit: over 10,000 recipients each variant's share is
// within 5% (of the whole) of its weight's, and the draw is the same the
// second time.
func TestChooseVariantSplit(t *testing.T) {
	for _, weights := range [][]int{{1, 1}, {2, 1}, {1, 1, 1}, {5, 3, 2}, {1, 0, 1}, {70, 20, 10}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}} {
		t.Run(fmt.Sprint(weights), func(t *testing.T) {
			const n = 10000
			counts := make([]int, len(weights))
			draws := make([]int, n)
			for i := range n {
				d := Draw{Campaign: "spring-2026", Recipient: fmt.Sprintf("urn:li:person:ACoAA%05d", i), Step: 1}
				draws[i] = ChooseVariant(d, weights)
				counts[draws[i]]++
			}
			total := 0
			for _, w := range weights {
				total += max(w, 1)
			}
			for i, w := range weights {
				want := float64(max(w, 1)) / float64(total)
				got := float64(counts[i]) / n
				if math.Abs(got-want) > 0.05 {
					t.Errorf("variant %d (weight %d): %.3f of recipients, want %.3f ± 0.05", i, w, got, want)
				}
				t.Logf("variant %d (weight %d): %d of %d (%.3f, want %.3f)", i, w, counts[i], n, got, want)
			}
			for i := range n {
				d := Draw{Campaign: "spring-2026", Recipient: fmt.Sprintf("urn:li:person:ACoAA%05d", i), Step: 1}
				if ChooseVariant(d, weights) != draws[i] {
					t.Fatalf("recipient %d drew another variant the second time", i)
				}
			}
		})
	}
}

func TestVariantsErrors(t *testing.T) {
	cases := []struct {
		name string
		vs   []Variant
		want string
	}{
		{"none", nil, "variants: give two or more (there are 0); a single text needs no variant"},
		{"one", []Variant{{Name: "A", Text: "Hi"}}, "variants: give two or more (there are 1); a single text needs no variant"},
		{"too many", slices.Repeat([]Variant{{Name: "A", Text: "Hi"}}, 11)[:11], "variants: at most 10 (there are 11)"},
		{"no name", []Variant{{Name: "A", Text: "Hi"}, {Text: "Yo"}}, "variants[1].name: is required: it names the variant in status and reports"},
		{"same name", []Variant{{Name: "A", Text: "Hi"}, {Name: "A", Text: "Yo"}}, `variants[1].name: "A" is also variants[0]'s name`},
		{"spaces around a name", []Variant{{Name: "A ", Text: "Hi"}, {Name: "B", Text: "Yo"}}, `variants[0].name: "A " must be at most 40 characters, without control characters or surrounding spaces`},
		{"negative weight", []Variant{{Name: "A", Text: "Hi", Weight: -1}, {Name: "B", Text: "Yo"}}, "variants[0].weight: must be between 1 and 1000 (default 1)"},
		{"huge weight", []Variant{{Name: "A", Text: "Hi", Weight: 1001}, {Name: "B", Text: "Yo"}}, "variants[0].weight: must be between 1 and 1000 (default 1)"},
		{"a bad text", []Variant{{Name: "A", Text: "Hi"}, {Name: "B", Text: "Yo {a|"}}, `variants[1].text: line 1, column 4: unclosed "{": a choice is written {a|b|c}; write \{ for a literal brace`},
		{"an empty message", []Variant{{Name: "A", Text: "Hi"}, {Name: "B"}}, "variants[1].text: must not be empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "too many" {
				for i := range tc.vs {
					tc.vs[i].Name = fmt.Sprint(i)
				}
			}
			tpl, err := ParseVariants(tc.vs)
			if err == nil || err.Error() != tc.want || tpl != nil {
				t.Fatalf("ParseVariants = %v, %v; want %q", tpl, err, tc.want)
			}
		})
	}
	// In a step, the error names the step and the variant; a message and
	// variants at once are refused.
	_, err := ParseParts([]Part{{Kind: PartNote, Variants: []Variant{{Name: "A", Text: "{x"}, {Name: "B"}}}})
	if want := `steps[0].variants[0].text: line 1, column 1: unclosed "{": a choice is written {a|b|c}; write \{ for a literal brace`; err == nil || err.Error() != want {
		t.Errorf("ParseParts = %v, want %q", err, want)
	}
	_, err = ParseParts([]Part{{Kind: PartMessage, Text: "Hi", Variants: []Variant{{Name: "A", Text: "x"}, {Name: "B", Text: "y"}}}})
	if want := "steps[0].variants: give the text or its variants, not both"; err == nil || err.Error() != want {
		t.Errorf("ParseParts = %v, want %q", err, want)
	}
}

func TestPrepareVariants(t *testing.T) {
	vs := []Variant{{Name: "short", Text: "{Hi|Hey} {{first_name}}", Weight: 2}, {Name: "long", Text: "Hello {{first_name}}, I saw {{topic}}."}}
	one, err := ParseVariants(vs)
	if err != nil {
		t.Fatal(err)
	}
	one = one.ForCampaign("spring")
	if got := one.Variables(); !slices.Equal(got, []string{"first_name", "topic"}) {
		t.Errorf("Variables() = %q: want every variant's", got)
	}
	vars := map[string]string{"first_name": "Ada", "topic": "Go"}
	count := map[string]int{}
	for i := range 300 {
		p := Prepare(i+2, Recipient{RecipientURN: fmt.Sprintf("urn:li:person:p%d", i), Vars: vars}, one)
		switch {
		case p.Variant == "short" && (p.Message == "Hi Ada" || p.Message == "Hey Ada"):
		case p.Variant == "long" && p.Message == "Hello Ada, I saw Go.":
		default:
			t.Fatalf("Prepare = %+v", p)
		}
		count[p.Variant]++
	}
	if count["short"] < 170 || count["short"] > 230 {
		t.Errorf("short (weight 2 of 3) drawn %d times of 300", count["short"])
	}
	// A row must fill every variant's variables, whichever it draws.
	p := Prepare(2, Recipient{RecipientURN: "urn:li:person:p1", Vars: map[string]string{"first_name": "Ada"}}, one)
	if want := []string{`template variable "topic" is missing or empty`}; !slices.Equal(p.Problems, want) || p.Variant != "" || p.Message != "" {
		t.Errorf("Prepare without topic = %+v, want %q", p, want)
	}

	steps := mustParts(t,
		Part{Kind: PartNote, Variants: []Variant{{Name: "A", Text: "Hi {{first_name}}"}, {Name: "no-note"}}},
		Part{},
		Part{Kind: PartMessage, Text: "Thanks, {{first_name}}"},
	).ForCampaign("spring")
	seen := map[string]bool{}
	for i := range 50 {
		p := Prepare(2, Recipient{RecipientURN: fmt.Sprintf("urn:li:person:p%d", i), Vars: vars}, steps)
		want := Prepared{Line: 2, RecipientURN: fmt.Sprintf("urn:li:person:p%d", i), Texts: []string{"Hi Ada", "", "Thanks, Ada"}, Variants: []string{"A", "", ""}}
		if p.Variants[0] == "no-note" {
			want.Texts[0], want.Variants[0] = "", "no-note"
		}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("Prepare = %+v\nwant %+v", p, want)
		}
		seen[p.Variants[0]] = true
	}
	if !seen["A"] || !seen["no-note"] {
		t.Errorf("variants drawn: %v, want both", seen)
	}
	// A profile named by slug draws as that slug; its URN is looked up later.
	bySlug := Prepare(2, Recipient{ProfileURL: "https://www.linkedin.com/in/ada-l/", Vars: vars}, one)
	again := Prepare(9, Recipient{ProfileSlug: "ada-l", Vars: vars}, one)
	if bySlug.Message != again.Message || bySlug.Variant != again.Variant {
		t.Errorf("the same profile by URL and by slug drew %q/%q and %q/%q", bySlug.Variant, bySlug.Message, again.Variant, again.Message)
	}
}

// FuzzSpintax: any text either fails to parse with a *TemplateError that
// locates its fault, or renders, for any recipient, a text no longer than
// its longest rendering, the same every time; and escaping any rendered
// text gives a template that renders exactly it.
func FuzzSpintax(f *testing.F) {
	for _, s := range []string{"{Hi|Hello|Hey} {{first_name}}", "{Hi|{Hello|Hey} there}", "{{{x}}|y}", `\{a\|b\}`, "{a|}", "}{", "{a", "{{x}}}",
		"{😀|é\n{a|b}}", `\\{a|b}`, "{|}", "{{{{", "a|b"} {
		f.Add(s, "urn:li:person:a")
	}
	escape := strings.NewReplacer(`\`, `\\`, "{", `\{`, "}", `\}`, "|", `\|`)
	f.Fuzz(func(t *testing.T, text, recipient string) {
		tpl, err := ParseTemplate(text)
		if err != nil {
			checkTemplateError(t, text, tpl, err)
			return
		}
		vars := map[string]string{}
		vals := make([]string, len(tpl.vars))
		for i, name := range tpl.Variables() {
			vars[name], vals[i] = "v"+name, "v"+name
		}
		tpl = tpl.ForCampaign("c")
		out, err := tpl.Render(recipient, vars)
		if err != nil {
			t.Fatalf("Render(%q): %v", text, err)
		}
		if again, _ := tpl.Render(recipient, vars); again != out {
			t.Fatalf("Render(%q) = %q, then %q", text, out, again)
		}
		longestLen := tpl.msg.variants[0].body.length(vals)
		if n := outx.MessageLength(out); n > longestLen {
			t.Fatalf("Render(%q) = %q, %d units; longer than the longest, %d", text, out, n, longestLen)
		}
		if strings.TrimSpace(out) == "" {
			return // an escaped blank text is refused as blank
		}
		back, err := ParseTemplate(escape.Replace(out))
		if err != nil {
			t.Fatalf("the escaped rendering %q does not parse: %v", escape.Replace(out), err)
		}
		if got, err := back.Render("anyone", nil); got != out || err != nil || len(back.Variables()) != 0 {
			t.Fatalf("the escaped rendering of %q renders %q, %v; want %q", text, got, err, out)
		}
	})
}
