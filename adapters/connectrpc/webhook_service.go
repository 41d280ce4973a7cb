package connectrpc

import (
	"context"
	"errors"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/switchboard-oss/switchboard/adapters/webhooks"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

type webhookService struct{ d Deps }

// NewWebhookService returns the WebhookService handler: outbound webhook subscriptions.
func NewWebhookService(d Deps) switchboardv1connect.WebhookServiceHandler { return webhookService{d} }

// admin refuses agents: a subscription sends the team's events out of Switchboard.
func (s webhookService) admin(a commands.Actor) error {
	if a.Role != string(domain.RoleOwner) && a.Role != string(domain.RoleAdmin) {
		return domain.PermissionDenied("only owners and admins manage webhook subscriptions")
	}
	if s.d.Webhooks == nil {
		return connect.NewError(connect.CodeUnimplemented, errors.New("webhooks are not configured in this process"))
	}
	return nil
}

func subscriptionToProto(sub webhooks.Subscription) *v1.WebhookSubscription {
	return &v1.WebhookSubscription{Id: sub.ID, Url: sub.URL, EventTypes: sub.EventTypes, Description: sub.Description,
		State: sub.State(), DisabledReason: sub.DisabledReason, CreatedAt: ts(sub.CreatedAt),
		LastSuccessAt: ts(sub.LastSuccessAt), LastError: sub.LastError}
}

func (s webhookService) CreateSubscription(ctx context.Context, req *connect.Request[v1.CreateSubscriptionRequest]) (*connect.Response[v1.CreateSubscriptionResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.CreateSubscriptionRequest) (*v1.CreateSubscriptionResponse, error) {
		if err := s.admin(a); err != nil {
			return nil, err
		}
		sub, secret, err := s.d.Webhooks.Create(ctx, a.TeamID, a.MemberID, webhooks.Settings{URL: m.Url, Description: m.Description, EventTypes: m.EventTypes})
		if err != nil {
			return nil, err
		}
		return &v1.CreateSubscriptionResponse{Subscription: subscriptionToProto(sub), Secret: secret}, nil
	})
}

func (s webhookService) ListSubscriptions(ctx context.Context, req *connect.Request[v1.ListSubscriptionsRequest]) (*connect.Response[v1.ListSubscriptionsResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, _ *v1.ListSubscriptionsRequest) (*v1.ListSubscriptionsResponse, error) {
		if err := s.admin(a); err != nil {
			return nil, err
		}
		subs, err := s.d.Webhooks.List(ctx, a.TeamID)
		if err != nil {
			return nil, err
		}
		out := &v1.ListSubscriptionsResponse{Subscriptions: make([]*v1.WebhookSubscription, 0, len(subs))}
		for _, sub := range subs {
			out.Subscriptions = append(out.Subscriptions, subscriptionToProto(sub))
		}
		return out, nil
	})
}

func (s webhookService) UpdateSubscription(ctx context.Context, req *connect.Request[v1.UpdateSubscriptionRequest]) (*connect.Response[v1.UpdateSubscriptionResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.UpdateSubscriptionRequest) (*v1.UpdateSubscriptionResponse, error) {
		if err := s.admin(a); err != nil {
			return nil, err
		}
		c := webhooks.Change{URL: m.Url, Description: m.Description, Paused: m.Paused}
		if m.ReplaceEventTypes {
			types := m.EventTypes
			c.EventTypes = &types
		} else if len(m.EventTypes) > 0 {
			return nil, domain.Invalid("event_types", "set replace_event_types to replace the event types")
		}
		sub, err := s.d.Webhooks.Update(ctx, a.TeamID, a.MemberID, m.SubscriptionId, c)
		if err != nil {
			return nil, err
		}
		return &v1.UpdateSubscriptionResponse{Subscription: subscriptionToProto(sub)}, nil
	})
}

func (s webhookService) DeleteSubscription(ctx context.Context, req *connect.Request[v1.DeleteSubscriptionRequest]) (*connect.Response[v1.DeleteSubscriptionResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.DeleteSubscriptionRequest) (*v1.DeleteSubscriptionResponse, error) {
		if err := s.admin(a); err != nil {
			return nil, err
		}
		return &v1.DeleteSubscriptionResponse{}, s.d.Webhooks.Delete(ctx, a.TeamID, a.MemberID, m.SubscriptionId)
	})
}

func (s webhookService) ListDeliveries(ctx context.Context, req *connect.Request[v1.ListDeliveriesRequest]) (*connect.Response[v1.ListDeliveriesResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.ListDeliveriesRequest) (*v1.ListDeliveriesResponse, error) {
		if err := s.admin(a); err != nil {
			return nil, err
		}
		size := int(m.PageSize)
		switch {
		case size < 0:
			return nil, domain.Invalid("page_size", "must not be negative")
		case size == 0:
			size = 100
		case size > 1000:
			size = 1000
		}
		var before int64
		if m.PageToken != "" {
			n, err := strconv.ParseInt(m.PageToken, 10, 64)
			if err != nil || n <= 0 {
				return nil, domain.Invalid("page_token", "must be a next_page_token this call answered")
			}
			before = n
		}
		ds, err := s.d.Webhooks.Deliveries(ctx, a.TeamID, m.SubscriptionId, m.Status, before, size)
		if err != nil {
			return nil, err
		}
		out := &v1.ListDeliveriesResponse{Deliveries: make([]*v1.WebhookDelivery, 0, len(ds))}
		for _, d := range ds {
			var pos string
			if c, err := eventlog.ParseCursor(d.Before); err == nil {
				pos = s.d.Positions.Encode(a.TeamID, c)
			}
			out.Deliveries = append(out.Deliveries, &v1.WebhookDelivery{EventId: d.EventID, EventType: d.EventType, Key: d.Key,
				Position: pos, Attempt: int32(d.Attempt), AttemptedAt: ts(d.At), HttpStatus: int32(d.HTTPStatus),
				LatencyMs: d.Latency.Milliseconds(), Error: d.Error, Status: d.Status})
		}
		if len(ds) == size {
			out.NextPageToken = strconv.FormatInt(ds[len(ds)-1].ID, 10)
		}
		return out, nil
	})
}

func (s webhookService) RedeliverFrom(ctx context.Context, req *connect.Request[v1.RedeliverFromRequest]) (*connect.Response[v1.RedeliverFromResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.RedeliverFromRequest) (*v1.RedeliverFromResponse, error) {
		if err := s.admin(a); err != nil {
			return nil, err
		}
		if (m.AfterPosition == "") == (m.From == nil) {
			return nil, domain.Invalid("after_position", "set exactly one of after_position and from")
		}
		if m.From != nil {
			if err := m.From.CheckValid(); err != nil {
				return nil, domain.Invalid("from", "is not a valid time")
			}
			return &v1.RedeliverFromResponse{}, s.d.Webhooks.RedeliverAfter(ctx, a.TeamID, m.SubscriptionId, eventlog.Cursor{}, m.From.AsTime())
		}
		after, err := s.d.Positions.Decode(a.TeamID, "after_position", m.AfterPosition)
		if err != nil {
			return nil, err
		}
		return &v1.RedeliverFromResponse{}, s.d.Webhooks.RedeliverAfter(ctx, a.TeamID, m.SubscriptionId, after, time.Time{})
	})
}

// WebhookRender renders an event as the body of an outbound webhook: EventService's Event in
// the API's JSON (as ListEvents answers it), its position the team's token of after, and what a
// non-owner may not see left out (security events' details, key hashes).
func WebhookRender(p *Positions) webhooks.Render {
	return func(teamID string, r eventlog.Record, after eventlog.Cursor) ([]byte, error) {
		e, err := eventToProto(r, commands.Actor{TeamID: teamID, Role: string(domain.RoleAdmin)}, p.Encode(teamID, after))
		if err != nil {
			return nil, err
		}
		return protojson.MarshalOptions{}.Marshal(e)
	}
}
