package main

import (
	"context"
	"fmt"
	"sync"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/bench/traffic"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
)

// team is one benchmark team as the server knows it.
type team struct {
	id       string
	key      string
	apis     []*api // one per pooled connection
	members  []string
	tags     []string
	statuses []string
	links    []int // indexes into run.links
}

// link is one account link as the server knows it.
type link struct {
	traffic.Link
	id        string
	webhook   string // path of its webhook endpoint (Messenger)
	appSecret string
}

// threadRef is what the server answered for one generated thread.
type threadRef struct {
	id, prospect string
	team, link   int
}

// setup creates the teams (each with its owner key), their account links, tags, statuses and
// agents, through the API as an operator would.
func (r *run) setup(ctx context.Context) error {
	admin := newAPI(r.pool.get(), r.e.base(), adminKey)
	cfg := r.gen.Config()
	for t := range cfg.Teams {
		res, err := admin.team.CreateTeam(ctx, connect.NewRequest(&v1.CreateTeamRequest{Name: fmt.Sprintf("bench-%d", t)}))
		if err != nil {
			return fmt.Errorf("CreateTeam: %w", err)
		}
		tm := &team{id: res.Msg.TeamId, key: res.Msg.OwnerKey}
		for _, hc := range r.pool.clients {
			tm.apis = append(tm.apis, newAPI(hc, r.e.base(), tm.key))
		}
		c := tm.apis[0]
		for i, name := range []string{"vip", "wholesale", "complaint", "returning", "press"} {
			res, err := c.team.CreateTag(ctx, connect.NewRequest(&v1.CreateTagRequest{Name: name, Color: fmt.Sprintf("#%06x", 0x224488*(i+1)&0xffffff)}))
			if err != nil {
				return fmt.Errorf("CreateTag: %w", err)
			}
			tm.tags = append(tm.tags, res.Msg.Tag.Id)
		}
		for i, name := range []string{"lead", "qualified", "customer", "churned"} {
			res, err := c.team.CreateStatus(ctx, connect.NewRequest(&v1.CreateStatusRequest{Name: name, Position: int32(i)}))
			if err != nil {
				return fmt.Errorf("CreateStatus: %w", err)
			}
			tm.statuses = append(tm.statuses, res.Msg.Status.Id)
		}
		for i := range 4 {
			res, err := c.team.AddMember(ctx, connect.NewRequest(&v1.AddMemberRequest{
				Email: fmt.Sprintf("agent%d@team%d.example", i, t), Name: fmt.Sprintf("Agent %d", i), Role: "agent"}))
			if err != nil {
				return fmt.Errorf("AddMember: %w", err)
			}
			tm.members = append(tm.members, res.Msg.Member.Id)
		}
		r.teams = append(r.teams, tm)
	}
	for _, l := range r.gen.Links() {
		tm := r.teams[l.Team]
		req := &v1.LinkAccountRequest{Platform: v1.Platform_PLATFORM_API, PlatformId: l.PlatformID,
			Username: l.Username, DisplayName: l.DisplayName}
		lk := link{Link: l}
		if l.Messenger {
			lk.appSecret = fmt.Sprintf("bench-app-secret-%d", l.Team)
			req.Platform = v1.Platform_PLATFORM_MESSENGER
			req.Credentials = map[string]string{"app_secret": lk.appSecret, "verify_token": "bench-verify",
				"access_token": "bench-page-token"}
		}
		res, err := tm.apis[0].accounts.LinkAccount(ctx, connect.NewRequest(req))
		if err != nil {
			return fmt.Errorf("LinkAccount: %w", err)
		}
		lk.id, lk.webhook = res.Msg.AccountLink.Id, res.Msg.AccountLink.WebhookPath
		tm.links = append(tm.links, len(r.links))
		r.links = append(r.links, lk)
	}
	return nil
}

// threads remembers the ids the server gave each generated thread.
type threads struct {
	mu   sync.Mutex
	refs map[int]threadRef
}

func (t *threads) set(i int, ref threadRef) {
	t.mu.Lock()
	t.refs[i] = ref
	t.mu.Unlock()
}
