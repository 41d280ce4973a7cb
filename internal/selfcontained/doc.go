// Package selfcontained holds the check that the repository stands on its own: a copy of it,
// with nothing beside it, passes the platform tests.
package selfcontained
