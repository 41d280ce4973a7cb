package commands

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
)

func tag(prospectID, tagID string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.TagProspect.Handle(ctx, a, TagProspect{ProspectID: prospectID, TagID: tagID})
	}
}

func untag(prospectID, tagID string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.UntagProspect.Handle(ctx, a, UntagProspect{ProspectID: prospectID, TagID: tagID})
	}
}

func setStatus(prospectID, statusID string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.SetProspectStatus.Handle(ctx, a, SetProspectStatus{ProspectID: prospectID, StatusID: statusID})
	}
}

func setContext(c UpdateProspectContext) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.UpdateProspectContext.Handle(ctx, a, c)
	}
}

// prospectIDErrors are the cases every prospect command shares.
func prospectIDErrors(name string, run func(prospectID string) func(context.Context, App, Actor) (any, error)) []commandCase {
	return []commandCase{
		{name: name + ": missing prospect_id", run: run(""), kind: domain.KindInvalid, text: "prospect_id"},
		{name: name + ": malformed prospect_id", run: run("prs_ana"), kind: domain.KindInvalid, text: "prospect_id"},
		{name: name + ": a thread id as prospect_id", run: run(thrOpen), kind: domain.KindInvalid, text: "prospect_id"},
		{name: name + ": unknown prospect", run: run(prsUnknown), kind: domain.KindNotFound, text: prsUnknown},
		{name: name + ": another team's prospect", run: run(prsB), kind: domain.KindNotFound, text: prsB},
	}
}

func TestProspectCommands(t *testing.T) {
	manyFields := map[string]string{}
	for i := range domain.MaxCustomFields + 1 {
		manyFields[fmt.Sprintf("f%d", i)] = "x"
	}
	cases := []commandCase{
		{name: "tag a prospect", run: tag(prsPlain, tagVIP),
			want: events(wantEvent{prsPlain, domain.ProspectTagged{ProspectID: prsPlain, TagID: tagVIP, Decision: domain.Decision{Decided: true, AnsweredRequests: []string{thrOpen}}}})},
		{name: "add a second tag", run: tag(prsTagged, tagLead),
			want: events(wantEvent{prsTagged, domain.ProspectTagged{ProspectID: prsTagged, TagID: tagLead, Decision: domain.Decision{Decided: true}}})},
		{name: "tag twice", run: tag(prsTagged, tagVIP), kind: domain.KindPrecondition, text: "already has tag"},
		{name: "tag: missing tag_id", run: tag(prsPlain, ""), kind: domain.KindInvalid, text: "tag_id"},
		{name: "tag: malformed tag_id", run: tag(prsPlain, "VIP"), kind: domain.KindInvalid, text: "tag_id"},
		{name: "tag: a status id as tag_id", run: tag(prsPlain, stsNew), kind: domain.KindInvalid, text: "tag_id"},
		{name: "tag: unknown tag", run: tag(prsPlain, tagUnknown), kind: domain.KindNotFound, text: tagUnknown},
		{name: "tag: another team's tag", run: tag(prsPlain, tagB), kind: domain.KindNotFound, text: tagB},

		{name: "untag a prospect", run: untag(prsTagged, tagVIP),
			want: events(wantEvent{prsTagged, domain.ProspectUntagged{ProspectID: prsTagged, TagID: tagVIP}})},
		{name: "untag a tag the prospect lacks", run: untag(prsPlain, tagVIP), kind: domain.KindPrecondition, text: "does not have tag"},
		{name: "untag: missing tag_id", run: untag(prsTagged, ""), kind: domain.KindInvalid, text: "tag_id"},
		{name: "untag: malformed tag_id", run: untag(prsTagged, "tag_"), kind: domain.KindInvalid, text: "tag_id"},
		{name: "untag: unknown tag", run: untag(prsTagged, tagUnknown), kind: domain.KindNotFound, text: tagUnknown},
		{name: "untag: another team's tag", run: untag(prsTagged, tagB), kind: domain.KindNotFound, text: tagB},

		{name: "set a status", run: setStatus(prsPlain, stsNew),
			want: events(wantEvent{prsPlain, domain.ProspectStatusChanged{ProspectID: prsPlain, StatusID: stsNew, Decision: domain.Decision{Decided: true, AnsweredRequests: []string{thrOpen}}}})},
		{name: "clear the status", run: setStatus(prsPlain, ""),
			want: events(wantEvent{prsPlain, domain.ProspectStatusChanged{ProspectID: prsPlain, Decision: domain.Decision{Decided: true, AnsweredRequests: []string{thrOpen}}}})},
		{name: "status: malformed status_id", run: setStatus(prsPlain, "New"), kind: domain.KindInvalid, text: "status_id"},
		{name: "status: a tag id as status_id", run: setStatus(prsPlain, tagVIP), kind: domain.KindInvalid, text: "status_id"},
		{name: "status: unknown status", run: setStatus(prsPlain, stsUnknown), kind: domain.KindNotFound, text: stsUnknown},
		{name: "status: another team's status", run: setStatus(prsPlain, stsB), kind: domain.KindNotFound, text: stsB},

		{name: "update the context", run: setContext(UpdateProspectContext{ProspectID: prsPlain,
			Notes: "met at the fair", Valuation: 1200.5, CustomFields: map[string]string{"company": "Acme", "city": "Lyon"}}),
			want: events(wantEvent{prsPlain, domain.ProspectContextUpdated{ProspectID: prsPlain,
				Notes: "met at the fair", Valuation: 1200.5, CustomFields: map[string]string{"company": "Acme", "city": "Lyon"}}})},
		{name: "clear the context", run: setContext(UpdateProspectContext{ProspectID: prsTagged}),
			want: events(wantEvent{prsTagged, domain.ProspectContextUpdated{ProspectID: prsTagged, CustomFields: map[string]string{}}})},
		{name: "context: negative valuation", run: setContext(UpdateProspectContext{ProspectID: prsPlain, Valuation: -1}),
			kind: domain.KindInvalid, text: "valuation"},
		{name: "context: NaN valuation", run: setContext(UpdateProspectContext{ProspectID: prsPlain, Valuation: math.NaN()}),
			kind: domain.KindInvalid, text: "valuation"},
		{name: "context: infinite valuation", run: setContext(UpdateProspectContext{ProspectID: prsPlain, Valuation: math.Inf(1)}),
			kind: domain.KindInvalid, text: "valuation"},
		{name: "context: notes too long", run: setContext(UpdateProspectContext{ProspectID: prsPlain, Notes: strings.Repeat("n", domain.MaxNotes+1)}),
			kind: domain.KindInvalid, text: "notes"},
		{name: "context: too many custom fields", run: setContext(UpdateProspectContext{ProspectID: prsPlain, CustomFields: manyFields}),
			kind: domain.KindInvalid, text: "custom_fields"},
		{name: "context: empty custom field key", run: setContext(UpdateProspectContext{ProspectID: prsPlain, CustomFields: map[string]string{"": "x"}}),
			kind: domain.KindInvalid, text: "custom_fields"},
		{name: "context: bad input and no prospect names prospect_id", run: setContext(UpdateProspectContext{Valuation: -1}),
			kind: domain.KindInvalid, text: "prospect_id"},
	}
	cases = append(cases, prospectIDErrors("tag", func(id string) func(context.Context, App, Actor) (any, error) { return tag(id, tagLead) })...)
	cases = append(cases, prospectIDErrors("untag", func(id string) func(context.Context, App, Actor) (any, error) { return untag(id, tagVIP) })...)
	cases = append(cases, prospectIDErrors("status", func(id string) func(context.Context, App, Actor) (any, error) { return setStatus(id, stsNew) })...)
	cases = append(cases, prospectIDErrors("context", func(id string) func(context.Context, App, Actor) (any, error) {
		return setContext(UpdateProspectContext{ProspectID: id, Notes: "n"})
	})...)
	runCommandCases(t, cases)
}

// The context event must not share the caller's map: a later change by the caller would
// otherwise rewrite a recorded fact.
func TestUpdateProspectContextCopiesFields(t *testing.T) {
	e := newEnv(t)
	fields := map[string]string{"company": "Acme"}
	if _, err := e.app.UpdateProspectContext.Handle(context.Background(), agent,
		UpdateProspectContext{ProspectID: prsPlain, CustomFields: fields}); err != nil {
		t.Fatal(err)
	}
	fields["company"] = "changed after the call"
	got := e.log.since(0)[0].Payload.(domain.ProspectContextUpdated)
	if got.CustomFields["company"] != "Acme" {
		t.Errorf("recorded custom field changed with the caller's map: %q", got.CustomFields["company"])
	}
}
