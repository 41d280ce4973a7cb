package sqlite

import (
	"testing"

	"github.com/switchboard-oss/switchboard/projections/readmodeltest"
)

// BenchmarkAnalyticsLive: see readmodeltest.BenchAnalyticsLive.
func BenchmarkAnalyticsLive(b *testing.B) { readmodeltest.BenchAnalyticsLive(b, rmOpenTemp(b)) }
