package stack

import "testing"

func TestDiff(t *testing.T) {
	d := Diff(map[string]float64{"a": 5, "b": 2, "c": 1}, map[string]float64{"a": 3, "b": 2})
	if len(d) != 2 || d["a"] != 2 || d["c"] != 1 {
		t.Errorf("Diff: %v, want a: 2 and c: 1 (b unchanged, left out)", d)
	}
}
