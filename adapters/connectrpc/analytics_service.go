package connectrpc

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/projections"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// Analytics is what AnalyticsService serves from.
type Analytics struct {
	Reader projections.AnalyticsReader
	// Definition names the definition the figures are computed with.
	Definition string
	// CaughtUp blocks until the figures hold at least what the read model shows, so a reply
	// seen in the inbox is in the figures too (nil: no wait).
	CaughtUp func(ctx context.Context) error
}

type analyticsService struct{ d Deps }

// NewAnalyticsService returns the AnalyticsService handler. Any member may read.
func NewAnalyticsService(d Deps) switchboardv1connect.AnalyticsServiceHandler {
	return analyticsService{d}
}

func (s analyticsService) ready(ctx context.Context) error {
	a := s.d.Analytics
	if a == nil {
		return connect.NewError(connect.CodeUnimplemented, nil)
	}
	if a.CaughtUp == nil {
		return nil
	}
	if err := a.CaughtUp(ctx); err != nil {
		return domain.Unavailable("the analytics (catching up with the log)", err)
	}
	return nil
}

var groupByFromProto = map[v1.GroupBy]projections.GroupBy{
	v1.GroupBy_GROUP_BY_UNSPECIFIED: projections.GroupNone, v1.GroupBy_GROUP_BY_DAY: projections.GroupDay,
	v1.GroupBy_GROUP_BY_MEMBER: projections.GroupMember, v1.GroupBy_GROUP_BY_ACCOUNT_LINK: projections.GroupAccountLink,
	v1.GroupBy_GROUP_BY_PLATFORM: projections.GroupPlatform,
}

func (s analyticsService) GetResponseTimes(ctx context.Context, req *connect.Request[v1.GetResponseTimesRequest]) (*connect.Response[v1.GetResponseTimesResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.GetResponseTimesRequest) (*v1.GetResponseTimesResponse, error) {
		if err := s.ready(ctx); err != nil {
			return nil, err
		}
		g, ok := groupByFromProto[m.GroupBy]
		if !ok {
			return nil, domain.Invalid("group_by", "unknown value %d", int32(m.GroupBy))
		}
		q := projections.ResponseTimesQuery{TeamID: a.TeamID, From: timeOf(m.From), To: timeOf(m.To), GroupBy: g,
			AccountLinkIDs: m.AccountLinkIds, MemberIDs: m.MemberIds}
		if len(m.Platforms) > projections.MaxAnalyticsFilters {
			return nil, domain.Invalid("platforms", "must have at most %d values", projections.MaxAnalyticsFilters)
		}
		for _, p := range m.Platforms {
			pl, err := platformFromProto("platforms", p)
			if err != nil {
				return nil, err
			}
			if pl.IsZero() {
				return nil, domain.Invalid("platforms", "must not hold PLATFORM_UNSPECIFIED")
			}
			q.Platforms = append(q.Platforms, pl.String())
		}
		groups, err := projections.ResponseTimes(ctx, s.d.Analytics.Reader, q)
		if err != nil {
			return nil, err
		}
		out := &v1.GetResponseTimesResponse{Definition: s.d.Analytics.Definition, Groups: make([]*v1.ResponseTimeGroup, 0, len(groups))}
		for _, g := range groups {
			out.Groups = append(out.Groups, &v1.ResponseTimeGroup{Key: g.Key, FirstResponse: statsToProto(g.FirstResponse),
				Reply: statsToProto(g.Reply), Resolution: statsToProto(g.Resolution), InboundMessages: g.Inbound,
				OutboundMessages: g.Outbound, AutomatedMessages: g.AutomatedMessages})
		}
		return out, nil
	})
}

func (s analyticsService) ListConversationMetrics(ctx context.Context, req *connect.Request[v1.ListConversationMetricsRequest]) (*connect.Response[v1.ListConversationMetricsResponse], error) {
	return handle(s.d, ctx, req, func(ctx context.Context, a commands.Actor, m *v1.ListConversationMetricsRequest) (*v1.ListConversationMetricsResponse, error) {
		if err := s.ready(ctx); err != nil {
			return nil, err
		}
		turns, next, err := projections.ConversationTurnsPage(ctx, s.d.Analytics.Reader, a.TeamID, timeOf(m.From), timeOf(m.To),
			m.PageSize, m.PageToken)
		if err != nil {
			return nil, err
		}
		out := &v1.ListConversationMetricsResponse{NextPageToken: next, Definition: s.d.Analytics.Definition,
			Turns: make([]*v1.ConversationTurn, 0, len(turns))}
		for _, t := range turns {
			out.Turns = append(out.Turns, turnToProto(t))
		}
		return out, nil
	})
}

// timeOf is a request's time, zero when unset (so validation names the missing field).
func timeOf(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func statsToProto(s projections.Stats) *v1.Stats {
	out := &v1.Stats{Count: s.Count}
	if s.Count > 0 {
		out.Median, out.P90 = durationpb.New(s.Median), durationpb.New(s.P90)
	}
	return out
}

func turnToProto(t projections.ConversationTurn) *v1.ConversationTurn {
	out := &v1.ConversationTurn{ThreadId: t.ThreadID, Turn: int32(t.Turn), ProspectId: t.ProspectID, AccountLinkId: t.AccountLinkID,
		Platform: platformToProto[t.Platform], StartedAt: timestamppb.New(t.StartedAt),
		FirstResponderMemberId: t.FirstResponderMemberID, FirstResponderKind: string(t.FirstResponderKind),
		ResolvedByMemberId: t.ResolvedByMemberID, InboundMessages: int32(t.Inbound), OutboundMessages: int32(t.Outbound),
		AutomatedMessages: int32(t.Automated)}
	if d, ok := t.FirstResponse(); ok {
		out.FirstResponseAt, out.FirstResponse = timestamppb.New(t.FirstResponseAt), durationpb.New(d)
	}
	if d, ok := t.Resolution(); ok {
		out.ResolvedAt, out.Resolution = timestamppb.New(t.ResolvedAt), durationpb.New(d)
	}
	for _, r := range t.Replies {
		out.Replies = append(out.Replies, durationpb.New(r.RepliedAt.Sub(r.InboundAt)))
	}
	return out
}
