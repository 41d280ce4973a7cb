package elasticsearch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeES answers like an Elasticsearch 8 node: the same paths, status codes, headers and
// bodies (success and error shapes), with just enough state (indices, aliases, documents) for
// the adapter's flows. It records every request so tests assert exactly what was sent. Hooks
// replace the answer to chosen requests (bulk item failures, 429s, canned search results).
type fakeES struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	reqs    []recorded
	indices map[string]json.RawMessage           // name → create body
	aliases map[string][]string                  // alias → indices
	docs    map[string]map[string]map[string]any // index → _id → _source

	// hook, when it returns handled, answers the request instead of the emulation; n counts
	// the requests with the same method and path pattern (1 for the first).
	hook func(r recorded, n int) (status int, body string, handled bool)
	seen map[string]int
}

type recorded struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

func (r recorded) String() string {
	if q := r.Query.Encode(); q != "" {
		return r.Method + " " + r.Path + "?" + q
	}
	return r.Method + " " + r.Path
}

func newFakeES(t *testing.T) *fakeES {
	t.Helper()
	f := &fakeES{
		t:       t,
		indices: map[string]json.RawMessage{},
		aliases: map[string][]string{},
		docs:    map[string]map[string]map[string]any{},
		seen:    map[string]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// config is a Config that reaches the fake fast: tiny backoffs, one bulk worker so the
// NDJSON bodies are predictable.
func (f *fakeES) config() Config {
	return Config{
		URLs:         []string{f.srv.URL},
		Transport:    f.srv.Client().Transport,
		RetryInitial: 1e6, // 1ms
		RetryMax:     5e6,
		BulkWorkers:  1,
		clock:        fixedClock("2026-01-02T03:04:05.123Z"),
	}
}

func (f *fakeES) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// lines is "METHOD /path?query" of every request, in order.
func (f *fakeES) lines() []string {
	var out []string
	for _, r := range f.requests() {
		out = append(out, r.String())
	}
	return out
}

func (f *fakeES) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = nil
	f.seen = map[string]int{}
}

// addIndex creates an index behind an alias, as a previous run would have left it.
func (f *fakeES) addIndex(name, alias string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.indices[name] = json.RawMessage(`{}`)
	f.docs[name] = map[string]map[string]any{}
	if alias != "" {
		f.aliases[alias] = append(f.aliases[alias], name)
	}
}

func (f *fakeES) aliasTargets(alias string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.aliases[alias])
}

func (f *fakeES) hasIndex(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.indices[name]
	return ok
}

func (f *fakeES) doc(index, id string) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.docs[index][id]
	return d, ok
}

func (f *fakeES) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r := recorded{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(), Header: req.Header.Clone(), Body: body}

	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	key := r.Method + " " + pattern(r.Path)
	f.seen[key]++
	n := f.seen[key]
	hook := f.hook
	f.mu.Unlock()

	status, out := 0, ""
	handled := false
	if hook != nil {
		status, out, handled = hook(r, n)
	}
	if !handled {
		f.mu.Lock()
		status, out = f.emulate(r)
		f.mu.Unlock()
	}
	// Every Elasticsearch 8 answer carries this header; the Go client refuses a 2xx without it.
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if r.Method != http.MethodHead {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, out)
	}
}

// pattern replaces the variable parts of a path: "/{index}/_doc/{id}".
func pattern(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for n, p := range parts {
		if !strings.HasPrefix(p, "_") && p != "" {
			parts[n] = "{}"
		}
	}
	return "/" + strings.Join(parts, "/")
}

// resolve maps an index or alias name to its concrete indices.
func (f *fakeES) resolve(name string) []string {
	if idx, ok := f.aliases[name]; ok {
		return idx
	}
	if _, ok := f.indices[name]; ok {
		return []string{name}
	}
	return nil
}

func (f *fakeES) emulate(r recorded) (int, string) {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	switch {
	case r.Path == "/":
		return 200, infoBody
	case len(parts) == 2 && parts[0] == "_alias" && r.Method == http.MethodGet:
		alias := parts[1]
		idx := f.aliases[alias]
		if len(idx) == 0 {
			return 404, fmt.Sprintf(`{"error":"alias [%s] missing","status":404}`, alias)
		}
		out := map[string]any{}
		for _, i := range idx {
			out[i] = map[string]any{"aliases": map[string]any{alias: map[string]any{}}}
		}
		return 200, mustJSON(out)
	case len(parts) == 1 && parts[0] == "_aliases" && r.Method == http.MethodPost:
		return f.updateAliases(r.Body)
	case len(parts) == 1:
		return f.indexLevel(r, parts[0])
	case len(parts) == 2 && parts[1] == "_refresh":
		if f.resolve(parts[0]) == nil {
			return 404, indexNotFound(parts[0])
		}
		return 200, `{"_shards":{"total":2,"successful":1,"failed":0}}`
	case len(parts) == 2 && parts[1] == "_bulk":
		return f.bulk(parts[0], r)
	case len(parts) == 2 && parts[1] == "_search":
		if f.resolve(parts[0]) == nil {
			return 404, indexNotFound(parts[0])
		}
		return 200, searchBodyOf(0, nil)
	case len(parts) == 3 && parts[1] == "_doc":
		id, _ := url.PathUnescape(parts[2])
		return f.docLevel(r, parts[0], id)
	}
	return 400, fmt.Sprintf(`{"error":"no handler found for uri [%s] and method [%s]"}`, r.Path, r.Method)
}

func (f *fakeES) indexLevel(r recorded, name string) (int, string) {
	switch r.Method {
	case http.MethodHead:
		if f.resolve(name) == nil {
			return 404, ""
		}
		return 200, ""
	case http.MethodPut:
		if _, ok := f.indices[name]; ok {
			return 400, errorBody("resource_already_exists_exception",
				fmt.Sprintf("index [%s/kS3pT0hJQv6xHcP3mCqDgw] already exists", name), 400)
		}
		var b struct {
			Aliases map[string]json.RawMessage `json:"aliases"`
		}
		_ = json.Unmarshal(r.Body, &b)
		f.indices[name] = r.Body
		f.docs[name] = map[string]map[string]any{}
		for a := range b.Aliases {
			f.aliases[a] = append(f.aliases[a], name)
		}
		return 200, fmt.Sprintf(`{"acknowledged":true,"shards_acknowledged":true,"index":%q}`, name)
	case http.MethodDelete:
		if _, ok := f.indices[name]; !ok {
			return 404, indexNotFound(name)
		}
		delete(f.indices, name)
		delete(f.docs, name)
		for a, idx := range f.aliases {
			f.aliases[a] = slices.DeleteFunc(idx, func(s string) bool { return s == name })
			if len(f.aliases[a]) == 0 {
				delete(f.aliases, a)
			}
		}
		return 200, `{"acknowledged":true}`
	}
	return 405, fmt.Sprintf(`{"error":"Incorrect HTTP method for uri [/%s] and method [%s], allowed: [HEAD, DELETE, PUT, GET]","status":405}`, name, r.Method)
}

func (f *fakeES) updateAliases(body []byte) (int, string) {
	var req struct {
		Actions []map[string]struct {
			Index     string `json:"index"`
			Alias     string `json:"alias"`
			MustExist *bool  `json:"must_exist"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return 400, errorBody("x_content_parse_exception", err.Error(), 400)
	}
	next := map[string][]string{}
	for a, idx := range f.aliases {
		next[a] = slices.Clone(idx)
	}
	for _, action := range req.Actions {
		for kind, a := range action {
			switch kind {
			case "add":
				if _, ok := f.indices[a.Index]; !ok {
					return 404, indexNotFound(a.Index)
				}
				if !slices.Contains(next[a.Alias], a.Index) {
					next[a.Alias] = append(next[a.Alias], a.Index)
				}
			case "remove":
				if !slices.Contains(next[a.Alias], a.Index) {
					return 404, errorBody("aliases_not_found_exception", fmt.Sprintf("aliases [%s] missing", a.Alias), 404)
				}
				next[a.Alias] = slices.DeleteFunc(next[a.Alias], func(s string) bool { return s == a.Index })
			default:
				return 400, errorBody("x_content_parse_exception", "unknown alias action ["+kind+"]", 400)
			}
		}
	}
	// All or nothing, like the real cluster-state update.
	f.aliases = next
	for a, idx := range f.aliases {
		if len(idx) == 0 {
			delete(f.aliases, a)
		}
	}
	return 200, `{"acknowledged":true,"errors":false}`
}

func (f *fakeES) docLevel(r recorded, target, id string) (int, string) {
	idx := f.resolve(target)
	if len(idx) != 1 {
		return 404, indexNotFound(target)
	}
	index := idx[0]
	switch r.Method {
	case http.MethodGet:
		src, ok := f.docs[index][id]
		if !ok {
			return 404, fmt.Sprintf(`{"_index":%q,"_id":%q,"found":false}`, index, id)
		}
		return 200, fmt.Sprintf(`{"_index":%q,"_id":%q,"_version":1,"_seq_no":0,"_primary_term":1,"found":true,"_source":%s}`, index, id, mustJSON(src))
	case http.MethodPut, http.MethodPost:
		var src map[string]any
		if err := json.Unmarshal(r.Body, &src); err != nil {
			return 400, errorBody("document_parsing_exception", "[1:1] failed to parse", 400)
		}
		_, existed := f.docs[index][id]
		f.docs[index][id] = src
		result, status := "created", 201
		if existed {
			result, status = "updated", 200
		}
		return status, fmt.Sprintf(`{"_index":%q,"_id":%q,"_version":1,"result":%q,"_shards":{"total":2,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1}`, index, id, result)
	case http.MethodDelete:
		if _, ok := f.docs[index][id]; !ok {
			return 404, fmt.Sprintf(`{"_index":%q,"_id":%q,"_version":1,"result":"not_found","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":3,"_primary_term":1}`, index, id)
		}
		delete(f.docs[index], id)
		return 200, fmt.Sprintf(`{"_index":%q,"_id":%q,"_version":2,"result":"deleted","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":4,"_primary_term":1}`, index, id)
	}
	return 405, `{"error":"method not allowed","status":405}`
}

// bulkAction is one action of a bulk body.
type bulkAction struct {
	Op     string         // index, create, delete, update
	Meta   map[string]any // the action line's object
	Source map[string]any // nil for delete
}

func (a bulkAction) id() string { s, _ := a.Meta["_id"].(string); return s }

func parseBulk(t *testing.T, body []byte) []bulkAction {
	t.Helper()
	if len(body) == 0 || body[len(body)-1] != '\n' {
		t.Fatalf("bulk body must end with a newline: %q", body)
	}
	var out []bulkAction
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var line map[string]map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || len(line) != 1 {
			t.Fatalf("bad bulk action line %q: %v", sc.Text(), err)
		}
		for op, meta := range line {
			a := bulkAction{Op: op, Meta: meta}
			if op != "delete" {
				if !sc.Scan() {
					t.Fatalf("bulk %s without a source line", op)
				}
				if err := json.Unmarshal(sc.Bytes(), &a.Source); err != nil {
					t.Fatalf("bad bulk source line %q: %v", sc.Text(), err)
				}
			}
			out = append(out, a)
		}
	}
	return out
}

// bulkItem answers one bulk action the way Elasticsearch 8 does.
func bulkItem(index string, a bulkAction, status int, result string) map[string]any {
	item := map[string]any{
		"_index": index, "_id": a.id(), "_version": 1, "result": result,
		"_shards": map[string]any{"total": 2, "successful": 1, "failed": 0},
		"_seq_no": 0, "_primary_term": 1, "status": status,
	}
	return map[string]any{a.Op: item}
}

func bulkItemError(index string, a bulkAction, status int, typ, reason string) map[string]any {
	return map[string]any{a.Op: map[string]any{
		"_index": index, "_id": a.id(), "status": status,
		"error": map[string]any{"type": typ, "reason": reason},
	}}
}

func bulkResponse(items []map[string]any) string {
	hasErrors := false
	for _, it := range items {
		for _, v := range it {
			if _, ok := v.(map[string]any)["error"]; ok {
				hasErrors = true
			}
		}
	}
	return mustJSON(map[string]any{"errors": hasErrors, "took": 7, "items": items})
}

func (f *fakeES) bulk(target string, r recorded) (int, string) {
	actions := parseBulk(f.t, r.Body)
	idx := f.resolve(target)
	_, isAlias := f.aliases[target]
	if r.Query.Get("require_alias") == "true" && !isAlias {
		var items []map[string]any
		for _, a := range actions {
			items = append(items, bulkItemError(target, a, 404, "index_not_found_exception",
				fmt.Sprintf("no such index [%s] and [require_alias] request flag is [true] and [%s] is not an alias", target, target)))
		}
		return 200, bulkResponse(items)
	}
	if len(idx) != 1 {
		return 404, indexNotFound(target)
	}
	index := idx[0]
	var items []map[string]any
	for _, a := range actions {
		switch a.Op {
		case "index":
			_, existed := f.docs[index][a.id()]
			f.docs[index][a.id()] = a.Source
			if existed {
				items = append(items, bulkItem(index, a, 200, "updated"))
			} else {
				items = append(items, bulkItem(index, a, 201, "created"))
			}
		case "delete":
			if _, ok := f.docs[index][a.id()]; !ok {
				items = append(items, bulkItem(index, a, 404, "not_found"))
				continue
			}
			delete(f.docs[index], a.id())
			items = append(items, bulkItem(index, a, 200, "deleted"))
		default:
			items = append(items, bulkItemError(index, a, 400, "illegal_argument_exception", "unsupported action ["+a.Op+"]"))
		}
	}
	return 200, bulkResponse(items)
}

const infoBody = `{
  "name" : "es01",
  "cluster_name" : "docker-cluster",
  "cluster_uuid" : "Jq2nXcH9Q7mS1t0xw4o3Fg",
  "version" : {
    "number" : "8.19.7",
    "build_flavor" : "default",
    "build_type" : "docker",
    "build_hash" : "0000000000000000000000000000000000000000",
    "build_date" : "2025-11-01T00:00:00.000Z",
    "build_snapshot" : false,
    "lucene_version" : "9.12.2",
    "minimum_wire_compatibility_version" : "7.17.0",
    "minimum_index_compatibility_version" : "7.0.0"
  },
  "tagline" : "You Know, for Search"
}`

// errorBody is Elasticsearch's error answer with one root cause.
func errorBody(typ, reason string, status int) string {
	cause := map[string]any{"type": typ, "reason": reason}
	e := map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason}
	return mustJSON(map[string]any{"error": e, "status": status})
}

func indexNotFound(name string) string {
	cause := map[string]any{
		"type": "index_not_found_exception", "reason": "no such index [" + name + "]",
		"resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_", "index": name,
	}
	e := map[string]any{"root_cause": []any{cause}}
	for k, v := range cause {
		e[k] = v
	}
	return mustJSON(map[string]any{"error": e, "status": 404})
}

const rejectedReason = "rejected execution of coordinating operation [coordinating_and_primary_bytes=104759862, replica_bytes=0, all_bytes=104759862, coordinating_operation_bytes=20862272, max_coordinating_and_primary_bytes=107374182]"

// searchBodyOf is a _search answer with the given total and hits.
func searchBodyOf(total int64, hits []any) string {
	if hits == nil {
		hits = []any{}
	}
	return mustJSON(map[string]any{
		"took":      4,
		"timed_out": false,
		"_shards":   map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
		"hits": map[string]any{
			"total":     map[string]any{"value": total, "relation": "eq"},
			"max_score": nil,
			"hits":      hits,
		},
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// assertJSON compares two JSON documents semantically (object key order does not matter).
func assertJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: sent invalid JSON %q: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: test expectation is invalid JSON: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		wi, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s:\n got: %s\nwant: %s", what, gi, wi)
	}
}

// assertBulk compares a bulk body with the expected NDJSON, line by line, semantically.
func assertBulk(t *testing.T, got []byte, want ...string) {
	t.Helper()
	if len(got) == 0 || got[len(got)-1] != '\n' {
		t.Fatalf("bulk body must be NDJSON ending with a newline: %q", got)
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("bulk body has %d lines, want %d:\n%s", len(lines), len(want), got)
	}
	for n := range lines {
		assertJSON(t, fmt.Sprintf("bulk line %d", n+1), []byte(lines[n]), want[n])
	}
}

func assertLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("requests:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}
