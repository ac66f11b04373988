package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/planner/mastodon"
)

// currentConnections estimates the connections the file's pools can open
// as it stands, before the rewrite, from what the file itself says and
// Mastodon's defaults for the version. .env.production is not read (it
// may set DB_POOL or MAX_THREADS), so this is a floor, and says so.
func currentConnections(v Version, services []Service, m Machine) (total int, parts []string) {
	envInt := func(s Service, key string, def int) int {
		if n, err := strconv.Atoi(s.Env[key]); err == nil && n > 0 {
			return n
		}
		return def
	}
	for _, s := range services {
		replicas := max(s.Replicas, 1)
		switch RoleOf(s) {
		case RoleWeb:
			procs := ProcessesPerContainer(v, s, m)
			threads := envInt(s, "MAX_THREADS", 5)
			pool := envInt(s, "DB_POOL", threads)
			n := replicas * procs * pool * mastodon.PoolsPerProcess(v)
			total += n
			parts = append(parts, fmt.Sprintf("%s %d", s.Name, n))
		case RoleStreaming:
			procs := ProcessesPerContainer(v, s, m)
			pool := 10
			if v.AtLeast(4, 1) {
				pool = envInt(s, "DB_POOL", 10)
			}
			n := replicas * procs * pool
			total += n
			parts = append(parts, fmt.Sprintf("%s %d", s.Name, n))
		case RoleSidekiq:
			c, err := ParseSidekiqCommand(s.Command)
			if err != nil {
				continue
			}
			conc := c.Concurrency
			if conc == 0 {
				conc = 5
				if v.AtLeast(4, 1) {
					conc = envInt(s, "SIDEKIQ_CONCURRENCY", 5)
				}
			}
			// Before 4.3 the pool is DB_POOL, else MAX_THREADS, else 5,
			// whatever -c says; from 4.3 it defaults to the concurrency.
			pool := envInt(s, "DB_POOL", envInt(s, "MAX_THREADS", 5))
			if v.AtLeast(4, 3) {
				pool = envInt(s, "DB_POOL", conc)
			}
			n := replicas * pool * mastodon.PoolsPerProcess(v)
			total += n
			parts = append(parts, fmt.Sprintf("%s %d", s.Name, n))
		}
	}
	return total, parts
}

// ProcessesPerContainer is how many of the processes the estimates are
// for (a Puma worker, a node streaming process, a Sidekiq process) one
// container of the service runs, from what the file says and Mastodon's
// defaults: WEB_CONCURRENCY (2; 0 is single mode, one process), and
// before 4.2 STREAMING_CLUSTER_NUM (the CPUs less one). Puma's master is
// counted in its workers' estimate. A value in .env.production is not
// seen (the env_file is read only for where services connect).
func ProcessesPerContainer(v Version, s Service, m Machine) int {
	envInt := func(key string, def int) int {
		if n, err := strconv.Atoi(s.Env[key]); err == nil && n > 0 {
			return n
		}
		return def
	}
	switch RoleOf(s) {
	case RoleWeb:
		if s.Env["WEB_CONCURRENCY"] == "0" {
			return 1
		}
		return envInt("WEB_CONCURRENCY", 2)
	case RoleStreaming:
		if !v.AtLeast(4, 2) {
			return envInt("STREAMING_CLUSTER_NUM", max(m.CPUs-1, 1))
		}
	}
	return 1
}

// ConnectionsUnder counts the connections a deployment's pools can open
// under the rules of Mastodon v (pool defaults, the streaming model,
// 4.2.0's two pools per process), from what its services' own
// environments and commands say: what a plan made for an unknown version
// is checked against, version by version.
func ConnectionsUnder(v Version, services []Service, m Machine) int {
	total, _ := currentConnections(v, services, m)
	return total
}

// Usable is the most connections the pools may hold under max_connections
// m: 90% of it, and at least 15 left loose.
func Usable(m int) int { return usable(m) }

// checkCurrent reports a file whose pools, as it stands, can open more
// connections than its Postgres allows.
func (p *planning) checkCurrent(in Input, db *Service) {
	if db == nil {
		return
	}
	maxConns := 100 // Postgres's default
	source := "Postgres's default"
	if pc, err := ParsePostgresCommand(db.Command); err == nil {
		if v, ok := pc.Get("max_connections"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				maxConns, source = n, "the db command"
			}
		}
	}
	total, parts := currentConnections(p.Version, in.Services, p.Machine)
	if total > maxConns-superuserReserved {
		p.Warnings = append(p.Warnings, fmt.Sprintf("as the file stands, its pools can open at least %d connections (%s; more if .env.production raises DB_POOL or MAX_THREADS), but max_connections is %d (%s): connections fail under load; the rewrite fixes this", total, strings.Join(parts, ", "), maxConns, source))
	}
}
