package sqlitefts

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboard-oss/switchboard/search"
)

// BenchmarkGetMissing is what the projector asks of every new message: is it indexed yet?
func BenchmarkGetMissing(b *testing.B) {
	x, err := Open(b.TempDir()+"/search.db", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	var docs []search.Doc
	for i := range 1000 {
		docs = append(docs, search.Doc{TeamID: "team_1", MessageID: fmt.Sprint("m", i), Text: "hello", SentAt: t0})
	}
	if err := x.Put(ctx, docs); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if _, ok, err := x.Get(ctx, "team_1", fmt.Sprint("new", i)); err != nil || ok {
			b.Fatal(err, ok)
		}
	}
}
