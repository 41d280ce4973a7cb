package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"testing"
)

// The module's packages keep the rules. `go list` reads the source as the build does, so a new
// file or package is covered at once.
func TestImportRules(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list packages: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-e", "-json=ImportPath,Imports,Deps,Error", Module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []Package
	checked := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			Package
			Error *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p.Package)
		for _, r := range Rules {
			if under(p.ImportPath, r.From) {
				checked[r.From] = true
			}
		}
	}
	// A rule whose folder moved would pass without checking anything.
	for _, r := range Rules {
		if !checked[r.From] {
			t.Errorf("no package under %s: the rule checks nothing", r.From)
		}
	}
	for _, v := range Violations(pkgs, Rules) {
		t.Error(v)
	}
}

// The checker itself catches what it must: a direct or transitive adapter or I/O dependency.
func TestViolationsFindsBrokenRules(t *testing.T) {
	pkgs := []Package{
		{ImportPath: Module + "/domain", Imports: []string{"fmt", "os"}, Deps: []string{"fmt", "os", "database/sql"}},
		{ImportPath: Module + "/domain/sub", Imports: []string{Module + "/proto/gen/x"}, Deps: []string{Module + "/proto/gen/x", "google.golang.org/protobuf/proto"}},
		{ImportPath: Module + "/commands", Imports: []string{Module + "/eventlog"}, Deps: []string{Module + "/eventlog", Module + "/adapters/sqlite", "modernc.org/sqlite"}},
		{ImportPath: Module + "/projections", Imports: []string{"database/sql"}, Deps: []string{"database/sql"}},
		{ImportPath: Module + "/projections2", Deps: []string{Module + "/adapters/kafka"}}, // not under projections
		{ImportPath: Module + "/adapters/sqlite", Deps: []string{"database/sql"}},          // adapters may
	}
	got := Violations(pkgs, Rules)
	wantSubjects := []string{
		Module + "/domain depends on database/sql",
		Module + "/domain imports os",
		Module + "/domain/sub depends on " + Module + "/proto/gen/x",
		Module + "/domain/sub depends on google.golang.org/protobuf/proto",
		Module + "/commands depends on " + Module + "/adapters/sqlite",
	}
	for _, w := range wantSubjects {
		if !slices.ContainsFunc(got, func(v string) bool { return len(v) >= len(w) && v[:len(w)] == w }) {
			t.Errorf("missing violation %q in %q", w, got)
		}
	}
	if len(got) != len(wantSubjects) {
		t.Errorf("got %d violations, want %d: %q", len(got), len(wantSubjects), got)
	}
}
