package report

import (
	"encoding/json"
	"io"

	"github.com/compose-scale/compose-scale/planner"
)

// The JSON report's field names are a contract with scripts: docs/json-report.md
// documents them; add fields, never rename them.
type jsonReport struct {
	File        string          `json:"file"`
	Mastodon    jsonMastodon    `json:"mastodon"`
	Machine     jsonMachine     `json:"machine"`
	Strategy    string          `json:"strategy"`
	Why         string          `json:"why,omitempty"`
	Postgres    jsonPostgres    `json:"postgres"`
	Connections jsonConnections `json:"connections"`
	Memory      jsonMemory      `json:"memory"`
	Services    []jsonService   `json:"services"`
	Nginx       *jsonNginx      `json:"nginx,omitempty"`
	CacheRedis  *jsonCache      `json:"cache_redis,omitempty"`
	Measured    []string        `json:"measured,omitempty"`
	Notes       []string        `json:"notes"`
	Warnings    []string        `json:"warnings"`
}

type jsonNginx struct {
	StreamingUpstream string `json:"streaming_upstream,omitempty"`
	WebUpstream       string `json:"web_upstream,omitempty"`
}

type jsonMastodon struct {
	Version string `json:"version"`
	Source  string `json:"source"`
}

type jsonMachine struct {
	MemoryBytes int64    `json:"memory_bytes"`
	CPUs        int      `json:"cpus"`
	Source      string   `json:"source"`
	Notes       []string `json:"notes,omitempty"`
}

type jsonPostgres struct {
	Service        string            `json:"service"`
	Why            string            `json:"why,omitempty"` // why that service is the database
	External       bool              `json:"external,omitempty"`
	MaxConnections int               `json:"max_connections"`
	MemoryBytes    int64             `json:"memory_bytes"`
	CPUs           int               `json:"cpus"`
	Version        int               `json:"version,omitempty"`
	VersionAssumed bool              `json:"version_assumed,omitempty"`
	Type           string            `json:"type,omitempty"`
	Settings       map[string]string `json:"settings"`
	ShmSizeBytes   int64             `json:"shm_size_bytes,omitempty"`
}

type jsonConnections struct {
	Total             int            `json:"total"`
	Limit             int            `json:"limit"`
	MaxConnections    int            `json:"max_connections"`
	SuperuserReserved int            `json:"superuser_reserved"`
	Free              int            `json:"free"`
	PgBouncer         *jsonPgBouncer `json:"pgbouncer,omitempty"`
}

// jsonPgBouncer is the two layers behind an admin's PgBouncer: clients
// (the pools) against its limit, servers against max_connections.
type jsonPgBouncer struct {
	Service       string   `json:"service"`
	PoolMode      string   `json:"pool_mode"`
	MaxClientConn int      `json:"max_client_conn"`
	ClientLimit   int      `json:"client_limit"`
	Clients       int      `json:"clients"`
	ServerPool    int      `json:"server_pool"`
	Direct        int      `json:"direct"`
	Servers       int      `json:"servers"`
	Via           []string `json:"via"`
	Configured    []string `json:"configured"`
	// Generated is set for the PgBouncer compose-scale writes.
	Generated      bool   `json:"generated,omitempty"`
	Why            string `json:"why,omitempty"`
	MigrateCommand string `json:"migrate_command,omitempty"`
	AfterPooled    string `json:"after_pooled_migration,omitempty"`
}

type jsonCache struct {
	Service        string `json:"service"`
	Generated      bool   `json:"generated"`
	MaxMemoryBytes int64  `json:"maxmemory_bytes,omitempty"`
	MemoryBytes    int64  `json:"memory_bytes"`
	Why            string `json:"why"`
}

type jsonMemory struct {
	Estimated     bool  `json:"estimated"`
	PumaProcess   int64 `json:"puma_process_bytes"`
	SidekiqProc   int64 `json:"sidekiq_process_bytes"`
	StreamingProc int64 `json:"streaming_process_bytes"`
	MachineBytes  int64 `json:"machine_bytes"`
	PostgresBytes int64 `json:"postgres_bytes"`
	RedisBytes    int64 `json:"redis_bytes"`
	SearchBytes   int64 `json:"search_bytes,omitempty"`
	CacheBytes    int64 `json:"cache_redis_bytes,omitempty"`
	ProcessBytes  int64 `json:"process_bytes"`
	TotalBytes    int64 `json:"total_bytes"`
	HeadroomBytes int64 `json:"headroom_bytes"`
}

type jsonService struct {
	Service     string   `json:"service"`
	Role        string   `json:"role"`
	Processes   int      `json:"processes"`
	Threads     int      `json:"threads"`
	Connections int      `json:"connections"`
	MemoryBytes int64    `json:"memory_bytes"`
	Queues      []string `json:"queues,omitempty"`
	Weights     []int    `json:"weights,omitempty"`
}

// JSON is the report for scripts.
func JSON(w io.Writer, p *planner.Plan, ctx Context) error {
	c, m := p.Budget.Connections, p.Budget.Memory
	r := jsonReport{
		File:     ctx.File,
		Mastodon: jsonMastodon{Version: p.Version.String(), Source: p.VersionSource},
		Machine:  jsonMachine{MemoryBytes: p.Machine.MemoryBytes, CPUs: p.Machine.CPUs, Source: ctx.MachineSource, Notes: ctx.MachineNotes},
		Strategy: string(p.Strategy),
		Why:      p.Why,
		Postgres: jsonPostgres{Service: p.Postgres.Service, Why: p.DBWhy, External: p.Postgres.Service == "", MaxConnections: p.Postgres.MaxConnections, MemoryBytes: p.Postgres.MemoryBytes,
			CPUs: p.Postgres.CPUs, Version: p.Postgres.Major, VersionAssumed: p.Postgres.MajorAssumed, Type: string(p.Postgres.Type),
			Settings: map[string]string{}, ShmSizeBytes: p.Postgres.ShmSizeBytes},
		Connections: jsonConnections{Total: c.Total, Limit: c.Limit, MaxConnections: c.MaxConnections,
			SuperuserReserved: c.SuperuserReserved, Free: c.Free},
		Memory: jsonMemory{Estimated: true, PumaProcess: p.Estimates.PumaProcess, SidekiqProc: p.Estimates.SidekiqProcess, StreamingProc: p.Estimates.StreamingProcess, MachineBytes: m.MachineBytes, PostgresBytes: m.PostgresBytes, RedisBytes: m.RedisBytes, SearchBytes: m.SearchBytes, CacheBytes: m.CacheBytes,
			ProcessBytes: m.AppBytes, TotalBytes: m.TotalBytes, HeadroomBytes: m.HeadroomBytes},
		Services: []jsonService{},
		Notes:    notes(p, ctx),
		Measured: p.MeasuredFigures,
		Warnings: warnings(p, ctx),
	}
	if p.Streaming != nil && p.Streaming.Upstream != "" {
		r.Nginx = &jsonNginx{StreamingUpstream: p.Streaming.Upstream}
	}
	if p.Web != nil && p.Web.Upstream != "" {
		if r.Nginx == nil {
			r.Nginx = &jsonNginx{}
		}
		r.Nginx.WebUpstream = p.Web.Upstream
	}
	if b := p.PgBouncer; b != nil {
		r.Connections.PgBouncer = &jsonPgBouncer{Service: b.Service, PoolMode: b.PoolMode, MaxClientConn: b.MaxClientConn, ClientLimit: b.ClientLimit,
			Clients: b.Clients, ServerPool: b.ServerPool, Direct: b.Direct, Servers: b.Servers, Via: b.Via, Configured: append([]string{}, b.Configured...)}
		if g := p.GenBouncer; g != nil {
			r.Connections.PgBouncer.Generated, r.Connections.PgBouncer.Why, r.Connections.PgBouncer.MigrateCommand = true, g.Why, g.MigrateCommand
			r.Connections.PgBouncer.AfterPooled = g.AfterPooled
		}
	}
	if c := p.CacheRedis; c != nil {
		r.CacheRedis = &jsonCache{Service: c.Service, Generated: c.Generated, MaxMemoryBytes: c.MaxMemory, MemoryBytes: c.MemoryBytes, Why: c.Why}
	}
	for _, st := range p.Postgres.Settings {
		r.Postgres.Settings[st.Name] = st.Value
	}
	for _, row := range p.Budget.Rows {
		s := jsonService{Service: row.Service, Role: string(row.Role), Processes: row.Processes, Threads: row.Threads,
			Connections: row.Connections, MemoryBytes: row.MemoryBytes}
		if row.Role == planner.RoleSidekiq {
			s.Queues = []string{}
			weighted := false
			for _, q := range row.Queues {
				s.Queues = append(s.Queues, q.Name)
				weighted = weighted || q.Weight > 0
			}
			if weighted {
				for _, q := range row.Queues {
					s.Weights = append(s.Weights, q.Weight)
				}
			}
		}
		r.Services = append(r.Services, s)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
