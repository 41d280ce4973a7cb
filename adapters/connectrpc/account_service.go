package connectrpc

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	linking "github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/projections"
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
		if s.d.Connector != nil && len(m.Credentials) > 0 {
			// Switchboard registers its own webhook (Telegram setWebhook, Meta subscribed_apps);
			// a failure leaves the link unhealthy with the reason, which the answer shows.
			s.d.Connector.Linked(ctx, a.TeamID, r.AccountLinkID, p, m.PlatformId, r.WebhookPath)
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
		if s.d.Connector != nil && !r.Duplicate {
			s.d.Connector.Unlinked(ctx, a.TeamID, m.AccountLinkId)
		}
		return &v1.UnlinkAccountResponse{Position: s.d.position(a, r.Position)}, nil
	})
}

func (s accountService) connector() (*linking.Service, error) {
	if s.d.Connector == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("connecting accounts is not configured on this server"))
	}
	return s.d.Connector, nil
}

func (s accountService) StartConnect(ctx context.Context, req *connect.Request[v1.StartConnectRequest]) (*connect.Response[v1.StartConnectResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.StartConnectRequest) (*v1.StartConnectResponse, error) {
		c, err := s.connector()
		if err != nil {
			return nil, err
		}
		p, err := platformFromProto("platform", m.Platform)
		if err != nil {
			return nil, err
		}
		r, err := c.StartConnect(ctx, a, p, m.ReturnUrl, m.Credentials)
		if err != nil {
			return nil, err
		}
		out := &v1.StartConnectResponse{AuthorizeUrl: r.AuthorizeURL, State: r.State}
		out.AccountLinks, err = s.links(ctx, a, r.LinkIDs)
		return out, err
	})
}

// links answers the links a flow made, as the read model shows them once it has them.
func (s accountService) links(ctx context.Context, a commands.Actor, ids []string) ([]*v1.AccountLink, error) {
	var out []*v1.AccountLink
	for _, id := range ids {
		l, err := s.d.Reader.AccountLink(ctx, a.TeamID, id)
		if errors.Is(err, projections.ErrNotFound) {
			// Durable but not projected yet: ListAccountLinks shows it shortly.
			out = append(out, &v1.AccountLink{Id: id, Active: true})
			continue
		}
		if err != nil {
			return nil, lookup(err, "account link", id)
		}
		out = append(out, accountToProto(l))
	}
	return out, nil
}

func (s accountService) ListConnectableAssets(ctx context.Context, req *connect.Request[v1.ListConnectableAssetsRequest]) (*connect.Response[v1.ListConnectableAssetsResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.ListConnectableAssetsRequest) (*v1.ListConnectableAssetsResponse, error) {
		c, err := s.connector()
		if err != nil {
			return nil, err
		}
		assets, err := c.ConnectableAssets(ctx, a, m.State)
		if err != nil {
			return nil, err
		}
		out := &v1.ListConnectableAssetsResponse{}
		for _, as := range assets {
			out.Assets = append(out.Assets, &v1.ConnectableAsset{Id: as.ID, Platform: platformToProto[as.Platform.String()],
				PlatformId: as.PlatformID, Username: as.Username, DisplayName: as.DisplayName})
		}
		return out, nil
	})
}

func (s accountService) LinkConnectedAssets(ctx context.Context, req *connect.Request[v1.LinkConnectedAssetsRequest]) (*connect.Response[v1.LinkConnectedAssetsResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.LinkConnectedAssetsRequest) (*v1.LinkConnectedAssetsResponse, error) {
		c, err := s.connector()
		if err != nil {
			return nil, err
		}
		ids, err := c.LinkConnectedAssets(ctx, a, m.State, m.AssetIds)
		if err != nil {
			return nil, err
		}
		out := &v1.LinkConnectedAssetsResponse{}
		out.AccountLinks, err = s.links(ctx, a, ids)
		return out, err
	})
}
