package connectrpc

import (
	"context"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

type teamService struct{ d Deps }

// NewTeamService returns the TeamService handler.
func NewTeamService(d Deps) switchboardv1connect.TeamServiceHandler { return teamService{d} }

func (s teamService) CreateTag(ctx context.Context, req *connect.Request[v1.CreateTagRequest]) (*connect.Response[v1.CreateTagResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.CreateTagRequest) (*v1.CreateTagResponse, error) {
		r, err := s.d.App.CreateTag.Handle(ctx, a, commands.CreateTag{Name: m.Name, Color: m.Color, IdempotencyKey: m.IdempotencyKey})
		return &v1.CreateTagResponse{Tag: &v1.Tag{Id: r.TagID, Name: r.Name, Color: r.Color}, Position: s.d.position(a, r.Position)}, err
	})
}

func (s teamService) ListTags(ctx context.Context, req *connect.Request[v1.ListTagsRequest]) (*connect.Response[v1.ListTagsResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, _ *v1.ListTagsRequest) (*v1.ListTagsResponse, error) {
		tags, err := s.d.Reader.Tags(ctx, a.TeamID)
		if err != nil {
			return nil, lookup(err, "", "")
		}
		out := &v1.ListTagsResponse{Tags: make([]*v1.Tag, 0, len(tags))}
		for _, t := range tags {
			out.Tags = append(out.Tags, tagToProto(t))
		}
		return out, nil
	})
}

func (s teamService) DeleteTag(ctx context.Context, req *connect.Request[v1.DeleteTagRequest]) (*connect.Response[v1.DeleteTagResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.DeleteTagRequest) (*v1.DeleteTagResponse, error) {
		r, err := s.d.App.DeleteTag.Handle(ctx, a, commands.DeleteTag{TagID: m.TagId, IdempotencyKey: m.IdempotencyKey})
		return &v1.DeleteTagResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s teamService) CreateStatus(ctx context.Context, req *connect.Request[v1.CreateStatusRequest]) (*connect.Response[v1.CreateStatusResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.CreateStatusRequest) (*v1.CreateStatusResponse, error) {
		r, err := s.d.App.CreateStatus.Handle(ctx, a, commands.CreateStatus{Name: m.Name, Position: m.Position, IdempotencyKey: m.IdempotencyKey})
		return &v1.CreateStatusResponse{Status: &v1.Status{Id: r.StatusID, Name: r.Name, Position: r.StatusPosition}, Position: s.d.position(a, r.Position)}, err
	})
}

func (s teamService) ListStatuses(ctx context.Context, req *connect.Request[v1.ListStatusesRequest]) (*connect.Response[v1.ListStatusesResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, _ *v1.ListStatusesRequest) (*v1.ListStatusesResponse, error) {
		statuses, err := s.d.Reader.Statuses(ctx, a.TeamID)
		if err != nil {
			return nil, lookup(err, "", "")
		}
		out := &v1.ListStatusesResponse{Statuses: make([]*v1.Status, 0, len(statuses))}
		for _, st := range statuses {
			out.Statuses = append(out.Statuses, statusToProto(st))
		}
		return out, nil
	})
}

func (s teamService) AddMember(ctx context.Context, req *connect.Request[v1.AddMemberRequest]) (*connect.Response[v1.AddMemberResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.AddMemberRequest) (*v1.AddMemberResponse, error) {
		r, err := s.d.App.AddMember.Handle(ctx, a, commands.AddMember{Email: m.Email, Name: m.Name, Role: m.Role, IdempotencyKey: m.IdempotencyKey})
		return &v1.AddMemberResponse{Member: &v1.Member{Id: r.MemberID, Email: r.Email, Name: r.Name, Role: r.Role}, Position: s.d.position(a, r.Position)}, err
	})
}

func (s teamService) ListMembers(ctx context.Context, req *connect.Request[v1.ListMembersRequest]) (*connect.Response[v1.ListMembersResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, _ *v1.ListMembersRequest) (*v1.ListMembersResponse, error) {
		members, err := s.d.Reader.Members(ctx, a.TeamID)
		if err != nil {
			return nil, lookup(err, "", "")
		}
		out := &v1.ListMembersResponse{Members: make([]*v1.Member, 0, len(members))}
		for _, m := range members {
			out.Members = append(out.Members, memberToProto(m))
		}
		return out, nil
	})
}

func (s teamService) CreateApiKey(ctx context.Context, req *connect.Request[v1.CreateApiKeyRequest]) (*connect.Response[v1.CreateApiKeyResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.CreateApiKeyRequest) (*v1.CreateApiKeyResponse, error) {
		r, err := s.d.App.CreateAPIKey.Handle(ctx, a, commands.CreateAPIKey{MemberID: m.MemberId})
		return &v1.CreateApiKeyResponse{Key: r.Key, KeyId: r.KeyID, Position: s.d.position(a, r.Position)}, err
	})
}

func (s teamService) CreateTeam(ctx context.Context, req *connect.Request[v1.CreateTeamRequest]) (*connect.Response[v1.CreateTeamResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.CreateTeamRequest) (*v1.CreateTeamResponse, error) {
		r, err := s.d.App.CreateTeam.Handle(ctx, a, commands.CreateTeam{Name: m.Name, OwnerEmail: m.OwnerEmail, OwnerName: m.OwnerName})
		return &v1.CreateTeamResponse{TeamId: r.TeamID, OwnerMemberId: r.OwnerMemberID, OwnerKey: r.OwnerKey}, err
	})
}

func (s teamService) ListApiKeys(ctx context.Context, req *connect.Request[v1.ListApiKeysRequest]) (*connect.Response[v1.ListApiKeysResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, _ *v1.ListApiKeysRequest) (*v1.ListApiKeysResponse, error) {
		keys, err := s.d.Reader.APIKeys(ctx, a.TeamID)
		if err != nil {
			return nil, lookup(err, "", "")
		}
		all := a.Role == string(domain.RoleOwner) || a.Role == string(domain.RoleAdmin)
		out := &v1.ListApiKeysResponse{Keys: make([]*v1.ApiKey, 0, len(keys))}
		for _, k := range keys {
			if !all && k.MemberID != a.MemberID {
				continue // agents see their own keys
			}
			p := &v1.ApiKey{Id: k.ID, MemberId: k.MemberID, Prefix: k.Prefix, CreatedAt: ts(k.CreatedAt), InstanceAdmin: k.InstanceAdmin}
			if !k.LastUsedAt.IsZero() {
				p.LastUsedAt = ts(k.LastUsedAt)
			}
			out.Keys = append(out.Keys, p)
		}
		return out, nil
	})
}

func (s teamService) RevokeApiKey(ctx context.Context, req *connect.Request[v1.RevokeApiKeyRequest]) (*connect.Response[v1.RevokeApiKeyResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.RevokeApiKeyRequest) (*v1.RevokeApiKeyResponse, error) {
		r, err := s.d.App.RevokeAPIKey.Handle(ctx, a, commands.RevokeAPIKey{KeyID: m.KeyId})
		return &v1.RevokeApiKeyResponse{Position: s.d.position(a, r.Position)}, err
	})
}

func (s teamService) RemoveMember(ctx context.Context, req *connect.Request[v1.RemoveMemberRequest]) (*connect.Response[v1.RemoveMemberResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.RemoveMemberRequest) (*v1.RemoveMemberResponse, error) {
		r, err := s.d.App.RemoveMember.Handle(ctx, a, commands.RemoveMember{MemberID: m.MemberId, IdempotencyKey: m.IdempotencyKey})
		return &v1.RemoveMemberResponse{Position: s.d.position(a, r.Position)}, err
	})
}
