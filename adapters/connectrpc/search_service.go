package connectrpc

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
	"github.com/switchboard-oss/switchboard/search"
)

type searchService struct{ d Deps }

// NewSearchService returns the SearchService handler.
func NewSearchService(d Deps) switchboardv1connect.SearchServiceHandler { return searchService{d} }

func (s searchService) SearchMessages(ctx context.Context, req *connect.Request[v1.SearchMessagesRequest]) (*connect.Response[v1.SearchMessagesResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.SearchMessagesRequest) (*v1.SearchMessagesResponse, error) {
		if s.d.Search == nil {
			return nil, connect.NewError(connect.CodeUnimplemented, errors.New("search is not configured on this server"))
		}
		p, err := platformFromProto("platform", m.Platform)
		if err != nil {
			return nil, err
		}
		dir, err := directionFromProto("direction", m.Direction)
		if err != nil {
			return nil, err
		}
		r := search.Request{Query: m.Query, Platform: p.String(), AccountLinkID: m.AccountLinkId, ThreadID: m.ThreadId,
			ProspectID: m.ProspectId, Direction: dir.String(), Sort: m.Sort, PageSize: m.PageSize, PageToken: m.PageToken}
		if m.From != nil {
			if err := m.From.CheckValid(); err != nil {
				return nil, domain.Invalid("from", "is not a valid time")
			}
			r.From = m.From.AsTime()
		}
		if m.To != nil {
			if err := m.To.CheckValid(); err != nil {
				return nil, domain.Invalid("to", "is not a valid time")
			}
			r.To = m.To.AsTime()
		}
		res, next, err := search.Search(ctx, s.d.Search, a.TeamID, r)
		if err != nil {
			return nil, err
		}
		out := &v1.SearchMessagesResponse{NextPageToken: next, Total: res.Total, Hits: make([]*v1.SearchHit, 0, len(res.Hits))}
		// The page's messages in one query, not one per hit.
		ids := make([]string, len(res.Hits))
		for i, h := range res.Hits {
			ids[i] = h.MessageID
		}
		msgs, err := s.d.Reader.MessagesByID(ctx, a.TeamID, ids)
		if err != nil {
			return nil, domain.Unavailable("the read model", err)
		}
		for _, h := range res.Hits {
			msg, ok := msgs[h.MessageID]
			if !ok {
				continue // indexed before the read model has it: it shows up on the next search
			}
			if msg.Deleted {
				continue
			}
			out.Hits = append(out.Hits, &v1.SearchHit{Message: messageToProto(msg), ThreadId: h.ThreadID,
				Highlights: h.Highlights, Score: float32(h.Score)})
		}
		return out, nil
	})
}
