package connectrpc

import (
	"context"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/commands"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

type accountService struct{ d Deps }

// NewAccountService returns the AccountService handler.
func NewAccountService(d Deps) switchboardv1connect.AccountServiceHandler { return accountService{d} }

func (s accountService) LinkAccount(ctx context.Context, req *connect.Request[v1.LinkAccountRequest]) (*connect.Response[v1.LinkAccountResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.LinkAccountRequest) (*v1.LinkAccountResponse, error) {
		p, err := platformFromProto("platform", m.Platform)
		if err != nil {
			return nil, err
		}
		r, err := s.d.App.LinkAccount.Handle(ctx, a, commands.LinkAccount{Platform: p, PlatformID: m.PlatformId,
			Username: m.Username, DisplayName: m.DisplayName, Credentials: m.Credentials, IdempotencyKey: m.IdempotencyKey})
		if err != nil {
			return nil, err
		}
		link, err := s.d.Reader.AccountLink(ctx, a.TeamID, r.AccountLinkID)
		if err != nil {
			// Durable but not projected yet: answer from the command's own outcome.
			return &v1.LinkAccountResponse{Position: s.d.position(a, r.Position), AccountLink: &v1.AccountLink{Id: r.AccountLinkID,
				Platform: m.Platform, PlatformId: m.PlatformId, Username: m.Username, DisplayName: m.DisplayName,
				WebhookPath: r.WebhookPath, Active: true, Capabilities: capabilitiesOfProto(m.Platform)}}, nil
		}
		return &v1.LinkAccountResponse{AccountLink: accountToProto(link), Position: s.d.position(a, r.Position)}, nil
	})
}

func (s accountService) ListAccountLinks(ctx context.Context, req *connect.Request[v1.ListAccountLinksRequest]) (*connect.Response[v1.ListAccountLinksResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, _ *v1.ListAccountLinksRequest) (*v1.ListAccountLinksResponse, error) {
		links, err := s.d.Reader.AccountLinks(ctx, a.TeamID)
		if err != nil {
			return nil, lookup(err, "", "")
		}
		out := &v1.ListAccountLinksResponse{}
		for _, l := range links {
			out.AccountLinks = append(out.AccountLinks, accountToProto(l))
		}
		return out, nil
	})
}

func (s accountService) UnlinkAccount(ctx context.Context, req *connect.Request[v1.UnlinkAccountRequest]) (*connect.Response[v1.UnlinkAccountResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.UnlinkAccountRequest) (*v1.UnlinkAccountResponse, error) {
		r, err := s.d.App.UnlinkAccount.Handle(ctx, a, commands.UnlinkAccount{AccountLinkID: m.AccountLinkId, IdempotencyKey: m.IdempotencyKey})
		if err != nil {
			return nil, err
		}
		return &v1.UnlinkAccountResponse{Position: s.d.position(a, r.Position)}, nil
	})
}
