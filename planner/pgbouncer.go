package planner

import (
	"fmt"
	"sort"
	"strings"
)

// PgBouncerPlan is the two-layer connection budget of a deployment whose
// app connects through a PgBouncer: the pools are its clients, and
// Postgres sees its server pool plus whatever bypasses it.
type PgBouncerPlan struct {
	Service       string
	PoolMode      string
	MaxClientConn int // the clients it accepts (max_client_conn)
	ClientLimit   int // what the pools are planned within
	Clients       int // the pools through it
	ServerPool    int // default_pool_size + reserve_pool_size: its connections to Postgres
	Reserve       int // reserve_pool_size
	Direct        int // pools that connect to Postgres directly
	Servers       int // ServerPool + Direct: what Postgres must hold
	Via           []string
	// Configured lists the settings its environment gave; the others are
	// PgBouncer's defaults.
	Configured []string
}

// bouncerClientLimit keeps a tenth of PgBouncer's clients free for
// tootctl and consoles, as the direct budget keeps connections loose.
func bouncerClientLimit(maxClientConn int) int { return maxClientConn * 9 / 10 }

// throughBouncer reports whether the app connects through the admin's
// PgBouncer.
func (p *planning) throughBouncer() bool {
	return p.bouncer != nil && (p.bouncer.viaSidekiq || len(p.bouncer.via) > 0)
}

// directConnections are the pools that connect to Postgres past the
// bouncer. Sidekiq copies connect where the service they were copied
// from did, streaming copies where streaming did.
func (p *planning) directConnections() int {
	n := 0
	f := p.RailsPools
	if w := p.Web; w != nil && !p.bouncer.via[w.Service] {
		n += w.Replicas * w.Processes * w.Threads * f
	}
	if s := p.Streaming; s != nil && !p.bouncer.via[s.Service] {
		n += s.Processes * s.Pool
	}
	if !p.bouncer.viaSidekiq {
		for _, s := range p.Sidekiq {
			n += s.Concurrency * s.processes() * f
		}
	}
	return n
}

// bouncerBudget fills the PgBouncer layer of the budget and says what an
// admin must fix in front of transaction pooling.
func (p *planning) bouncerBudget(in Input) {
	b := p.bouncer
	pb := &PgBouncerPlan{Service: b.service, PoolMode: b.poolMode, MaxClientConn: b.maxClientConn,
		ClientLimit: bouncerClientLimit(b.maxClientConn), ServerPool: b.poolSize + b.reservePool, Reserve: b.reservePool, Configured: b.said}
	pb.Direct = p.directConnections()
	pb.Clients = p.Budget.Connections.Total - pb.Direct
	pb.Servers = pb.ServerPool + pb.Direct
	// The services as planned: the file's that connect through it, and
	// the sidekiq and streaming copies, which connect where theirs did.
	for _, r := range p.Budget.Rows {
		via := b.via[r.Service] || r.Role == RoleSidekiq && b.viaSidekiq
		if r.Role == RoleStreaming && p.Streaming != nil {
			via = b.via[p.Streaming.Service]
		}
		if via {
			pb.Via = append(pb.Via, r.Service)
		}
	}
	p.PgBouncer = pb
	c := &p.Budget.Connections
	c.Limit = pb.ClientLimit
	c.Free = c.MaxConnections - pb.Servers // what Postgres has left
	if pb.Clients > pb.ClientLimit {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the pools open %d connections to %s, above 90%% of its max_client_conn %d: raise MAX_CLIENT_CONN on %s", pb.Clients, b.service, b.maxClientConn, b.service))
	}
	if pb.Servers > usable(c.MaxConnections) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s's server pool (%d) and the pools that bypass it (%d) need %d connections, above the safe %d for max_connections %d", b.service, pb.ServerPool, pb.Direct, pb.Servers, usable(c.MaxConnections), c.MaxConnections))
	}
	if pb.ClientLimit < p.wantedClients && !b.generated {
		p.Notes = append(p.Notes, fmt.Sprintf("%s accepts %d clients (max_client_conn): the pools are planned within %d; this machine could run %d, so raise MAX_CLIENT_CONN on %s and run compose-scale again", b.service, b.maxClientConn, pb.ClientLimit, p.wantedClients, b.service))
	}
	if b.generated {
		return // it sets PREPARED_STATEMENTS=false on every service it serves
	}
	if b.poolMode != "transaction" {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s pools in %s mode: a client holds a server connection for its whole session, so it does not multiplex the pools onto fewer Postgres connections; transaction mode does (with PREPARED_STATEMENTS=false)", b.service, b.poolMode))
		return
	}
	var missing []string
	for name := range b.via { // the file's services: copies inherit their settings
		// Streaming is node: its queries are unnamed statements, which
		// transaction pooling serves; only Rails prepares them.
		if in.role(name) != RoleStreaming && in.preparedStatements(name) != "false" {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		verb := "go"
		if len(missing) == 1 {
			verb = "goes"
		}
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s %s through %s in transaction mode, but PREPARED_STATEMENTS is not false there: Rails's prepared statements fail across pooled connections; set PREPARED_STATEMENTS=false in the env_file or the service's environment", strings.Join(missing, ", "), verb, b.service))
	}
}

func (in Input) role(service string) Role {
	for _, s := range in.Services {
		if s.Name == service {
			return RoleOf(s)
		}
	}
	return RoleOther
}

// preparedStatements is a service's PREPARED_STATEMENTS as the file or its
// env_file sets it.
func (in Input) preparedStatements(service string) string {
	for _, s := range in.Services {
		if s.Name == service {
			return strings.ToLower(s.ConnEnv["PREPARED_STATEMENTS"])
		}
	}
	return ""
}
