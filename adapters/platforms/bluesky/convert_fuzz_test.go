package bluesky

import (
	"encoding/json"
	"github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/adapters/platforms/bluesky/blueskytest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler/polltest"
)

// FuzzParse: whatever a response page and the account's DID, the converter turns a getLog
// page (logItems) and a getMessages page (messageItems, for a direct, a group, an unreadable
// and an unknown convo) into an error or well-formed items; never a panic. The convos are the
// listConvos capture's (as fixtureConvos), plus the unreadable one, plus any listConvos
// "convos" or getConvo "convo" in the body itself, so membership is fuzzed too. Seeds: every
// Bluesky sample, for the capture's account and for none, and odd bodies. `go test` runs the
// seeds; `make fuzz` explores. (the shared ones when they are present).
func FuzzParse(f *testing.F) {
	// The repository's own payloads, always; the shared samples when they are there.
	var dir string
	var shared []string
	if platformtest.SharedPresent("bluesky") {
		dir = polltest.FixtureDir(f, "bluesky")
		shared = polltest.Files(f, dir)
	}
	known := map[string]convo{convoGone: {}}
	listConvos := platformtest.RepoPayload(f, "bluesky", "listConvos.response.json")
	learnFuzzConvos(known, listConvos)
	f.Add(listConvos, "did:plc:switchboardtestself00001")
	f.Add(platformtest.RepoPayload(f, "bluesky", "getLog.response.json"), "did:plc:switchboardtestself00001")
	for _, name := range shared {
		if strings.HasSuffix(name, ".md") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			f.Fatal(err)
		}
		if name == "listConvos.response.idunno_capture.json" {
			learnFuzzConvos(known, b)
		}
		f.Add(b, blueskytest.DID)
		f.Add(b, "")
	}
	for _, b := range platformtest.OddBodies(func(elem string) string {
		return `{"cursor":"c","logs":[{"$type":"` + typeLogCreateMessage + `","convoId":"` + convoBarry + `","message":` + elem +
			`},` + elem + `],"messages":[` + elem + `],"relatedProfiles":[` + elem + `]}`
	}) {
		f.Add(b, blueskytest.DID)
	}
	// Found by fuzzing: a message view without id or sender was a PlatformMessage without them,
	// a $type ending in "#" a PlatformOther "".
	f.Add([]byte(`{"logs":[{"$type":"`+typeLogCreateMessage+`","message":{"$type":"`+typeMessageView+`"}},{"$type":"a#"}]}`), "")
	f.Fuzz(func(t *testing.T, body []byte, self string) {
		cv := converter{self: self, convos: maps.Clone(known)}
		learnFuzzConvos(cv.convos, body)
		var log getLogOutput
		if json.Unmarshal(body, &log) == nil {
			if items, err := cv.logItems(log.Logs); err == nil {
				if len(items) != len(log.Logs) {
					t.Fatalf("%d items for %d log entries", len(items), len(log.Logs))
				}
				platformtest.CheckItems(t, items)
			}
		}
		var page struct {
			Messages        []json.RawMessage `json:"messages"`
			RelatedProfiles []profile         `json:"relatedProfiles"`
		}
		if json.Unmarshal(body, &page) == nil {
			for _, id := range []string{convoBarry, convoGroup, convoGone, "unknown"} {
				platformtest.CheckItems(t, cv.messageItems(id, page.Messages, page.RelatedProfiles))
			}
		}
	})
}

// learnFuzzConvos adds the convos of a listConvos or getConvo response, as the poller learns
// them.
func learnFuzzConvos(convos map[string]convo, b []byte) {
	var out struct {
		Convos []convoView `json:"convos"`
		Convo  *convoView  `json:"convo"`
	}
	if json.Unmarshal(b, &out) != nil {
		return
	}
	if out.Convo != nil {
		out.Convos = append(out.Convos, *out.Convo)
	}
	for _, v := range out.Convos {
		convos[v.ID] = convoOf(v)
	}
}
