// Package elasticsearch implements the search index port (search.Index) on Elasticsearch 8,
// through elastic/go-elasticsearch/v8's esapi requests sent by its transport (elastictransport).
// The library's root package is not imported: it pulls the typed API (~850 packages) into
// every build of the binary, which tripled the first build.
//
// Documents live in a concrete index named "<alias>-<UTC timestamp>" that the alias points to;
// every read and write goes through the alias, so a rebuild (Reindex) fills a new concrete
// index while searches keep answering from the old one, then moves the alias in one atomic
// _aliases call. Projection checkpoints live in "<alias>-checkpoints", one document per
// concrete index, so a rebuilt index starts again from the beginning of the log.
package elasticsearch

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/elastic/elastic-transport-go/v8/elastictransport"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/search"
)

// DefaultAlias is the alias searched and written when Config.Alias is empty.
const DefaultAlias = "switchboard-messages"

// The explicit mappings, kept as JSON so they read exactly as Elasticsearch receives them.
var (
	//go:embed search_index_elasticsearch_mapping.json
	messagesMapping []byte
	//go:embed search_checkpoints_elasticsearch_mapping.json
	checkpointsMapping []byte
)

// Config says how to reach Elasticsearch and how hard to retry.
type Config struct {
	// URLs of the nodes, e.g. "https://es1:9200". An element may hold several URLs separated by
	// commas. Credentials in a URL (https://user:pass@host) are taken out of it and used as
	// Username and Password unless those are set.
	URLs               []string
	Username, Password string
	// APIKey is the base64 "id:api_key" token; it wins over Username and Password.
	APIKey string
	// Alias read and written by the index; DefaultAlias when empty.
	Alias string
	// CACert holds PEM certificates to trust instead of the system pool.
	CACert []byte
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
	Logger    *slog.Logger

	// MaxRetries is how many times one request is sent again after a 429, 502, 503 or 504
	// answer or a connection error (default 3; negative: never).
	MaxRetries int
	// ItemRetries is how many more times the documents of a Put or Delete that Elasticsearch
	// refused with a transient status (429, 5xx) are sent again (default 5; negative: never).
	ItemRetries int
	// RetryInitial and RetryMax bound the exponential, jittered backoff between retries
	// (defaults 200ms and 10s).
	RetryInitial, RetryMax time.Duration
	// BulkWorkers is the number of bulk requests a Put sends in parallel (default 2), and
	// FlushBytes the size at which a bulk request is sent (default 5 MB).
	BulkWorkers int
	FlushBytes  int

	clock func() time.Time // tests: names of new indices
}

func (c Config) withDefaults() Config {
	if c.Alias == "" {
		c.Alias = DefaultAlias
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.ItemRetries == 0 {
		c.ItemRetries = 5
	}
	c.ItemRetries = max(c.ItemRetries, 0)
	if c.RetryInitial <= 0 {
		c.RetryInitial = 200 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 10 * time.Second
	}
	c.RetryMax = max(c.RetryMax, c.RetryInitial)
	if c.BulkWorkers <= 0 {
		c.BulkWorkers = 2
	}
	if c.FlushBytes <= 0 {
		c.FlushBytes = 5 << 20
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	return c
}

// newBackOff is the one backoff policy, for whole requests and for refused documents alike.
func (c Config) newBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.RetryInitial
	b.MaxInterval = c.RetryMax
	b.Multiplier = 2
	b.Reset()
	return b
}

// retryDelay is the transport's backoff before retry number attempt (1, 2, …). The transport
// calls it from concurrent requests, so each call walks a fresh backoff rather than sharing one.
func (c Config) retryDelay(attempt int) time.Duration {
	b := c.newBackOff()
	var d time.Duration
	for range max(attempt, 1) {
		d = b.NextBackOff()
	}
	return d
}

// Index is a search.Index on Elasticsearch.
type Index struct {
	es     *client
	cfg    Config
	alias  string
	log    *slog.Logger
	redact redactor
	now    func() time.Time
	// target is the concrete index of a Reindex target; "" reads and writes through the alias.
	target string
	// refresh is the bulk refresh policy: "wait_for" through the alias (see bulk), none while
	// a Reindex fills a target (it refreshes once, before the switch).
	refresh string
	owner   bool // Close closes the client
}

var _ search.Index = (*Index)(nil)

// client sends esapi requests through the transport and, as the official client does, refuses
// a server whose successful answers do not say they come from Elasticsearch.
type client struct {
	tp      *elastictransport.Client
	genuine atomic.Bool
}

var errNotElasticsearch = errors.New("the server is not Elasticsearch (no X-Elastic-Product header)")

func (c *client) Perform(req *http.Request) (*http.Response, error) {
	res, err := c.tp.Perform(req)
	if err != nil || res.StatusCode/100 != 2 || c.genuine.Load() {
		return res, err
	}
	if res.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		_ = res.Body.Close()
		return nil, errNotElasticsearch
	}
	c.genuine.Store(true)
	return res, nil
}

// Open connects to Elasticsearch and makes sure the alias exists: when it is missing, a first
// concrete index "<alias>-<UTC timestamp>" is created with the mapping and the alias. It also
// creates the checkpoint index when missing.
func Open(ctx context.Context, cfg Config) (*Index, error) {
	cfg = cfg.withDefaults()
	if err := validateIndexName(cfg.Alias); err != nil {
		return nil, err
	}
	addrs, urlUser, urlSecrets, err := splitURLs(cfg.URLs)
	if err != nil {
		return nil, err
	}
	redact := newRedactor(cfg, urlSecrets)
	if cfg.Username == "" && cfg.Password == "" && urlUser != nil {
		cfg.Username = urlUser.Username()
		cfg.Password, _ = urlUser.Password()
	}
	urls := make([]*url.URL, 0, len(addrs))
	for _, a := range addrs {
		u, _ := url.Parse(strings.TrimRight(a, "/")) // splitURLs parsed it already
		urls = append(urls, u)
	}
	//lint:ignore SA1019 New and Config "remain fully functional"; NewClient's options cover the same settings, a change for another day.
	tp, err := elastictransport.New(elastictransport.Config{
		UserAgent:     "switchboard (go-elasticsearch esapi)",
		URLs:          urls,
		Username:      cfg.Username,
		Password:      cfg.Password,
		APIKey:        cfg.APIKey,
		CACert:        cfg.CACert,
		Transport:     cfg.Transport,
		RetryOnStatus: []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
		MaxRetries:    max(cfg.MaxRetries, 0),
		DisableRetry:  cfg.MaxRetries < 0,
		RetryBackoff:  cfg.retryDelay,
	})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: new client: %s", redact.scrub(err.Error()))
	}
	es := &client{tp: tp}
	i := &Index{
		es:      es,
		cfg:     cfg,
		alias:   cfg.Alias,
		log:     cfg.Logger,
		redact:  redact,
		now:     cfg.clock,
		refresh: "wait_for",
		owner:   true,
	}
	if err := i.ensureAlias(ctx); err != nil {
		_ = i.Close()
		return nil, err
	}
	if err := i.ensureCheckpointIndex(ctx); err != nil {
		_ = i.Close()
		return nil, err
	}
	return i, nil
}

// splitURLs takes the credentials out of the URLs, so they never appear in an address the
// client may print in an error.
func splitURLs(in []string) (addrs []string, user *url.Userinfo, secrets []string, err error) {
	n := 0
	for _, field := range in {
		for raw := range strings.SplitSeq(field, ",") {
			raw = strings.TrimSpace(raw)
			if raw == "" {
				continue
			}
			n++
			u, perr := url.Parse(raw)
			if perr != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
				// Never quote the URL: it may hold a password.
				return nil, nil, nil, fmt.Errorf("elasticsearch: URL #%d is not an http(s)://host[:port] URL", n)
			}
			if u.User != nil {
				if pw, ok := u.User.Password(); ok {
					secrets = append(secrets, pw)
				}
				if user == nil {
					user = u.User
				}
				u.User = nil
			}
			addrs = append(addrs, u.String())
		}
	}
	if len(addrs) == 0 {
		return nil, nil, nil, errors.New("elasticsearch: no URL")
	}
	return addrs, user, secrets, nil
}

// validateIndexName checks the rules Elasticsearch puts on index and alias names.
func validateIndexName(name string) error {
	if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, `\/*?"<>| ,#:`) ||
		strings.HasPrefix(name, "-") || strings.HasPrefix(name, "_") || strings.HasPrefix(name, "+") ||
		strings.HasPrefix(name, ".") || len(name) > 200 {
		return fmt.Errorf("elasticsearch: alias %q is not a valid index name (lowercase, no \\/*?\"<>| ,#:, at most 200 bytes)", name)
	}
	return nil
}

// docID is the Elasticsearch _id of a message. The team is part of it, so no write or delete
// made for one team can ever touch another team's document, whatever ids it is given.
func docID(teamID, messageID string) string { return teamID + ":" + messageID }

func (i *Index) checkpointIndex() string { return i.alias + "-checkpoints" }

// readTarget is what Search and Get address: the alias, or a Reindex target's own index.
func (i *Index) readTarget() string {
	if i.target != "" {
		return i.target
	}
	return i.alias
}

func (i *Index) newIndexName() string {
	return i.alias + "-" + i.now().UTC().Format("20060102t150405.000") + "z"
}

// call sends req and reads the answer. Any 2xx answer, or one whose status is in allow, comes
// back as status and body; any other status is an error.
func (i *Index) call(ctx context.Context, op string, req esapi.Request, allow ...int) (int, []byte, error) {
	res, err := req.Do(ctx, i.es)
	if err != nil {
		return 0, nil, i.transportError(ctx, op, err)
	}
	var body []byte
	if res.Body != nil {
		body, err = io.ReadAll(res.Body)
		_ = res.Body.Close()
		if err != nil {
			return 0, nil, i.transportError(ctx, op, err)
		}
	}
	if res.StatusCode/100 == 2 || slices.Contains(allow, res.StatusCode) {
		return res.StatusCode, body, nil
	}
	return res.StatusCode, body, i.responseError(op, res.StatusCode, body)
}

// aliasIndices returns the concrete indices the alias points to, sorted (oldest first, as
// their names end in a timestamp); none when the alias does not exist.
func (i *Index) aliasIndices(ctx context.Context) ([]string, error) {
	status, body, err := i.call(ctx, "get alias", esapi.IndicesGetAliasRequest{Name: []string{i.alias}}, http.StatusNotFound)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return nil, nil
	}
	// {"<index>": {"aliases": {"<alias>": {}}}, …}
	var m map[string]struct {
		Aliases map[string]json.RawMessage `json:"aliases"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("elasticsearch get alias: decode answer: %w", err)
	}
	var names []string
	for name, a := range m {
		if _, ok := a.Aliases[i.alias]; ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// current is the concrete index that writes through the alias land in.
func (i *Index) current(ctx context.Context) (string, error) {
	if i.target != "" {
		return i.target, nil
	}
	names, err := i.aliasIndices(ctx)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", fmt.Errorf("elasticsearch: alias %q points to no index", i.alias)
	}
	return names[0], nil
}

func createIndexBody(alias string) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(messagesMapping, &m); err != nil {
		panic("elasticsearch: embedded mapping: " + err.Error())
	}
	if alias != "" {
		aliases, _ := json.Marshal(map[string]struct{}{alias: {}})
		m["aliases"] = aliases
	}
	b, _ := json.Marshal(m)
	return b
}

func alreadyExists(err error) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.Type == "resource_already_exists_exception"
}

func (i *Index) ensureAlias(ctx context.Context) error {
	names, err := i.aliasIndices(ctx)
	if err != nil || len(names) > 0 {
		return err
	}
	name := i.newIndexName()
	// The alias is created with the index, in one step: there is no moment when the index
	// exists unaliased or the alias points nowhere.
	_, _, err = i.call(ctx, "create index", esapi.IndicesCreateRequest{Index: name, Body: bytes.NewReader(createIndexBody(i.alias))})
	if err != nil && !alreadyExists(err) {
		return err
	}
	// Processes starting together may each have created an index behind the alias. They all
	// keep the oldest and the others drop their own (still empty) one.
	names, err = i.aliasIndices(ctx)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("elasticsearch: alias %q still missing after creating %s", i.alias, name)
	}
	if names[0] != name && slices.Contains(names, name) {
		i.log.Info("elasticsearch: another process created the index first; dropping ours", "index", name, "kept", names[0])
		if _, _, err := i.call(ctx, "delete index", esapi.IndicesDeleteRequest{Index: []string{name}}, http.StatusNotFound); err != nil {
			return err
		}
	}
	i.log.Info("elasticsearch: alias ready", "alias", i.alias, "index", names[0])
	return nil
}

func (i *Index) ensureCheckpointIndex(ctx context.Context) error {
	ci := i.checkpointIndex()
	status, _, err := i.call(ctx, "check checkpoint index", esapi.IndicesExistsRequest{Index: []string{ci}}, http.StatusNotFound)
	if err != nil || status != http.StatusNotFound {
		return err
	}
	_, _, err = i.call(ctx, "create checkpoint index", esapi.IndicesCreateRequest{Index: ci, Body: bytes.NewReader(checkpointsMapping)})
	if err != nil && !alreadyExists(err) {
		return err
	}
	return nil
}

// source is a document as Elasticsearch stores it; the field names are the mapping's.
type source struct {
	TeamID           string   `json:"team_id"`
	MessageID        string   `json:"message_id"`
	ThreadID         string   `json:"thread_id"`
	ProspectID       string   `json:"prospect_id"`
	AccountLinkID    string   `json:"account_link_id"`
	Platform         string   `json:"platform"`
	Direction        string   `json:"direction"`
	Text             string   `json:"text"`
	AttachmentNames  []string `json:"attachment_names,omitempty"`
	AttachmentTypes  []string `json:"attachment_types,omitempty"`
	ProspectName     string   `json:"prospect_name"`
	ProspectUsername string   `json:"prospect_username"`
	// SentAt keeps full precision in _source; the date field indexes it to the millisecond.
	SentAt string `json:"sent_at"`
}

func toSource(d search.Doc) source {
	return source{
		TeamID:           d.TeamID,
		MessageID:        d.MessageID,
		ThreadID:         d.ThreadID,
		ProspectID:       d.ProspectID,
		AccountLinkID:    d.AccountLinkID,
		Platform:         d.Platform,
		Direction:        d.Direction,
		Text:             d.Text,
		AttachmentNames:  d.AttachmentNames,
		AttachmentTypes:  d.AttachmentTypes,
		ProspectName:     d.ProspectName,
		ProspectUsername: d.ProspectUsername,
		SentAt:           d.SentAt.UTC().Format(time.RFC3339Nano),
	}
}

func (s source) doc() (search.Doc, error) {
	t, err := time.Parse(time.RFC3339Nano, s.SentAt)
	if err != nil {
		return search.Doc{}, fmt.Errorf("elasticsearch: document %s has sent_at %q: %w", s.MessageID, s.SentAt, err)
	}
	return search.Doc{
		TeamID:           s.TeamID,
		MessageID:        s.MessageID,
		ThreadID:         s.ThreadID,
		ProspectID:       s.ProspectID,
		AccountLinkID:    s.AccountLinkID,
		Platform:         s.Platform,
		Direction:        s.Direction,
		Text:             s.Text,
		AttachmentNames:  s.AttachmentNames,
		AttachmentTypes:  s.AttachmentTypes,
		ProspectName:     s.ProspectName,
		ProspectUsername: s.ProspectUsername,
		SentAt:           t,
	}, nil
}

// Put indexes (or replaces) documents. It returns once every document is written and visible
// to searches, or with an error counting and naming the documents that were not.
func (i *Index) Put(ctx context.Context, docs []search.Doc) error {
	ops := make([]bulkOp, 0, len(docs))
	for _, d := range docs {
		if d.TeamID == "" || d.MessageID == "" {
			return errors.New("elasticsearch put: a document needs a team id and a message id")
		}
		body, err := json.Marshal(toSource(d))
		if err != nil {
			return fmt.Errorf("elasticsearch put %s: %w", d.MessageID, err)
		}
		ops = append(ops, bulkOp{action: "index", id: docID(d.TeamID, d.MessageID), messageID: d.MessageID, body: body})
	}
	return i.bulk(ctx, "index", ops)
}

// Delete removes documents; deleting one that is not there is not an error.
func (i *Index) Delete(ctx context.Context, teamID string, messageIDs []string) error {
	if teamID == "" {
		return errors.New("elasticsearch delete: a team id is required")
	}
	ops := make([]bulkOp, 0, len(messageIDs))
	for _, id := range messageIDs {
		ops = append(ops, bulkOp{action: "delete", id: docID(teamID, id), messageID: id})
	}
	return i.bulk(ctx, "delete", ops)
}

// Get returns a team's document; found is false when there is none.
func (i *Index) Get(ctx context.Context, teamID, messageID string) (search.Doc, bool, error) {
	const op = "get document"
	if teamID == "" || messageID == "" {
		return search.Doc{}, false, nil
	}
	status, body, err := i.call(ctx, op, esapi.GetRequest{Index: i.readTarget(), DocumentID: url.PathEscape(docID(teamID, messageID))}, http.StatusNotFound)
	if err != nil {
		return search.Doc{}, false, err
	}
	var res struct {
		Found  *bool  `json:"found"`
		Source source `json:"_source"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return search.Doc{}, false, fmt.Errorf("elasticsearch %s: decode answer: %w", op, err)
	}
	if status == http.StatusNotFound {
		// {"found": false} is a missing document; anything else (index_not_found_exception:
		// the alias is gone) is a fault.
		if res.Found != nil && !*res.Found {
			return search.Doc{}, false, nil
		}
		return search.Doc{}, false, i.responseError(op, status, body)
	}
	if res.Found == nil || !*res.Found || res.Source.TeamID != teamID {
		return search.Doc{}, false, nil
	}
	d, err := res.Source.doc()
	if err != nil {
		return search.Doc{}, false, err
	}
	return d, true, nil
}

// Search runs a query; see search_query_elasticsearch.go for the query DSL.
func (i *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	const op = "search"
	body, err := searchBody(q)
	if err != nil {
		return search.Result{}, err
	}
	partial := false
	_, res, err := i.call(ctx, op, esapi.SearchRequest{
		Index: []string{i.readTarget()},
		Body:  bytes.NewReader(body),
		// A shard that fails must fail the search: a partial page would skip hits.
		AllowPartialSearchResults: &partial,
	})
	if err != nil {
		return search.Result{}, err
	}
	return parseSearchResponse(res)
}

type checkpointDoc struct {
	Cursor    string `json:"cursor"`
	UpdatedAt string `json:"updated_at"`
}

// Checkpoint returns the position stored for the concrete index behind the alias (or for a
// Reindex target's own index); the start of the log when none is stored.
func (i *Index) Checkpoint(ctx context.Context) (eventlog.Cursor, error) {
	const op = "get checkpoint"
	id, err := i.current(ctx)
	if err != nil {
		return nil, err
	}
	status, body, err := i.call(ctx, op, esapi.GetRequest{Index: i.checkpointIndex(), DocumentID: url.PathEscape(id)}, http.StatusNotFound)
	if err != nil {
		return nil, err
	}
	var res struct {
		Found  *bool         `json:"found"`
		Source checkpointDoc `json:"_source"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("elasticsearch %s: decode answer: %w", op, err)
	}
	if status == http.StatusNotFound {
		if res.Found != nil && !*res.Found {
			return eventlog.Cursor{}, nil
		}
		return nil, i.responseError(op, status, body)
	}
	c, err := eventlog.ParseCursor(res.Source.Cursor)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch %s: %w", op, err)
	}
	return c, nil
}

// SetCheckpoint stores the position for the concrete index behind the alias. It needs no
// refresh: Checkpoint reads it back with a realtime GET.
func (i *Index) SetCheckpoint(ctx context.Context, c eventlog.Cursor) error {
	id, err := i.current(ctx)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(checkpointDoc{Cursor: c.String(), UpdatedAt: i.now().UTC().Format(time.RFC3339Nano)})
	_, _, err = i.call(ctx, "set checkpoint", esapi.IndexRequest{Index: i.checkpointIndex(), DocumentID: url.PathEscape(id), Body: bytes.NewReader(body)})
	return err
}

// Ping reports whether Elasticsearch answers.
func (i *Index) Ping(ctx context.Context) error {
	_, _, err := i.call(ctx, "ping", esapi.PingRequest{})
	return err
}

// Close releases the client's connections. The index handed to a Reindex fill shares its
// parent's client and closes nothing.
func (i *Index) Close() error {
	if !i.owner {
		return nil
	}
	if err := i.es.tp.Close(context.Background()); err != nil && !errors.Is(err, elastictransport.ErrAlreadyClosed) {
		return fmt.Errorf("elasticsearch close: %w", err)
	}
	return nil
}

// Reindex rebuilds the index without a pause in search: it creates a new concrete index with
// the mapping, lets fill write into it (through an Index addressing only that index, with its
// own checkpoint starting at the beginning of the log), refreshes it, moves the alias from the
// old index to the new one in one atomic _aliases call, and deletes the old index. Searches go
// to the old index until the switch and to the new one after it. When fill or the switch fails,
// the new index is deleted and the alias is left as it was.
//
// Writes made through the alias by another process while fill runs land in the old index
// only: that process's projector must catch the new index up from its checkpoint after the
// switch (Checkpoint resolves the alias on every call, so it then reads the new index's).
func (i *Index) Reindex(ctx context.Context, fill func(ctx context.Context, target search.Index) error) error {
	if i.target != "" {
		return errors.New("elasticsearch reindex: a reindex target cannot itself be reindexed")
	}
	old, err := i.aliasIndices(ctx)
	if err != nil {
		return err
	}
	if len(old) == 0 {
		return fmt.Errorf("elasticsearch reindex: alias %q points to no index", i.alias)
	}
	name := i.newIndexName()
	if slices.Contains(old, name) {
		return fmt.Errorf("elasticsearch reindex: index %s already exists", name)
	}
	if _, _, err := i.call(ctx, "create index", esapi.IndicesCreateRequest{Index: name, Body: bytes.NewReader(createIndexBody(""))}); err != nil {
		return err
	}
	i.log.Info("elasticsearch: reindexing", "alias", i.alias, "from", old, "into", name)
	drop := func(cause error) error {
		// Cleanup must run even when ctx is what failed.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, _, err := i.call(cctx, "delete index", esapi.IndicesDeleteRequest{Index: []string{name}}, http.StatusNotFound); err != nil {
			i.log.Warn("elasticsearch: could not delete the unfinished index", "index", name, "error", err.Error())
		}
		_, _, _ = i.call(cctx, "delete checkpoint", esapi.DeleteRequest{Index: i.checkpointIndex(), DocumentID: url.PathEscape(name)}, http.StatusNotFound)
		return cause
	}
	target := &Index{es: i.es, cfg: i.cfg, alias: i.alias, log: i.log, redact: i.redact, now: i.now, target: name}
	if err := fill(ctx, target); err != nil {
		return drop(fmt.Errorf("elasticsearch reindex into %s: %w", name, err))
	}
	if _, _, err := i.call(ctx, "refresh", esapi.IndicesRefreshRequest{Index: []string{name}}); err != nil {
		return drop(err)
	}
	if err := i.switchAlias(ctx, old, name); err != nil {
		return drop(err)
	}
	i.log.Info("elasticsearch: alias switched", "alias", i.alias, "index", name)
	var errs []error
	for _, o := range old {
		if _, _, err := i.call(ctx, "delete index", esapi.IndicesDeleteRequest{Index: []string{o}}, http.StatusNotFound); err != nil {
			errs = append(errs, fmt.Errorf("elasticsearch reindex: switched to %s but could not delete %s: %w", name, o, err))
			continue
		}
		if _, _, err := i.call(ctx, "delete checkpoint", esapi.DeleteRequest{Index: i.checkpointIndex(), DocumentID: url.PathEscape(o)}, http.StatusNotFound); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// switchAlias moves the alias from old to name in one request, which Elasticsearch applies
// atomically: no search ever sees the alias on both indices or on none. must_exist makes the
// whole request fail if another reindex moved the alias meanwhile.
func (i *Index) switchAlias(ctx context.Context, old []string, name string) error {
	type aliasAction struct {
		Index     string `json:"index"`
		Alias     string `json:"alias"`
		MustExist *bool  `json:"must_exist,omitempty"`
	}
	mustExist := true
	var actions []map[string]aliasAction
	for _, o := range old {
		actions = append(actions, map[string]aliasAction{"remove": {Index: o, Alias: i.alias, MustExist: &mustExist}})
	}
	actions = append(actions, map[string]aliasAction{"add": {Index: name, Alias: i.alias}})
	body, _ := json.Marshal(map[string]any{"actions": actions})
	_, _, err := i.call(ctx, "switch alias", esapi.IndicesUpdateAliasesRequest{Body: bytes.NewReader(body)})
	return err
}
