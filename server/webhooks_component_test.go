package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/adapters/webhooks"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/server"
)

const webhookSvc = "/switchboard.v1.WebhookService/"

// receiver is a webhook endpoint that verifies every signature and records what it accepted.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	calls  int
	// answer decides the status of call n (1-based); 2xx accepts.
	answer   func(n int) int
	accepted []delivered
	badSig   []string
	byTeam   map[string]int
}

type delivered struct {
	id, key, typ, header string
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{t: t, answer: answer, byTeam: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	status := r.answer(r.calls)
	var ev struct {
		EventID string `json:"eventId"`
		Type    string `json:"type"`
		Key     string `json:"key"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("receiver: body is not the event JSON: %v: %s", err, body)
	}
	if !validSignature(r.secret, req.Header.Get("Switchboard-Signature"), body, 5*time.Minute) {
		r.badSig = append(r.badSig, ev.EventID)
	}
	if status/100 == 2 {
		r.accepted = append(r.accepted, delivered{ev.EventID, ev.Key, ev.Type, req.Header.Get("Idempotency-Key")})
	}
	w.WriteHeader(status)
}

// validSignature checks Switchboard-Signature as the README tells receivers to.
func validSignature(secret, header string, body []byte, tolerance time.Duration) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > tolerance {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(sig))
}

func (r *receiver) snapshot() ([]delivered, []string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.accepted...), append([]string(nil), r.badSig...), r.calls
}

func startWebhookServer(t *testing.T, dir string, retryFor time.Duration) *server.Server {
	return startServerWith(t, webhookConfig(server.Config{DataDir: dir}, retryFor))
}

func webhookConfig(cfg server.Config, retryFor time.Duration) server.Config {
	cfg.Roles = []string{"api", "ingest", "projector", "webhooks"}
	cfg.Webhooks = server.WebhooksConfig{RetryFor: retryFor, AllowPrivate: true, Tune: func(o *webhooks.Options) {
		o.InitialInterval, o.MaxInterval, o.Poll = 20*time.Millisecond, 150*time.Millisecond, 30*time.Millisecond
	}}
	return cfg
}

func waitUntil(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebhooksDeliverThroughAFlakyReceiver: a receiver that fails half its calls, then is down
// for a while, then comes back gets every event of its team (and none of another team), in
// order per key, each signed; a repeat carries the same event id.
func TestWebhooksDeliverThroughAFlakyReceiver(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		testWebhooksFlakyReceiver(t, startWebhookServer(t, t.TempDir(), time.Hour))
	})
	t.Run("kafka+postgres", func(t *testing.T) {
		pg := testenv.PostgresSchema(t)
		_, brokers := testenv.Kafka(t)
		testWebhooksFlakyReceiver(t, startServerWith(t, webhookConfig(server.Config{DataDir: t.TempDir(), PostgresURL: pg,
			Kafka: scaleKafka(brokers)}, time.Hour)))
	})
}

func testWebhooksFlakyReceiver(t *testing.T, s *server.Server) {
	a := api{t, newConnectClient(s.Addr), adminKey}
	var downUntil time.Time
	var mu sync.Mutex
	rcv := newReceiver(t, func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case n == 40:
			downUntil = time.Now().Add(1500 * time.Millisecond) // the receiver goes down
			return http.StatusServiceUnavailable
		case time.Now().Before(downUntil):
			return http.StatusBadGateway
		case n%2 == 0:
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	created := call[v1.CreateSubscriptionResponse](a, webhookSvc+"CreateSubscription", &v1.CreateSubscriptionRequest{
		Url: rcv.srv.URL + "/hook", EventTypes: []string{"message.received.v1"}, Description: "crm"})
	if !strings.HasPrefix(created.Secret, "whsec_") || created.Subscription.State != "active" {
		t.Fatalf("CreateSubscription: %+v", created)
	}
	rcv.mu.Lock()
	rcv.secret = created.Secret
	rcv.mu.Unlock()
	list := call[v1.ListSubscriptionsResponse](a, webhookSvc+"ListSubscriptions", &v1.ListSubscriptionsRequest{})
	if len(list.Subscriptions) != 1 || list.Subscriptions[0].Url != rcv.srv.URL+"/hook" {
		t.Fatalf("ListSubscriptions: %+v", list.Subscriptions)
	}
	if strings.Contains(fmt.Sprint(list), created.Secret) {
		t.Fatal("ListSubscriptions shows the secret")
	}

	// Another team's events never reach this team's subscription.
	team2 := call[v1.CreateTeamResponse](a, teamSvc+"CreateTeam", &v1.CreateTeamRequest{Name: "second"})
	b := a.as(team2.OwnerKey)
	accB := b.link(v1.Platform_PLATFORM_API, "other-shop")
	acc := a.link(v1.Platform_PLATFORM_API, "shop")
	const prospects, perProspect = 5, 8
	for i := 0; i < perProspect; i++ {
		for p := 0; p < prospects; p++ {
			a.ingest(msg{acc.Id, pid(p), fmt.Sprintf("m-%d-%d", p, i), v1.Direction_DIRECTION_INBOUND, "hello", at(i)})
		}
		b.ingest(msg{accB.Id, pid(0), fmt.Sprintf("b-%d", i), v1.Direction_DIRECTION_INBOUND, "other team", at(i)})
	}
	// What the team's log holds, in log order.
	var want []*v1.Event
	for _, e := range a.events() {
		if e.Type == "message.received.v1" {
			want = append(want, e)
		}
	}
	if len(want) != prospects*perProspect {
		t.Fatalf("the log holds %d messages, want %d", len(want), prospects*perProspect)
	}
	waitUntil(t, "every event is accepted", 60*time.Second, func() bool {
		got, _, _ := rcv.snapshot()
		seen := map[string]bool{}
		for _, d := range got {
			seen[d.id] = true
		}
		return len(seen) >= len(want)
	})
	got, badSig, calls := rcv.snapshot()
	if len(badSig) > 0 {
		t.Errorf("%d deliveries carried an invalid signature: %v", len(badSig), badSig)
	}
	if calls <= len(want) {
		t.Errorf("the receiver failed calls, yet only %d calls were made for %d events", calls, len(want))
	}
	wantIDs := map[string]*v1.Event{}
	for _, e := range want {
		wantIDs[e.EventId] = e
	}
	firstAt := map[string]int{}
	for i, d := range got {
		if wantIDs[d.id] == nil {
			t.Fatalf("delivered event %s (%s) is not one of the team's messages", d.id, d.typ)
		}
		if d.header != d.id {
			t.Errorf("Idempotency-Key %q is not the event id %q", d.header, d.id)
		}
		if _, ok := firstAt[d.id]; !ok {
			firstAt[d.id] = i
		}
	}
	// In order per key: each key's events were first accepted in log order.
	lastByKey := map[string]int{}
	for _, e := range want {
		i := firstAt[e.EventId]
		if prev, ok := lastByKey[e.Key]; ok && i < prev {
			t.Errorf("key %s: event %s was accepted before an earlier event of its key", e.Key, e.EventId)
		}
		lastByKey[e.Key] = i
	}
	// The attempts are listed, failures with their status.
	ds := call[v1.ListDeliveriesResponse](a, webhookSvc+"ListDeliveries", &v1.ListDeliveriesRequest{
		SubscriptionId: created.Subscription.Id, Status: "failed", PageSize: 1000})
	if len(ds.Deliveries) == 0 || ds.Deliveries[0].HttpStatus < 500 || ds.Deliveries[0].Error == "" {
		t.Errorf("ListDeliveries status=failed: %d attempts, first %+v", len(ds.Deliveries), ds.Deliveries)
	}

	// Tenancy of the API: the other team sees no subscription, and cannot touch this one.
	if l := call[v1.ListSubscriptionsResponse](b, webhookSvc+"ListSubscriptions", &v1.ListSubscriptionsRequest{}); len(l.Subscriptions) != 0 {
		t.Errorf("team two lists %d subscriptions", len(l.Subscriptions))
	}
	wantCode(t, "DeleteSubscription of another team", b.try(webhookSvc+"DeleteSubscription",
		&v1.DeleteSubscriptionRequest{SubscriptionId: created.Subscription.Id}, &v1.DeleteSubscriptionResponse{}), connect.CodeNotFound)

	// The subscription's lifecycle is in the log, never with the secret.
	for _, e := range a.events() {
		if strings.HasPrefix(e.Type, "webhook_subscription.") && strings.Contains(fmt.Sprint(e.Data), strings.TrimPrefix(created.Secret, "whsec_")) {
			t.Errorf("event %s carries the signing secret", e.Type)
		}
	}
}

// TestWebhooksSSRFGuard: without --webhooks-allow-private a loopback, private or link-local
// receiver is refused, naming why, and nothing is created.
func TestWebhooksSSRFGuard(t *testing.T) {
	s := startServerWith(t, server.Config{DataDir: t.TempDir(), Roles: []string{"api", "ingest", "projector", "webhooks"}})
	a := api{t, newConnectClient(s.Addr), adminKey}
	for _, u := range []string{"http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data",
		"http://[::1]/hook", "http://0.0.0.0/", "http://localhost/hook", "ftp://example.com/x", "not a url"} {
		err := a.try(webhookSvc+"CreateSubscription", &v1.CreateSubscriptionRequest{Url: u}, &v1.CreateSubscriptionResponse{})
		wantCode(t, "CreateSubscription "+u, err, connect.CodeInvalidArgument)
		if err != nil && !strings.Contains(messageOf(err), "url") {
			t.Errorf("%s: the error does not name the url: %q", u, messageOf(err))
		}
	}
	err := a.try(webhookSvc+"CreateSubscription", &v1.CreateSubscriptionRequest{Url: "https://93.184.215.14/hook",
		EventTypes: []string{"no.such.type"}}, &v1.CreateSubscriptionResponse{})
	wantCode(t, "an unknown event type", err, connect.CodeInvalidArgument)
	if l := call[v1.ListSubscriptionsResponse](a, webhookSvc+"ListSubscriptions", &v1.ListSubscriptionsRequest{}); len(l.Subscriptions) != 0 {
		t.Fatalf("refused subscriptions were created: %+v", l.Subscriptions)
	}
	// A public address is accepted; updating it to a private one is refused.
	ok := call[v1.CreateSubscriptionResponse](a, webhookSvc+"CreateSubscription", &v1.CreateSubscriptionRequest{Url: "https://93.184.215.14/hook"})
	priv := "http://192.168.1.10/hook"
	wantCode(t, "UpdateSubscription to a private address", a.try(webhookSvc+"UpdateSubscription",
		&v1.UpdateSubscriptionRequest{SubscriptionId: ok.Subscription.Id, Url: &priv}, &v1.UpdateSubscriptionResponse{}), connect.CodeInvalidArgument)
	// Agents may not manage webhooks.
	agent := call[v1.AddMemberResponse](a, teamSvc+"AddMember", &v1.AddMemberRequest{Email: "agent@example.com", Name: "Agent", Role: "agent"})
	key := call[v1.CreateApiKeyResponse](a, teamSvc+"CreateApiKey", &v1.CreateApiKeyRequest{MemberId: agent.Member.Id})
	wantCode(t, "ListSubscriptions by an agent", a.as(key.Key).try(webhookSvc+"ListSubscriptions",
		&v1.ListSubscriptionsRequest{}, &v1.ListSubscriptionsResponse{}), connect.CodePermissionDenied)
}

// TestWebhooksDisableAfterTheRetryWindow: a receiver failing for the whole window gets its
// subscription disabled (visible in ListSubscriptions), the event dead-lettered; after the
// receiver is fixed, resuming and RedeliverFrom the dead letter's position deliver it.
func TestWebhooksDisableAfterTheRetryWindow(t *testing.T) {
	s := startWebhookServer(t, t.TempDir(), 700*time.Millisecond)
	a := api{t, newConnectClient(s.Addr), adminKey}
	var mu sync.Mutex
	up := false
	rcv := newReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if up {
			return http.StatusNoContent
		}
		return http.StatusInternalServerError
	})
	created := call[v1.CreateSubscriptionResponse](a, webhookSvc+"CreateSubscription", &v1.CreateSubscriptionRequest{
		Url: rcv.srv.URL, EventTypes: []string{"message.received.v1"}})
	rcv.mu.Lock()
	rcv.secret = created.Secret
	rcv.mu.Unlock()
	acc := a.link(v1.Platform_PLATFORM_API, "shop")
	m := a.ingest(msg{acc.Id, pid(1), "m1", v1.Direction_DIRECTION_INBOUND, "hello", at(1)})
	var sub *v1.WebhookSubscription
	waitUntil(t, "the subscription is disabled", 30*time.Second, func() bool {
		l := call[v1.ListSubscriptionsResponse](a, webhookSvc+"ListSubscriptions", &v1.ListSubscriptionsRequest{})
		sub = l.Subscriptions[0]
		return sub.State == "disabled"
	})
	if sub.DisabledReason == "" || !strings.Contains(sub.LastError, "HTTP 500") {
		t.Errorf("disabled subscription: reason %q, last error %q", sub.DisabledReason, sub.LastError)
	}
	dead := call[v1.ListDeliveriesResponse](a, webhookSvc+"ListDeliveries", &v1.ListDeliveriesRequest{
		SubscriptionId: created.Subscription.Id, Status: "dead"})
	if len(dead.Deliveries) != 1 || dead.Deliveries[0].Position == "" {
		t.Fatalf("dead letters: %+v", dead.Deliveries)
	}
	disabledEvents := 0
	for _, e := range a.events() {
		if e.Type == "webhook_subscription.disabled.v1" {
			disabledEvents++
		}
	}
	if disabledEvents != 1 {
		t.Errorf("%d webhook_subscription.disabled.v1 events, want 1", disabledEvents)
	}
	// Fixed: resume, then redeliver from the dead letter.
	mu.Lock()
	up = true
	mu.Unlock()
	resume := false
	upd := call[v1.UpdateSubscriptionResponse](a, webhookSvc+"UpdateSubscription", &v1.UpdateSubscriptionRequest{
		SubscriptionId: created.Subscription.Id, Paused: &resume})
	if upd.Subscription.State != "active" {
		t.Fatalf("resumed subscription is %s", upd.Subscription.State)
	}
	call[v1.RedeliverFromResponse](a, webhookSvc+"RedeliverFrom", &v1.RedeliverFromRequest{
		SubscriptionId: created.Subscription.Id, AfterPosition: dead.Deliveries[0].Position})
	waitUntil(t, "the dead letter is delivered", 30*time.Second, func() bool {
		got, _, _ := rcv.snapshot()
		return len(got) > 0
	})
	got, badSig, _ := rcv.snapshot()
	if got[0].typ != "message.received.v1" || len(badSig) > 0 {
		t.Errorf("redelivered %+v (bad signatures %v)", got[0], badSig)
	}
	_ = m
}

// TestWebhooksPauseResumeDelete: nothing is delivered while paused; resuming delivers what was
// appended meanwhile; after a delete nothing more is delivered.
func TestWebhooksPauseResumeDelete(t *testing.T) {
	s := startWebhookServer(t, t.TempDir(), time.Hour)
	a := api{t, newConnectClient(s.Addr), adminKey}
	rcv := newReceiver(t, func(int) int { return http.StatusOK })
	created := call[v1.CreateSubscriptionResponse](a, webhookSvc+"CreateSubscription", &v1.CreateSubscriptionRequest{
		Url: rcv.srv.URL, EventTypes: []string{"message.received.v1"}})
	rcv.mu.Lock()
	rcv.secret = created.Secret
	rcv.mu.Unlock()
	id := created.Subscription.Id
	paused := true
	if st := call[v1.UpdateSubscriptionResponse](a, webhookSvc+"UpdateSubscription", &v1.UpdateSubscriptionRequest{
		SubscriptionId: id, Paused: &paused}).Subscription.State; st != "paused" {
		t.Fatalf("paused subscription is %s", st)
	}
	acc := a.link(v1.Platform_PLATFORM_API, "shop")
	for i := 0; i < 3; i++ {
		a.ingest(msg{acc.Id, pid(i), fmt.Sprintf("m%d", i), v1.Direction_DIRECTION_INBOUND, "hello", at(i)})
	}
	time.Sleep(700 * time.Millisecond) // several polls of a running dispatcher
	if _, _, calls := rcv.snapshot(); calls != 0 {
		t.Fatalf("a paused subscription made %d calls", calls)
	}
	paused = false
	call[v1.UpdateSubscriptionResponse](a, webhookSvc+"UpdateSubscription", &v1.UpdateSubscriptionRequest{SubscriptionId: id, Paused: &paused})
	waitUntil(t, "the events appended while paused are delivered", 30*time.Second, func() bool {
		got, _, _ := rcv.snapshot()
		return len(got) == 3
	})
	call[v1.DeleteSubscriptionResponse](a, webhookSvc+"DeleteSubscription", &v1.DeleteSubscriptionRequest{SubscriptionId: id})
	a.ingest(msg{acc.Id, pid(9), "m9", v1.Direction_DIRECTION_INBOUND, "after the delete", at(9)})
	time.Sleep(700 * time.Millisecond)
	if got, _, _ := rcv.snapshot(); len(got) != 3 {
		t.Fatalf("after the delete the receiver got %d events, want the 3 of before", len(got))
	}
	wantCode(t, "ListDeliveries of a deleted subscription", a.try(webhookSvc+"ListDeliveries",
		&v1.ListDeliveriesRequest{SubscriptionId: id}, &v1.ListDeliveriesResponse{}), connect.CodeNotFound)
}

// TestWebhooksTwoProcessesOnKafkaAndPostgres: two processes of the webhooks role share the
// subscriptions (each delivered by one of them at a time); when one stops, the other takes
// its subscriptions over and nothing is lost.
func TestWebhooksTwoProcessesOnKafkaAndPostgres(t *testing.T) {
	pg := testenv.PostgresSchema(t)
	_, brokers := testenv.Kafka(t)
	cfg := func(roles ...string) server.Config {
		c := webhookConfig(server.Config{DataDir: t.TempDir(), PostgresURL: pg, Kafka: scaleKafka(brokers)}, time.Hour)
		c.Roles = roles
		tune := c.Webhooks.Tune
		c.Webhooks.Tune = func(o *webhooks.Options) { tune(o); o.LeaseTTL = 2 * time.Second }
		return c
	}
	s1 := startServerWith(t, cfg("api", "ingest", "projector", "webhooks"))
	s2 := startServerWith(t, cfg("api", "ingest", "projector", "webhooks"))
	a1 := api{t, newConnectClient(s1.Addr), adminKey}
	a2 := api{t, newConnectClient(s2.Addr), adminKey}
	var rcvs []*receiver
	for i := 0; i < 4; i++ {
		r := newReceiver(t, func(int) int { return http.StatusOK })
		c := call[v1.CreateSubscriptionResponse](a1, webhookSvc+"CreateSubscription", &v1.CreateSubscriptionRequest{
			Url: r.srv.URL, EventTypes: []string{"message.received.v1"}})
		r.mu.Lock()
		r.secret = c.Secret // the same secret whichever process signs
		r.mu.Unlock()
		rcvs = append(rcvs, r)
	}
	if l := call[v1.ListSubscriptionsResponse](a2, webhookSvc+"ListSubscriptions", &v1.ListSubscriptionsRequest{}); len(l.Subscriptions) != 4 {
		t.Fatalf("the second process lists %d subscriptions, want 4", len(l.Subscriptions))
	}
	acc := a1.link(v1.Platform_PLATFORM_API, "shop")
	const n = 10
	for i := 0; i < n; i++ {
		a1.ingest(msg{acc.Id, pid(i % 3), fmt.Sprintf("m%d", i), v1.Direction_DIRECTION_INBOUND, "hello", at(i)})
	}
	distinct := func(r *receiver) int {
		got, _, _ := r.snapshot()
		seen := map[string]bool{}
		for _, d := range got {
			seen[d.id] = true
		}
		return len(seen)
	}
	for i, r := range rcvs {
		waitUntil(t, fmt.Sprintf("receiver %d has the first events", i), 60*time.Second, func() bool { return distinct(r) == n })
	}
	// One process per subscription: a receiver that always accepts got each event once.
	for i, r := range rcvs {
		if got, _, _ := r.snapshot(); len(got) != n {
			t.Errorf("receiver %d accepted %d deliveries of %d events: two processes delivered one subscription", i, len(got), n)
		}
	}
	// The subscriptions were spread over both processes: each delivered some.
	for _, s := range []*server.Server{s1, s2} {
		if ok := okDeliveries(t, s.Addr); ok == 0 {
			t.Errorf("process %s delivered nothing: the subscriptions were not spread", s.Addr)
		}
	}
	stopServer(t, s1)
	for i := n; i < 2*n; i++ {
		a2.ingest(msg{acc.Id, pid(i % 3), fmt.Sprintf("m%d", i), v1.Direction_DIRECTION_INBOUND, "hello", at(i)})
	}
	for i, r := range rcvs {
		waitUntil(t, fmt.Sprintf("receiver %d has every event after the takeover", i), 60*time.Second, func() bool { return distinct(r) == 2*n })
		if _, bad, _ := r.snapshot(); len(bad) > 0 {
			t.Errorf("receiver %d: %d deliveries with an invalid signature", i, len(bad))
		}
	}
}

// okDeliveries reads switchboard_webhook_deliveries_total{status="ok"} from a process's /metrics.
func okDeliveries(t *testing.T, addr string) float64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, `switchboard_webhook_deliveries_total{status="ok"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
