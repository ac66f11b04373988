// Package pgtest proves that every db command compose-scale writes starts a
// real Postgres with exactly those settings. Its tests need the Postgres
// server binaries (Debian's postgresql package); without them they skip,
// unless COMPOSE_SCALE_REQUIRE_POSTGRES=1 (as .ci/run sets), when they fail.
package pgtest
