package reddit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms/reddit/reddittest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
	"github.com/switchboard-oss/switchboard/domain"
)

// FuzzParse: whatever an inbox Listing (or a send API response's things) and the account's
// username, the converter gives well-formed items; never a panic. Seeds: every Reddit sample,
// for the recording account and for none, and odd bodies. `go test` runs the seeds; `make
// fuzz` explores. Skipped like TestFixtures without the samples.
func FuzzParse(f *testing.F) {
	dir := polltest.FixtureDir(f, "reddit")
	for _, name := range polltest.Files(f, dir) {
		if strings.HasSuffix(name, ".md") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, reddittest.Username)
		f.Add(b, "")
	}
	for _, b := range fuzzOddBodies(func(elem string) string {
		return `{"kind":"Listing","data":{"children":[` + elem + `,{"kind":"t4","data":` + elem +
			`},{"kind":"t4","data":{"name":"t4_a","author":"x","replies":{"kind":"Listing","data":{"children":[` + elem + `]}}}}]}}`
	}) {
		f.Add(b, reddittest.Username)
	}
	// Found by fuzzing: a t4 without name or author was a PlatformMessage without them.
	f.Add([]byte(`{"kind":"Listing","data":{"children":[{"kind":"t4","data":{}},{"kind":"t4","data":{"name":"t4_a"}}]}}`), "")
	f.Fuzz(func(t *testing.T, body []byte, self string) {
		cv := converter{self: self}
		var page listing
		if json.Unmarshal(body, &page) == nil {
			checkFuzzItems(t, cv.items(oldestFirst(page)))
			_ = newestName(page, "")
		}
		var r apiResponse
		if json.Unmarshal(body, &r) == nil {
			checkFuzzItems(t, cv.items(r.JSON.Data.Things))
		}
	})
}

// checkFuzzItems fails on an item ReceivePlatform would have to refuse or rename: a message
// without its id, prospect or direction, an edit, delete or receipt naming no message, an
// unnamed PlatformOther, a Raw that is not JSON.
func checkFuzzItems(t *testing.T, items []domain.PlatformItem) {
	t.Helper()
	for i, it := range items {
		var raw []byte
		bad := false
		switch v := it.(type) {
		case domain.PlatformMessage:
			raw = v.Raw
			bad = v.PlatformMessageID == "" || v.Prospect.PlatformID == "" || (v.Direction != domain.Inbound && v.Direction != domain.Outbound)
		case domain.PlatformEdit:
			raw, bad = v.Raw, v.PlatformMessageID == ""
		case domain.PlatformDelete:
			raw, bad = v.Raw, v.PlatformMessageID == ""
		case domain.PlatformDelivered:
			bad = len(v.PlatformMessageIDs) == 0 || slices.Contains(v.PlatformMessageIDs, "")
		case domain.PlatformFailed:
			bad = v.PlatformMessageID == ""
		case domain.PlatformOther:
			raw, bad = v.Raw, v.Kind == ""
		case domain.PlatformSeen, domain.PlatformProfile:
		default:
			bad = true
		}
		if bad {
			t.Fatalf("item %d is not well-formed: %.400s", i, fmt.Sprintf("%T%+v", it, it))
		}
		if raw != nil && !json.Valid(raw) {
			t.Fatalf("item %d (%T): Raw is not JSON: %.400q", i, it, raw)
		}
	}
}

// fuzzOddBodies are edge seeds: nothing, JSON that is no object, and deep nesting (inside an
// element the parser reads, and bare).
func fuzzOddBodies(wrap func(elem string) string) [][]byte {
	deep := strings.Repeat(`{"a":[`, 2000) + `1` + strings.Repeat(`]}`, 2000)
	return [][]byte{nil, []byte(`null`), []byte(`[]`), []byte(`{}`), []byte(`"x"`), []byte(`{"a":1}{`),
		[]byte(wrap(`null`)), []byte(wrap(`7`)), []byte(wrap(`{}`)), []byte(wrap(deep)), []byte(deep),
		[]byte(strings.Repeat(`[`, 20000))}
}
