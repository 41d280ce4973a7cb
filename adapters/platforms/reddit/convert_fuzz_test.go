package reddit

import (
	"encoding/json"
	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms/reddit/reddittest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
)

// FuzzParse: whatever an inbox Listing (or a send API response's things) and the account's
// username, the converter gives well-formed items; never a panic. Seeds: the repository's own payloads, every shared Reddit sample,
// for the recording account and for none, and odd bodies. `go test` runs the seeds; `make
// fuzz` explores. (the shared ones when they are present).
func FuzzParse(f *testing.F) {
	// The repository's own payloads, always; the shared samples when they are there.
	var dir string
	var shared []string
	if platformtest.SharedPresent("reddit") {
		dir = polltest.FixtureDir(f, "reddit")
		shared = polltest.Files(f, dir)
	}
	f.Add(platformtest.RepoPayload(f, "reddit", "message_inbox_listing.json"), "switchboard_shop")
	for _, name := range shared {
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
	for _, b := range platformtest.OddBodies(func(elem string) string {
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
			platformtest.CheckItems(t, cv.items(oldestFirst(page)))
			_ = newestName(page, "")
		}
		var r apiResponse
		if json.Unmarshal(body, &r) == nil {
			platformtest.CheckItems(t, cv.items(r.JSON.Data.Things))
		}
	})
}
