package traffic

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func mustNew(t testing.TB, c Config) *Generator {
	t.Helper()
	g, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// fill runs the generator through its fill stream: exactly Messages message ops, and the
// edits among them.
func fill(g *Generator) (msgs []*Message, edits []*Edit) {
	for len(msgs) < g.Config().Messages {
		op := g.Next()
		if op.Message != nil {
			msgs = append(msgs, op.Message)
		} else {
			edits = append(edits, op.Edit)
		}
	}
	return msgs, edits
}

func fillConfig() Config {
	return Config{Seed: 7, Teams: 5, LinksPerTeam: 3, Threads: 1000, Messages: 20000}
}

func TestSameSeedSameStream(t *testing.T) {
	c := Config{Seed: 42, Teams: 3, LinksPerTeam: 3, Threads: 500, Messages: 8000}
	a, b, other := mustNew(t, c), mustNew(t, c), mustNew(t, Config{Seed: 43, Teams: 3, LinksPerTeam: 3, Threads: 500, Messages: 8000})
	same := true
	for i := range 10000 {
		x, y, z := a.Next(), b.Next(), other.Next()
		if (x.Message == nil) == (x.Edit == nil) {
			t.Fatalf("op %d: exactly one of Message and Edit must be set: %+v", i, x)
		}
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("op %d differs with the same seed:\n%+v\n%+v", i, x, y)
		}
		same = same && reflect.DeepEqual(x, z)
	}
	if same {
		t.Fatal("a different seed gave the same 10,000 ops")
	}
	if !reflect.DeepEqual(a.Links(), b.Links()) {
		t.Fatal("links differ with the same seed")
	}
}

func TestLinks(t *testing.T) {
	g := mustNew(t, Config{Teams: 4, LinksPerTeam: 3, Threads: 10, Messages: 10})
	links := g.Links()
	if len(links) != 12 {
		t.Fatalf("got %d links, want 12", len(links))
	}
	ids := map[string]bool{}
	for i, l := range links {
		if l.Team != i/3 || l.Index != i%3 || l.Messenger != (l.Index == 0) {
			t.Errorf("link %d: %+v is not team-major with Messenger first", i, l)
		}
		if l.Messenger && !allDigits(l.PlatformID) {
			t.Errorf("Messenger page id %q is not numeric", l.PlatformID)
		}
		if l.PlatformID == "" || l.Username == "" || l.DisplayName == "" || ids[l.PlatformID] {
			t.Errorf("link %d: %+v: empty or repeated fields", i, l)
		}
		ids[l.PlatformID] = true
	}
}

func allDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// TestFillStream checks what the harness counts on when it loads the fill stream and then
// verifies what the server made of it.
func TestFillStream(t *testing.T) {
	c := fillConfig()
	g := mustNew(t, c)
	links := g.Links()
	msgs, edits := fill(g)

	// Threads: all opened by the end of the fill, each with a recorded first message, a
	// stable link and prospect, and a prospect of its own.
	first := map[int]*Message{}
	perThread := map[int]int{}
	prospects := map[string]int{}
	inbound, firstInbound := 0, 0
	for _, m := range msgs {
		if m.Thread < 0 || m.Thread >= c.Threads {
			t.Fatalf("thread %d out of range", m.Thread)
		}
		f, seen := first[m.Thread]
		if !seen {
			first[m.Thread] = m
			if !m.Outbound {
				firstInbound++
			}
			if th, dup := prospects[m.ProspectID]; dup {
				t.Fatalf("prospect %q is in threads %d and %d", m.ProspectID, th, m.Thread)
			}
			prospects[m.ProspectID] = m.Thread
		} else if f.Link != m.Link || f.ProspectID != m.ProspectID || f.Username != m.Username {
			t.Fatalf("thread %d changed link or prospect: %+v then %+v", m.Thread, f, m)
		}
		if links[m.Link].Messenger != allDigits(m.ProspectID) || links[m.Link].Messenger != (m.Username == "") {
			t.Fatalf("message %d: prospect %q/%q does not fit its link %+v", m.Seq, m.ProspectID, m.Username, links[m.Link])
		}
		perThread[m.Thread]++
		if !m.Outbound {
			inbound++
		}
	}
	if d := len(first) - c.Threads; d < -c.Threads/50 || d > c.Threads/50 {
		t.Errorf("%d threads at the end of the fill, want %d ± 2%%", len(first), c.Threads)
	}
	for th := range c.Threads {
		if first[th] == nil {
			t.Errorf("thread %d has no first message", th)
		}
	}
	if share := float64(firstInbound) / float64(len(first)); share < 0.9 {
		t.Errorf("%.1f%% of threads start inbound, want ~95%%", 100*share)
	}
	if share := float64(inbound) / float64(len(msgs)); share < 0.55 || share > 0.70 {
		t.Errorf("%.1f%% inbound, want 60-65%%", 100*share)
	}

	// Zipf: the top 1% of threads carry a clearly disproportionate share.
	counts := make([]int, 0, len(perThread))
	for _, n := range perThread {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := 0
	for _, n := range counts[:c.Threads/100] {
		top += n
	}
	topShare := float64(top) / float64(len(msgs))
	if topShare < 0.10 {
		t.Errorf("top 1%% of threads carry %.1f%% of messages, want > 10%%", 100*topShare)
	}
	single := 0
	for _, n := range counts {
		if n <= 3 {
			single++
		}
	}
	t.Logf("top 1%% of threads: %.1f%% of messages (hottest %d); %d%% of threads have <= 3 messages; %.1f%% inbound",
		100*topShare, counts[0], 100*single/len(counts), 100*float64(inbound)/float64(len(msgs)))

	// Duplicates: about DuplicateRate of message ops, each an exact repeat of an earlier one.
	byID := map[string]*Message{}
	dups := 0
	var last time.Time
	for i, m := range msgs {
		key := m.PlatformMessageID
		orig, seen := byID[key]
		if !m.Duplicate {
			if seen {
				t.Fatalf("platform message id %q repeated by a non-duplicate", key)
			}
			byID[key] = m
			if i > 0 && !m.SentAt.After(last) {
				t.Fatalf("message %d: SentAt %v not after %v", m.Seq, m.SentAt, last)
			}
			last = m.SentAt
			if m.Text == "" {
				t.Fatalf("message %d has no text", m.Seq)
			}
			continue
		}
		dups++
		if !seen {
			t.Fatalf("duplicate %d repeats no earlier message", m.Seq)
		}
		want := *orig
		want.Seq, want.Duplicate = m.Seq, true
		if *m != want {
			t.Fatalf("duplicate differs from its original:\n%+v\n%+v", *m, *orig)
		}
	}
	if rate := float64(dups) / float64(len(msgs)); rate < 0.7*c.withDefaults().DuplicateRate || rate > 1.3*c.withDefaults().DuplicateRate {
		t.Errorf("duplicate rate %.2f%%, want ~%.0f%%", 100*rate, 100*c.withDefaults().DuplicateRate)
	}
	if !msgs[0].SentAt.Equal(DefaultStart) || !last.Before(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("stream spans %v .. %v", msgs[0].SentAt, last)
	}

	// Edits: of earlier inbound Messenger messages of the same link, later, numbered 1, 2, ...
	numEdits := map[string]int{}
	for _, e := range edits {
		m := byID[e.PlatformMessageID]
		switch {
		case m == nil:
			t.Fatalf("edit of unknown message %q", e.PlatformMessageID)
		case m.Outbound || !links[m.Link].Messenger:
			t.Fatalf("edit of a message that is not inbound Messenger: %+v", m)
		case m.Link != e.Link || m.Thread != e.Thread || m.ProspectID != e.ProspectID:
			t.Fatalf("edit %+v does not match its message %+v", e, m)
		case !e.At.After(m.SentAt):
			t.Fatalf("edit at %v, message sent at %v", e.At, m.SentAt)
		case e.Text == "" || utf8.RuneCountInString(e.Text) > 2000:
			t.Fatalf("edit text of %d characters", utf8.RuneCountInString(e.Text))
		}
		numEdits[e.PlatformMessageID]++
		if e.NumEdit != numEdits[e.PlatformMessageID] {
			t.Fatalf("edit %d of %q says NumEdit %d", numEdits[e.PlatformMessageID], e.PlatformMessageID, e.NumEdit)
		}
	}
	messengerIn := 0
	for _, m := range byID {
		if links[m.Link].Messenger && !m.Outbound {
			messengerIn++
		}
	}
	if len(numEdits) == 0 || float64(len(numEdits)) > 0.03*float64(messengerIn) {
		t.Errorf("%d edited messages of %d inbound Messenger ones, want ~1%%", len(numEdits), messengerIn)
	}
}

// TestBeyondFill: the harness may keep drawing after the fill; no new threads appear.
func TestBeyondFill(t *testing.T) {
	c := Config{Seed: 3, Teams: 2, LinksPerTeam: 2, Threads: 200, Messages: 2000}
	g := mustNew(t, c)
	fill(g)
	seen := map[int]bool{}
	for range 20000 {
		if m := g.Next().Message; m != nil {
			if m.Thread >= c.Threads {
				t.Fatalf("thread %d opened after the fill", m.Thread)
			}
			seen[m.Thread] = true
		}
	}
	if len(seen) < 50 {
		t.Errorf("only %d threads active after the fill", len(seen))
	}
}

// TestTimeSpan: the server refuses sent_at beyond now+24h, so 1M messages must stay well
// within 2026.
func TestTimeSpan(t *testing.T) {
	g := mustNew(t, Config{Seed: 1, Teams: 1, LinksPerTeam: 2, Threads: 1000, Messages: 100000})
	var last time.Time
	for range 100000 {
		op := g.Next()
		if op.Message != nil && !op.Message.Duplicate {
			last = op.Message.SentAt
		}
	}
	per := last.Sub(DefaultStart) / 100000
	end := DefaultStart.Add(per * 1000000)
	if !end.Before(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("mean step %v: 1M messages would end %v", per, end)
	}
	t.Logf("mean step %v: 1M messages end around %v", per, end.Format(time.DateOnly))
}

func textSample(t testing.TB, n int) []*Message {
	g := mustNew(t, Config{Seed: 11, Teams: 10, LinksPerTeam: 3, Threads: 5000, Messages: n})
	msgs, _ := fill(g)
	return slices.DeleteFunc(msgs, func(m *Message) bool { return m.Duplicate })
}

func TestTextShape(t *testing.T) {
	msgs := textSample(t, 50000)
	lengths := make([]int, len(msgs))
	langs := map[string]int{}
	for i, m := range msgs {
		if m.Text == "" || !utf8.ValidString(m.Text) {
			t.Fatalf("message %d: empty or invalid text %q", m.Seq, m.Text)
		}
		lengths[i] = utf8.RuneCountInString(m.Text)
		langs[m.Lang]++
	}
	slices.Sort(lengths)
	median, p90, p99, longest := lengths[len(lengths)/2], lengths[len(lengths)*9/10], lengths[len(lengths)*99/100], lengths[len(lengths)-1]
	t.Logf("length: median %d, p90 %d, p99 %d, max %d characters", median, p90, p99, longest)
	if median < 30 || median > 120 {
		t.Errorf("median length %d, want 30..120", median)
	}
	if p90 < 100 || p90 > 350 {
		t.Errorf("p90 length %d, want ~200", p90)
	}
	if longest > 2000 || longest < 500 {
		t.Errorf("longest message %d characters, want a few long complaints and none over 2000", longest)
	}
	for _, l := range []string{"en", "es", "de", "fr", "pt", "ja", "zh", "ru", "ar"} {
		if langs[l] == 0 {
			t.Errorf("no %s message", l)
		}
	}
	if en := float64(langs["en"]) / float64(len(msgs)); en < 0.45 || en > 0.75 {
		t.Errorf("%.0f%% English, want ~60%%", 100*en)
	}
	t.Logf("languages: %v", langs)
}

// words splits text into lower-cased words roughly as the search analyzers do.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// matches evaluates the Queries syntax over one text; CJK words match as substrings (the
// index cuts them into bigrams).
func matches(q, text string) bool {
	ws := words(text)
	has := func(term string) bool {
		switch {
		case strings.HasPrefix(term, `"`):
			phrase := words(term)
			for i := 0; i+len(phrase) <= len(ws); i++ {
				if slices.Equal(ws[i:i+len(phrase)], phrase) {
					return true
				}
			}
			return false
		case strings.HasSuffix(term, "*"):
			return slices.ContainsFunc(ws, func(w string) bool { return strings.HasPrefix(w, strings.TrimSuffix(term, "*")) })
		case strings.ContainsFunc(term, func(r rune) bool { return unicode.Is(unicode.Han, r) }):
			return strings.Contains(text, term)
		}
		return slices.Contains(ws, strings.ToLower(term))
	}
	var terms []string
	if strings.HasPrefix(q, `"`) {
		terms = []string{q}
	} else {
		terms = strings.Fields(q)
	}
	for _, term := range terms {
		if neg, ok := strings.CutPrefix(term, "-"); ok {
			if has(neg) {
				return false
			}
		} else if !has(term) {
			return false
		}
	}
	return true
}

func TestQueryTermsOccur(t *testing.T) {
	msgs := textSample(t, 50000)
	want := map[string][2]float64{ // rate bounds by query name
		"word (common)": {0.005, 0.08},
		"word (rare)":   {0.0001, 0.005},
	}
	for _, q := range Queries() {
		n := 0
		for _, m := range msgs {
			if matches(q.Text, m.Text) {
				n++
			}
		}
		rate := float64(n) / float64(len(msgs))
		t.Logf("%-14s %-20s %6d messages, %.3f%%", q.Name, q.Text, n, 100*rate)
		if n == 0 {
			t.Errorf("query %s (%s) matches nothing", q.Name, q.Text)
		}
		if b, ok := want[q.Name]; ok && (rate < b[0] || rate > b[1]) {
			t.Errorf("query %s (%s) matches %.3f%% of messages, want %.2f%%..%.2f%%", q.Name, q.Text, 100*rate, 100*b[0], 100*b[1])
		}
	}
}

func TestValidate(t *testing.T) {
	good := Config{Teams: 1, LinksPerTeam: 2, Threads: 1, Messages: 1}
	if err := good.Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	for _, tc := range []struct {
		field  string
		change func(*Config)
	}{
		{"Teams", func(c *Config) { c.Teams = 0 }},
		{"LinksPerTeam", func(c *Config) { c.LinksPerTeam = 1 }},
		{"Threads", func(c *Config) { c.Threads = 0 }},
		{"Messages", func(c *Config) { c.Messages = 0 }},
		{"DuplicateRate", func(c *Config) { c.DuplicateRate = -0.1 }},
		{"DuplicateRate", func(c *Config) { c.DuplicateRate = 1 }},
		{"EditRate", func(c *Config) { c.EditRate = 1.5 }},
		{"ZipfS", func(c *Config) { c.ZipfS = 1 }},
		{"ZipfS", func(c *Config) { c.ZipfS = 0.5 }},
	} {
		c := good
		tc.change(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "traffic: "+tc.field+" ") {
			t.Errorf("%s: got %v", tc.field, err)
		}
		if _, err := New(c); err == nil {
			t.Errorf("New accepted a bad %s", tc.field)
		}
	}
	g := mustNew(t, good)
	if c := g.Config(); c.DuplicateRate != DefaultDuplicateRate || c.EditRate != DefaultEditRate ||
		c.ZipfS != DefaultZipfS || !c.Start.Equal(DefaultStart) {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// TestTinyConfig: one thread, as many messages, runs without a Zipf law to draw from.
func TestTinyConfig(t *testing.T) {
	g := mustNew(t, Config{Teams: 1, LinksPerTeam: 2, Threads: 1, Messages: 1})
	for range 100 {
		if m := g.Next().Message; m != nil && m.Thread != 0 {
			t.Fatalf("thread %d", m.Thread)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	g := mustNew(b, Config{Seed: 1, Teams: 20, LinksPerTeam: 3, Threads: 100000, Messages: 1000000})
	b.ReportAllocs()
	for b.Loop() {
		g.Next()
	}
}
