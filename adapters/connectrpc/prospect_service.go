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

type prospectService struct{ d Deps }

// NewProspectService returns the ProspectService handler.
func NewProspectService(d Deps) switchboardv1connect.ProspectServiceHandler {
	return prospectService{d}
}

func (s prospectService) GetProspect(ctx context.Context, req *connect.Request[v1.GetProspectRequest]) (*connect.Response[v1.GetProspectResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.GetProspectRequest) (*v1.GetProspectResponse, error) {
		if err := domain.RequireID("prospect_id", m.ProspectId, domain.PrefixProspect); err != nil {
			return nil, err
		}
		p, err := s.d.Reader.Prospect(ctx, a.TeamID, m.ProspectId)
		if err != nil {
			return nil, lookup(err, "prospect", m.ProspectId)
		}
		return &v1.GetProspectResponse{Prospect: prospectToProto(&p)}, nil
	})
}

func (s prospectService) ListProspects(ctx context.Context, req *connect.Request[v1.ListProspectsRequest]) (*connect.Response[v1.ListProspectsResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.ListProspectsRequest) (*v1.ListProspectsResponse, error) {
		p, err := platformFromProto("platform", m.Platform)
		if err != nil {
			return nil, err
		}
		if err := domain.CheckID("tag_id", m.TagId, domain.PrefixTag); err != nil {
			return nil, err
		}
		if err := domain.CheckID("status_id", m.StatusId, domain.PrefixStatus); err != nil {
			return nil, err
		}
		ps, next, err := projections.ListProspects(ctx, s.d.Reader, projections.ProspectQuery{
			TeamID: a.TeamID, Platform: p.String(), TagID: m.TagId, StatusID: m.StatusId}, m.PageSize, m.PageToken)
		if err != nil {
			return nil, err
		}
		out := &v1.ListProspectsResponse{NextPageToken: next, Prospects: make([]*v1.Prospect, 0, len(ps))}
		for i := range ps {
			out.Prospects = append(out.Prospects, prospectToProto(&ps[i]))
		}
		return out, nil
	})
}

func (s prospectService) TagProspect(ctx context.Context, req *connect.Request[v1.TagProspectRequest]) (*connect.Response[v1.TagProspectResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.TagProspectRequest) (*v1.TagProspectResponse, error) {
		r, err := s.d.App.TagProspect.Handle(ctx, a, commands.TagProspect{ProspectID: m.ProspectId, TagID: m.TagId, IdempotencyKey: m.IdempotencyKey})
		return &v1.TagProspectResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s prospectService) UntagProspect(ctx context.Context, req *connect.Request[v1.UntagProspectRequest]) (*connect.Response[v1.UntagProspectResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.UntagProspectRequest) (*v1.UntagProspectResponse, error) {
		r, err := s.d.App.UntagProspect.Handle(ctx, a, commands.UntagProspect{ProspectID: m.ProspectId, TagID: m.TagId, IdempotencyKey: m.IdempotencyKey})
		return &v1.UntagProspectResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s prospectService) SetProspectStatus(ctx context.Context, req *connect.Request[v1.SetProspectStatusRequest]) (*connect.Response[v1.SetProspectStatusResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.SetProspectStatusRequest) (*v1.SetProspectStatusResponse, error) {
		r, err := s.d.App.SetProspectStatus.Handle(ctx, a, commands.SetProspectStatus{ProspectID: m.ProspectId, StatusID: m.StatusId, IdempotencyKey: m.IdempotencyKey})
		return &v1.SetProspectStatusResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s prospectService) UpdateProspectContext(ctx context.Context, req *connect.Request[v1.UpdateProspectContextRequest]) (*connect.Response[v1.UpdateProspectContextResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.UpdateProspectContextRequest) (*v1.UpdateProspectContextResponse, error) {
		r, err := s.d.App.UpdateProspectContext.Handle(ctx, a, commands.UpdateProspectContext{ProspectID: m.ProspectId,
			Notes: m.Notes, Valuation: m.Valuation, CustomFields: m.CustomFields, IdempotencyKey: m.IdempotencyKey})
		return &v1.UpdateProspectContextResponse{Position: s.d.position(a, r.Position)}, err
	})
}
