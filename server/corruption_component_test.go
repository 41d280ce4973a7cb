package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// damage overwrites the middle half of a file, as a bad disk or a stray write would.
func damage(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8192 {
		t.Fatalf("%s: only %d bytes", path, len(b))
	}
	for i := len(b) / 4; i < len(b)*3/4; i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptStoresAreRebuilt: a read model and a search index with overwritten bytes are
// detected at start, set aside (the read model) or dropped (the index), and rebuilt from the
// log: every read and every search answers as before the damage.
func TestCorruptStoresAreRebuilt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)
	a := api{t, newConnectClient(s.Addr), adminKey}
	inboxScenario(t, a)
	searchAll := func(a api) []string {
		var ids []string
		for _, q := range []string{"hello", "question", "anyone", "user*"} {
			res := call[v1.SearchMessagesResponse](a, "/switchboard.v1.SearchService/SearchMessages",
				&v1.SearchMessagesRequest{Query: q, PageSize: 100})
			for _, h := range res.Hits {
				ids = append(ids, q+":"+h.Message.Id)
			}
		}
		return ids
	}
	if err := s.WaitCaughtUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	before, found := snapshot(a), searchAll(a)
	if len(found) < 3 {
		t.Fatalf("the scenario's messages found by search: %v", found)
	}
	stopServer(t, s)

	damage(t, filepath.Join(dir, "readmodel.db"))
	damage(t, filepath.Join(dir, "search.db"))

	s = startServer(t, dir)
	a = api{t, newConnectClient(s.Addr), adminKey}
	compare(t, "after the read model was damaged", before, snapshot(a))
	if err := s.WaitCaughtUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := searchAll(a); strings.Join(got, ",") != strings.Join(found, ",") {
		t.Errorf("search after the index was damaged: %v, want %v", got, found)
	}
	aside, _ := filepath.Glob(filepath.Join(dir, "readmodel.db.corrupt-*"))
	if len(aside) == 0 {
		t.Error("the corrupt read model was not kept aside for inspection")
	}
}
