package postgres

import (
	"testing"

	"github.com/switchboard-oss/switchboard/projections/readmodeltest"
)

// BenchmarkAnalyticsLive: see readmodeltest.BenchAnalyticsLive.
func BenchmarkAnalyticsLive(b *testing.B) {
	s, _ := pgOpenTest(b, "")
	readmodeltest.BenchAnalyticsLive(b, s)
}
