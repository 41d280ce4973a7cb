package connectrpc

import (
	"context"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

type threadService struct {
	d     Deps
	watch *watcher
}

// NewThreadService returns the ThreadService handler, its watch streams with default limits.
func NewThreadService(d Deps) switchboardv1connect.ThreadServiceHandler {
	return newThreadService(d, Limits{}.withDefaults(), newRPCMetrics(nil))
}

func newThreadService(d Deps, l Limits, m *rpcMetrics) threadService {
	return threadService{d: d, watch: newWatcher(d, l, m)}
}

func (s threadService) ListThreads(ctx context.Context, req *connect.Request[v1.ListThreadsRequest]) (*connect.Response[v1.ListThreadsResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.ListThreadsRequest) (*v1.ListThreadsResponse, error) {
		q, err := threadQueryOf(a.TeamID, m.View, m.AccountLinkId, m.Platform, m.AssigneeMemberId, m.Unassigned, m.TagId, m.StatusId, m.ProspectId)
		if err != nil {
			return nil, err
		}
		pos, err := s.pagePosition(ctx, a.TeamID)
		if err != nil {
			return nil, err
		}
		threads, next, err := projections.ListThreads(ctx, s.d.Reader, q, m.PageSize, m.PageToken)
		if err != nil {
			return nil, err
		}
		out := &v1.ListThreadsResponse{NextPageToken: next, Position: pos, Threads: make([]*v1.Thread, 0, len(threads))}
		for _, t := range threads {
			out.Threads = append(out.Threads, threadToProto(t))
		}
		return out, nil
	})
}

// pagePosition is what the read model has applied, read BEFORE a page is: the page reflects at
// least that, so a watch started after it misses no change ("" without live updates).
func (s threadService) pagePosition(ctx context.Context, teamID string) (string, error) {
	if s.d.Progress == nil {
		return "", nil
	}
	c, err := s.d.Progress.Applied(ctx)
	if err != nil {
		return "", domain.Unavailable("the read model", err)
	}
	return s.d.Positions.Encode(teamID, c), nil
}

func (s threadService) GetThread(ctx context.Context, req *connect.Request[v1.GetThreadRequest]) (*connect.Response[v1.GetThreadResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.GetThreadRequest) (*v1.GetThreadResponse, error) {
		if err := domain.RequireID("thread_id", m.ThreadId, domain.PrefixThread); err != nil {
			return nil, err
		}
		t, err := s.d.Reader.Thread(ctx, a.TeamID, m.ThreadId)
		if err != nil {
			return nil, lookup(err, "thread", m.ThreadId)
		}
		return &v1.GetThreadResponse{Thread: threadToProto(t)}, nil
	})
}

func (s threadService) ListMessages(ctx context.Context, req *connect.Request[v1.ListMessagesRequest]) (*connect.Response[v1.ListMessagesResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.ListMessagesRequest) (*v1.ListMessagesResponse, error) {
		if err := domain.RequireID("thread_id", m.ThreadId, domain.PrefixThread); err != nil {
			return nil, err
		}
		if _, err := s.d.Reader.Thread(ctx, a.TeamID, m.ThreadId); err != nil {
			return nil, lookup(err, "thread", m.ThreadId)
		}
		pos, err := s.pagePosition(ctx, a.TeamID)
		if err != nil {
			return nil, err
		}
		msgs, next, err := projections.ListMessages(ctx, s.d.Reader,
			projections.MessageQuery{TeamID: a.TeamID, ThreadID: m.ThreadId}, m.PageSize, m.PageToken)
		if err != nil {
			return nil, err
		}
		out := &v1.ListMessagesResponse{NextPageToken: next, Position: pos, Messages: make([]*v1.Message, 0, len(msgs))}
		for _, msg := range msgs {
			out.Messages = append(out.Messages, messageToProto(msg))
		}
		return out, nil
	})
}

func (s threadService) AssignThread(ctx context.Context, req *connect.Request[v1.AssignThreadRequest]) (*connect.Response[v1.AssignThreadResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.AssignThreadRequest) (*v1.AssignThreadResponse, error) {
		r, err := s.d.App.AssignThread.Handle(ctx, a, commands.AssignThread{ThreadID: m.ThreadId, MemberID: m.MemberId, IdempotencyKey: m.IdempotencyKey})
		return &v1.AssignThreadResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s threadService) UnassignThread(ctx context.Context, req *connect.Request[v1.UnassignThreadRequest]) (*connect.Response[v1.UnassignThreadResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.UnassignThreadRequest) (*v1.UnassignThreadResponse, error) {
		r, err := s.d.App.UnassignThread.Handle(ctx, a, commands.UnassignThread{ThreadID: m.ThreadId, IdempotencyKey: m.IdempotencyKey})
		return &v1.UnassignThreadResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s threadService) MarkThreadDone(ctx context.Context, req *connect.Request[v1.MarkThreadDoneRequest]) (*connect.Response[v1.MarkThreadDoneResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.MarkThreadDoneRequest) (*v1.MarkThreadDoneResponse, error) {
		r, err := s.d.App.MarkThreadDone.Handle(ctx, a, commands.MarkThreadDone{ThreadID: m.ThreadId, IdempotencyKey: m.IdempotencyKey})
		return &v1.MarkThreadDoneResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s threadService) ReopenThread(ctx context.Context, req *connect.Request[v1.ReopenThreadRequest]) (*connect.Response[v1.ReopenThreadResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.ReopenThreadRequest) (*v1.ReopenThreadResponse, error) {
		r, err := s.d.App.ReopenThread.Handle(ctx, a, commands.ReopenThread{ThreadID: m.ThreadId, IdempotencyKey: m.IdempotencyKey})
		return &v1.ReopenThreadResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s threadService) MarkThreadRead(ctx context.Context, req *connect.Request[v1.MarkThreadReadRequest]) (*connect.Response[v1.MarkThreadReadResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.MarkThreadReadRequest) (*v1.MarkThreadReadResponse, error) {
		r, err := s.d.App.MarkThreadRead.Handle(ctx, a, commands.MarkThreadRead{ThreadID: m.ThreadId, IdempotencyKey: m.IdempotencyKey})
		return &v1.MarkThreadReadResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s threadService) SendMessage(ctx context.Context, req *connect.Request[v1.SendMessageRequest]) (*connect.Response[v1.SendMessageResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.SendMessageRequest) (*v1.SendMessageResponse, error) {
		c := commands.SendMessage{ThreadID: m.ThreadId, Text: m.Text, ReplyToMessageID: m.ReplyToMessageId, IdempotencyKey: m.IdempotencyKey}
		if t := m.Template; t != nil {
			c.Template = &domain.Template{Name: t.Name, Language: t.Language, Parameters: t.Parameters}
		}
		for _, at := range m.Attachments {
			c.Attachments = append(c.Attachments, domain.Attachment{Type: at.Type, URL: at.Url, MimeType: at.MimeType, Name: at.Name})
		}
		r, err := s.d.App.SendMessage.Handle(ctx, a, c)
		if err != nil {
			return nil, err
		}
		return &v1.SendMessageResponse{Message: messageToProto(r.Message), Position: s.d.position(a, r.Position)}, nil
	})
}

func (s threadService) RetrySend(ctx context.Context, req *connect.Request[v1.RetrySendRequest]) (*connect.Response[v1.RetrySendResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.RetrySendRequest) (*v1.RetrySendResponse, error) {
		r, err := s.d.App.RetrySend.Handle(ctx, a, commands.RetrySend{MessageID: m.MessageId, IdempotencyKey: m.IdempotencyKey})
		if err != nil {
			return nil, err
		}
		return &v1.RetrySendResponse{Message: messageToProto(r.Message), Position: s.d.position(a, r.Position)}, nil
	})
}

func (s threadService) CancelSend(ctx context.Context, req *connect.Request[v1.CancelSendRequest]) (*connect.Response[v1.CancelSendResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.CancelSendRequest) (*v1.CancelSendResponse, error) {
		r, err := s.d.App.CancelSend.Handle(ctx, a, commands.CancelSend{MessageID: m.MessageId, IdempotencyKey: m.IdempotencyKey})
		return &v1.CancelSendResponse{Position: s.d.position(a, r.Position)}, err
	})
}
