package commands

import (
	"context"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
)

func assign(threadID, memberID string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.AssignThread.Handle(ctx, a, AssignThread{ThreadID: threadID, MemberID: memberID})
	}
}

func unassign(threadID string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.UnassignThread.Handle(ctx, a, UnassignThread{ThreadID: threadID})
	}
}

func markDone(threadID string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.MarkThreadDone.Handle(ctx, a, MarkThreadDone{ThreadID: threadID})
	}
}

func reopen(threadID string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.ReopenThread.Handle(ctx, a, ReopenThread{ThreadID: threadID})
	}
}

func markRead(threadID string) func(context.Context, App, Actor) (any, error) {
	return func(ctx context.Context, app App, a Actor) (any, error) {
		return app.MarkThreadRead.Handle(ctx, a, MarkThreadRead{ThreadID: threadID})
	}
}

// threadIDErrors are the cases every thread command shares: the thread id is checked, then
// looked up in the actor's team only.
func threadIDErrors(name string, run func(threadID string) func(context.Context, App, Actor) (any, error)) []commandCase {
	return []commandCase{
		{name: name + ": missing thread_id", run: run(""), kind: domain.KindInvalid, text: "thread_id"},
		{name: name + ": malformed thread_id", run: run("thr_123"), kind: domain.KindInvalid, text: "thread_id"},
		{name: name + ": a prospect id as thread_id", run: run(prsPlain), kind: domain.KindInvalid, text: "thread_id"},
		{name: name + ": unknown thread", run: run(thrUnknown), kind: domain.KindNotFound, text: thrUnknown},
		{name: name + ": another team's thread", run: run(thrB), kind: domain.KindNotFound, text: thrB},
	}
}

func TestThreadCommands(t *testing.T) {
	cases := []commandCase{
		{name: "assign an unassigned thread", run: assign(thrOpen, agent2A),
			want: events(wantEvent{prsPlain, domain.ThreadAssigned{ThreadID: thrOpen, ProspectID: prsPlain, MemberID: agent2A, Decision: domain.Decision{Decided: true, AnsweredRequests: []string{thrOpen}}}})},
		{name: "reassign an assigned thread", run: assign(thrAssigned, agent2A),
			want: events(wantEvent{prsPlain, domain.ThreadAssigned{ThreadID: thrAssigned, ProspectID: prsPlain, MemberID: agent2A, Decision: domain.Decision{Decided: true}}})},
		{name: "assign a done thread to oneself", actor: owner, run: assign(thrDone, ownerA),
			want: events(wantEvent{prsTagged, domain.ThreadAssigned{ThreadID: thrDone, ProspectID: prsTagged, MemberID: ownerA, Decision: domain.Decision{Decided: true}}})},
		{name: "assign: missing member_id", run: assign(thrOpen, ""), kind: domain.KindInvalid, text: "member_id"},
		{name: "assign: both missing names thread_id", run: assign("", ""), kind: domain.KindInvalid, text: "thread_id"},
		{name: "assign: missing thread_id", run: assign("", agentA), kind: domain.KindInvalid, text: "thread_id"},
		{name: "assign: malformed member_id", run: assign(thrOpen, "mem_ana"), kind: domain.KindInvalid, text: "member_id"},
		{name: "assign: a tag id as member_id", run: assign(thrOpen, tagVIP), kind: domain.KindInvalid, text: "member_id"},
		{name: "assign: unknown member", run: assign(thrOpen, memUnknown), kind: domain.KindNotFound, text: memUnknown},
		{name: "assign: another team's member", run: assign(thrOpen, memberB), kind: domain.KindNotFound, text: memberB},
		{name: "assign: unknown thread", run: assign(thrUnknown, agentA), kind: domain.KindNotFound, text: thrUnknown},
		{name: "assign: another team's thread", run: assign(thrB, agentA), kind: domain.KindNotFound, text: thrB},
		{name: "assign: malformed thread_id", run: assign("thr_x", agentA), kind: domain.KindInvalid, text: "thread_id"},

		{name: "unassign an assigned thread", run: unassign(thrAssigned),
			want: events(wantEvent{prsPlain, domain.ThreadUnassigned{ThreadID: thrAssigned, ProspectID: prsPlain}})},
		{name: "unassign when unassigned", run: unassign(thrOpen), kind: domain.KindPrecondition, text: "not assigned"},

		{name: "mark an open thread done", run: markDone(thrOpen),
			want: events(wantEvent{prsPlain, domain.ThreadDone{ThreadID: thrOpen, ProspectID: prsPlain, Decision: domain.Decision{Decided: true, AnsweredRequests: []string{thrOpen}}}})},
		{name: "mark done twice", run: markDone(thrDone), kind: domain.KindPrecondition, text: "already done"},

		{name: "reopen a done thread", run: reopen(thrDone),
			want: events(wantEvent{prsTagged, domain.ThreadReopened{ThreadID: thrDone, ProspectID: prsTagged}})},
		{name: "reopen a thread that is not done", run: reopen(thrOpen), kind: domain.KindPrecondition, text: "not done"},

		{name: "mark an open thread read", run: markRead(thrOpen),
			want: events(wantEvent{prsPlain, domain.ThreadRead{ThreadID: thrOpen, ProspectID: prsPlain}})},
		{name: "mark a done thread read", actor: admin, run: markRead(thrDone),
			want: events(wantEvent{prsTagged, domain.ThreadRead{ThreadID: thrDone, ProspectID: prsTagged}})},
	}
	cases = append(cases, threadIDErrors("unassign", unassign)...)
	cases = append(cases, threadIDErrors("done", markDone)...)
	cases = append(cases, threadIDErrors("reopen", reopen)...)
	cases = append(cases, threadIDErrors("read", markRead)...)
	runCommandCases(t, cases)
}

// A team B actor sees team B's thread and none of team A's.
func TestThreadCommandsStayInTheActorsTeam(t *testing.T) {
	runCommandCases(t, []commandCase{
		{name: "team B marks its own thread done", actor: Actor{TeamID: teamB, MemberID: memberB, Role: "owner"},
			run:  markDone(thrB),
			want: events(wantEvent{prsB, domain.ThreadDone{ThreadID: thrB, ProspectID: prsB, Decision: domain.Decision{Decided: true, AnsweredRequests: []string{thrB}}}})},
		{name: "team B cannot touch team A's thread", actor: Actor{TeamID: teamB, MemberID: memberB, Role: "owner"},
			run: markDone(thrOpen), kind: domain.KindNotFound, text: thrOpen},
		{name: "team B cannot assign to team A's member", actor: Actor{TeamID: teamB, MemberID: memberB, Role: "owner"},
			run: assign(thrB, agentA), kind: domain.KindNotFound, text: agentA},
	})
}
