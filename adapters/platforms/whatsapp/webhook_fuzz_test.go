package whatsapp_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/whatsapp"
	"github.com/switchboard-oss/switchboard/domain"
)

// FuzzParse: whatever the body and the link's phone_number_id, Parse returns an error or
// well-formed items; never a panic. Seeds: every WhatsApp sample (.jsonc stripped) for the
// number the fixture table uses, and odd bodies. `go test` runs the seeds; `make fuzz`
// explores. Skipped like TestFixtures without the samples.
func FuzzParse(f *testing.F) {
	for _, name := range pt.MetaFixtureFiles(f, "whatsapp") {
		f.Add(pt.MetaBody(f, "whatsapp", name, whatsapp.Object, phone, nil), phone)
	}
	for _, b := range fuzzOddBodies(func(elem string) string {
		return `{"object":"` + whatsapp.Object + `","entry":[{"id":"1","changes":[{"field":"messages","value":` +
			`{"metadata":{"phone_number_id":"` + phone + `"},"messages":[` + elem + `],"statuses":[` + elem + `]}}]}]}`
	}) {
		f.Add(b, phone)
	}
	// Found by fuzzing: a blank message type named the PlatformOther "".
	f.Add([]byte(`{"object":"`+whatsapp.Object+`","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"`+phone+
		`"},"messages":[{"id":"m","from":"1","type":"  "}]}}]}]}`), phone)
	f.Fuzz(func(t *testing.T, body []byte, platformID string) {
		items, err := parse(body, platformID)
		if err != nil {
			return
		}
		checkFuzzItems(t, items)
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
