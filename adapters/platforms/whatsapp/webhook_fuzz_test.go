package whatsapp_test

import (
	"testing"

	pt "github.com/switchboard-oss/switchboard/adapters/platforms/platformtest"
	"github.com/switchboard-oss/switchboard/adapters/platforms/whatsapp"
)

// FuzzParse: whatever the body and the link's phone_number_id, Parse returns an error or
// well-formed items; never a panic. Seeds: the repository's own payloads, every shared WhatsApp sample (.jsonc stripped) for the
// number the fixture table uses, and odd bodies. `go test` runs the seeds; `make fuzz`
// explores. (the shared ones when they are present).
func FuzzParse(f *testing.F) {
	// The repository's own payloads, always; the shared samples when they are there.
	f.Add(pt.RepoPayload(f, "whatsapp", "text_message.webhook_body.json"), "500000000000001")
	var shared []string
	if pt.SharedPresent("whatsapp") {
		shared = pt.MetaFixtureFiles(f, "whatsapp")
	}
	for _, name := range shared {
		f.Add(pt.MetaBody(f, "whatsapp", name, whatsapp.Object, phone, nil), phone)
	}
	for _, b := range pt.OddBodies(func(elem string) string {
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
		pt.CheckItems(t, items)
	})
}
