package connectrpc

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// threadQueryOf validates ListThreads' filters (shared by WatchThreads) into a query.
func threadQueryOf(team string, v v1.View, accountLinkID string, platform v1.Platform, assignee string, unassigned bool,
	tagID, statusID, prospectID string) (projections.ThreadQuery, error) {
	view, err := viewFromProto(v)
	if err != nil {
		return projections.ThreadQuery{}, err
	}
	p, err := platformFromProto("platform", platform)
	if err != nil {
		return projections.ThreadQuery{}, err
	}
	for _, c := range []struct{ field, id, prefix string }{
		{"account_link_id", accountLinkID, domain.PrefixAccount}, {"assignee_member_id", assignee, domain.PrefixMember},
		{"tag_id", tagID, domain.PrefixTag}, {"status_id", statusID, domain.PrefixStatus}, {"prospect_id", prospectID, domain.PrefixProspect},
	} {
		if err := domain.CheckID(c.field, c.id, c.prefix); err != nil {
			return projections.ThreadQuery{}, err
		}
	}
	if unassigned && assignee != "" {
		return projections.ThreadQuery{}, domain.Invalid("unassigned", "cannot be combined with assignee_member_id")
	}
	return projections.ThreadQuery{TeamID: team, View: view, AccountLinkID: accountLinkID, Platform: p.String(),
		AssigneeMemberID: assignee, Unassigned: unassigned, TagID: tagID, StatusID: statusID, ProspectID: prospectID}, nil
}

// maxRemembered bounds the threads a WatchThreads stream remembers having removed (so that it
// says so once, not at every change of a thread outside the view); past it, it forgets them
// and may say so again.
const maxRemembered = 10000

// WatchThreads streams the changes of a view: see the .proto.
func (s threadService) WatchThreads(ctx context.Context, req *connect.Request[v1.WatchThreadsRequest], stream *connect.ServerStream[v1.ThreadChange]) error {
	a := actorFrom(ctx)
	m := req.Msg
	tq, err := threadQueryOf(a.TeamID, m.View, m.AccountLinkId, m.Platform, m.AssigneeMemberId, m.Unassigned, m.TagId, m.StatusId, m.ProspectId)
	if err != nil {
		return toConnect(ctx, s.d.Logger, err)
	}
	cursor, err := s.watch.start(ctx, m.AfterPosition)
	if err != nil {
		return toConnect(ctx, s.d.Logger, err)
	}
	removed := map[string]bool{} // threads this stream said are out of the view, since
	changes := func(ctx context.Context, recs []eventlog.Record, positions []string) ([]*v1.ThreadChange, error) {
		// Each thread is sent once per batch, at the last event that touched it, with its
		// state then (or later): the positions stay in order and a resume misses nothing.
		last, order := map[string]int{}, []string{}
		ofProspect := map[string][]string{}
		for i, r := range recs {
			t := projections.Touches(r.Event)
			ids := t.Threads
			if t.Prospect != "" {
				if _, ok := ofProspect[t.Prospect]; !ok {
					ths, err := projections.ThreadsOfProspect(ctx, s.d.Reader, a.TeamID, t.Prospect)
					if err != nil {
						return nil, err
					}
					for _, th := range ths {
						ofProspect[t.Prospect] = append(ofProspect[t.Prospect], th.ID)
					}
				}
				ids = append(ids, ofProspect[t.Prospect]...)
			}
			for _, id := range ids {
				if id == "" {
					continue
				}
				if _, ok := last[id]; !ok {
					order = append(order, id)
				}
				last[id] = i
			}
		}
		in := map[string]projections.Thread{}
		for start := 0; start < len(order); start += watchBatch {
			ths, err := projections.ThreadsInView(ctx, s.d.Reader, tq, order[start:min(start+watchBatch, len(order))])
			if err != nil {
				return nil, err
			}
			for _, th := range ths {
				in[th.ID] = th
			}
		}
		byRecord := make([][]string, len(recs))
		for _, id := range order {
			byRecord[last[id]] = append(byRecord[last[id]], id)
		}
		var out []*v1.ThreadChange
		for i, ids := range byRecord {
			for _, id := range ids {
				if th, ok := in[id]; ok {
					delete(removed, id)
					out = append(out, &v1.ThreadChange{Position: positions[i], Change: &v1.ThreadChange_Upsert{Upsert: threadToProto(th)}})
					continue
				}
				if removed[id] {
					continue
				}
				if len(removed) >= maxRemembered {
					clear(removed)
				}
				removed[id] = true
				out = append(out, &v1.ThreadChange{Position: positions[i], Change: &v1.ThreadChange_RemovedThreadId{RemovedThreadId: id}})
			}
		}
		return out, nil
	}
	heartbeat := func(pos string) *v1.ThreadChange {
		return &v1.ThreadChange{Position: pos, Change: &v1.ThreadChange_Heartbeat{Heartbeat: &v1.WatchHeartbeat{}}}
	}
	q := eventlog.Query{TeamID: a.TeamID, Types: projections.TouchTypes}
	return runWatch(ctx, s.watch, q, cursor, changes, heartbeat, stream.Send)
}

// WatchMessages streams the changes of one thread: see the .proto.
func (s threadService) WatchMessages(ctx context.Context, req *connect.Request[v1.WatchMessagesRequest], stream *connect.ServerStream[v1.MessageChange]) error {
	a := actorFrom(ctx)
	m := req.Msg
	if err := domain.RequireID("thread_id", m.ThreadId, domain.PrefixThread); err != nil {
		return toConnect(ctx, s.d.Logger, err)
	}
	thread, err := s.d.Reader.Thread(ctx, a.TeamID, m.ThreadId)
	if err != nil {
		return toConnect(ctx, s.d.Logger, lookup(err, "thread", m.ThreadId))
	}
	cursor, err := s.watch.start(ctx, m.AfterPosition)
	if err != nil {
		return toConnect(ctx, s.d.Logger, err)
	}
	changes := func(ctx context.Context, recs []eventlog.Record, positions []string) ([]*v1.MessageChange, error) {
		// A message (or the thread) is sent once per batch, at the last event that touched it.
		const threadKey = ""
		last, order := map[string]int{}, []string{}
		touch := func(key string, i int) {
			if _, ok := last[key]; !ok {
				order = append(order, key)
			}
			last[key] = i
		}
		for i, r := range recs {
			t := projections.Touches(r.Event)
			if t.Message != "" {
				if t.MessageThread == thread.ID {
					touch(t.Message, i)
				}
				continue // the message is the change; its thread's counters follow from it
			}
			if t.Prospect == thread.ProspectID || containsID(t.Threads, thread.ID) {
				touch(threadKey, i)
			}
		}
		byRecord := make([][]string, len(recs))
		for _, k := range order {
			byRecord[last[k]] = append(byRecord[last[k]], k)
		}
		var out []*v1.MessageChange
		for i, keys := range byRecord {
			for _, k := range keys {
				if k == threadKey {
					th, err := s.d.Reader.Thread(ctx, a.TeamID, thread.ID)
					if err != nil {
						return nil, lookup(err, "thread", thread.ID)
					}
					out = append(out, &v1.MessageChange{Position: positions[i], Change: &v1.MessageChange_Thread{Thread: threadToProto(th)}})
					continue
				}
				msg, err := s.d.Reader.Message(ctx, a.TeamID, k)
				if errors.Is(err, projections.ErrNotFound) {
					continue // an event about a message the read model never held
				}
				if err != nil {
					return nil, lookup(err, "message", k)
				}
				out = append(out, &v1.MessageChange{Position: positions[i], Change: &v1.MessageChange_Upsert{Upsert: messageToProto(msg)}})
			}
		}
		return out, nil
	}
	heartbeat := func(pos string) *v1.MessageChange {
		return &v1.MessageChange{Position: pos, Change: &v1.MessageChange_Heartbeat{Heartbeat: &v1.WatchHeartbeat{}}}
	}
	// Every event of a thread is keyed by its prospect: the stream reads that key only.
	q := eventlog.Query{TeamID: a.TeamID, Key: thread.ProspectID, Types: projections.TouchTypes}
	return runWatch(ctx, s.watch, q, cursor, changes, heartbeat, stream.Send)
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
