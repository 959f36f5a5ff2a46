package workflows_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignalPayloadsDecodeIntoFreshValues keeps invariant 5 of the design:
// every signal payload in workflows/ is decoded into a fresh value. JSON
// leaves the fields a payload omits as they were, so a variable reused
// from one signal to the next lets one sender's fields leak into another's
// (a single send inheriting a cancelled campaign's fields and ending
// "stopped"). It reads every Receive, ReceiveAsync and
// ReceiveWithTimeout call in the package's workflow code and requires its
// value to be &v (or nil) where v is declared by a var statement in a block
// around the call, inside the same function (a closure may run many times),
// with no loop in between: each receive then has its own v.
// Update and query handlers take their payloads as parameters, fresh by
// construction.
func TestSignalPayloadsDecodeIntoFreshValues(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, problem := range freshProblems(fset, f) {
			t.Error(problem)
		}
		checked += countReceives(f)
	}
	if checked < 8 {
		t.Fatalf("found only %d receive calls: the scan no longer sees the workflows' signal handling", checked)
	}
}

// TestFreshScanCatchesAReusedVariable: the scan flags the pattern that
// leaked fields between signals, so that it cannot pass by seeing nothing.
func TestFreshScanCatchesAReusedVariable(t *testing.T) {
	for name, src := range map[string]string{
		"declared before the loop": `package p
func f(ctx any, ch chan int) {
	var req Request
	for {
		ch.Receive(ctx, &req)
	}
}`,
		"a field of a struct": `package p
func f(ctx any) {
	for _, a := range apply {
		a.ch.ReceiveAsync(a.v)
	}
}`,
		"declared outside the closure": `package p
func receive(ctx any, ch Channel) func() {
	var v T
	return func() { ch.Receive(ctx, &v) }
}`,
		"declared outside the closure's loop": `package p
func f(ctx any) {
	var g Grant
	for {
		sel.AddReceive(ch, func(c ReceiveChannel, _ bool) { c.Receive(ctx, &g) })
	}
}`,
	} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(freshProblems(fset, f)) == 0 {
			t.Errorf("%s: not flagged", name)
		}
	}
	ok := `package p
func f(ctx any) {
	for {
		sel.AddReceive(ch, func(c ReceiveChannel, _ bool) {
			var g Grant
			c.Receive(ctx, &g)
		})
		var r Stop
		if !ch.ReceiveAsync(&r) {
			return
		}
		ch.Receive(ctx, nil)
	}
}`
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, "x.go", ok, 0)
	if p := freshProblems(fset, f); len(p) != 0 {
		t.Errorf("fresh values flagged: %v", p)
	}
}

var receiveMethods = map[string]int{"Receive": 1, "ReceiveAsync": 0, "ReceiveWithTimeout": 2}

func countReceives(f *ast.File) int {
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		if call, ok := node.(*ast.CallExpr); ok {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				if _, ok := receiveMethods[sel.Sel.Name]; ok {
					n++
				}
			}
		}
		return true
	})
	return n
}

// freshProblems lists the receive calls of f whose value is not fresh.
func freshProblems(fset *token.FileSet, f *ast.File) []string {
	var problems []string
	var stack []ast.Node
	ast.Inspect(f, func(node ast.Node) bool {
		if node == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, node)
		call, ok := node.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		argAt, ok := receiveMethods[sel.Sel.Name]
		if !ok || len(call.Args) <= argAt {
			return true
		}
		arg := call.Args[argAt]
		if id, ok := arg.(*ast.Ident); ok && id.Name == "nil" {
			return true
		}
		where := fset.Position(call.Pos()).String()
		u, ok := arg.(*ast.UnaryExpr)
		if !ok || u.Op != token.AND {
			problems = append(problems, where+": "+sel.Sel.Name+" decodes into an expression, not &v of a variable of its own")
			return true
		}
		id, ok := u.X.(*ast.Ident)
		if !ok {
			problems = append(problems, where+": "+sel.Sel.Name+" decodes into a field or element, not a variable of its own")
			return true
		}
		// Walk out from the call: the variable's var statement must be in
		// an enclosing block, reached before any loop.
		for i := len(stack) - 2; i >= 0; i-- {
			switch n := stack[i].(type) {
			case *ast.ForStmt, *ast.RangeStmt:
				problems = append(problems, where+": "+sel.Sel.Name+" decodes into "+id.Name+", declared outside the loop around it: each signal must get a fresh value")
				return true
			case *ast.BlockStmt:
				if declares(n, id.Name) {
					return true
				}
			case *ast.CaseClause:
				if declaresIn(n.Body, id.Name) {
					return true
				}
			case *ast.FuncDecl, *ast.FuncLit:
				// A function literal may run many times (a selector's
				// callback, a receiver made once): its value must be its own.
				problems = append(problems, where+": "+sel.Sel.Name+" decodes into "+id.Name+", which is not declared in a block around it inside the same function")
				return true
			}
		}
		return true
	})
	return problems
}

func declares(b *ast.BlockStmt, name string) bool { return declaresIn(b.List, name) }

func declaresIn(list []ast.Stmt, name string) bool {
	for _, st := range list {
		decl, ok := st.(*ast.DeclStmt)
		if !ok {
			continue
		}
		gen, ok := decl.Decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			for _, n := range spec.(*ast.ValueSpec).Names {
				if n.Name == name {
					return true
				}
			}
		}
	}
	return false
}
