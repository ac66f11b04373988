package planner

import (
	"fmt"
	"strings"

	"github.com/compose-scale/compose-scale/planner/mastodon"
)

// Make plans a deployment. It is a pure function of in.
//
// The phases, in order: sort the services by role, find the database and
// Redis, read the version, take in measured figures, read the file's
// sidekiq layout and choose a strategy, size the machine (the cache, the
// pooler, the connections), lay out and size the processes, tune Postgres,
// then turn the plan into changes to the file.
func Make(in Input) (*Plan, error) {
	est := in.Estimates.withDefaults()
	m := in.Machine
	if m.CPUs < 1 {
		m.CPUs = 1
	}
	p := &planning{Plan: &Plan{Machine: m, Estimates: est}}
	p.perCore = in.WorkersPerCore
	// An override file restores by dropping its own entries: what the
	// base file says comes back, so nothing needs keeping there.
	p.keepEnv, p.keepField = SetEnvKeeping, SetFieldKeeping
	if in.KeepNames {
		p.keepEnv, p.keepField = SetEnv, SetField
	}
	all := in.Services
	var profiled []Service
	in.Services, profiled = withoutMigrate(in.Services)
	r, err := p.sortRoles(in.Services, est)
	if err != nil {
		return nil, err
	}
	topo, err := findTopology(in.Services, in.DBService)
	if err != nil {
		return nil, err
	}
	db, redis := topo.db, topo.redis
	p.DBWhy, p.ExternalDB = topo.dbWhy, topo.external
	p.bouncer = topo.bouncer
	p.hasDB = db != nil

	if err := p.resolveVersion(in, r.sidekiq, r.web, r.streamings); err != nil {
		return nil, err
	}
	p.RailsPools = mastodon.PoolsPerProcess(p.Version) + replicaPools(in.Services, p.Version, db)
	p.measured = in.Measured
	p.applyMeasured(in, &est)
	p.Estimates = est

	existing, err := p.parseSidekiq(r.sidekiq)
	if err != nil {
		return nil, err
	}
	strategy := p.chooseStrategy(in, existing, est, db != nil, redis != nil, r.searchMem)

	p.decideCache(in, redis)
	sz, err := p.sizeMachine(in, est, db != nil, redis != nil, r.searchMem)
	if err != nil {
		return nil, err
	}
	if err := p.decideBouncer(in, topo, sz, db); err != nil {
		return nil, err
	}
	cb, err := p.connectionBudget(in, &sz, r.web != nil, r.streaming != nil)
	if err != nil {
		return nil, err
	}
	procs, err := p.layout(strategy, existing, sz, cb)
	if err != nil {
		return nil, err
	}
	p.Sidekiq = p.placeForkQueues(procs)
	p.avoidOtherNames(all)
	if err := p.assignConnections(in, sz, cb, r.web, r.streaming); err != nil {
		return nil, err
	}
	if db != nil {
		if err := p.tunePostgres(in, db, sz); err != nil {
			return nil, err
		}
	} else {
		p.Warnings = append(p.Warnings, p.noDatabaseLine(in))
	}
	if p.bouncer == nil {
		p.checkCurrent(in, db)
	}
	p.makeChanges(in, all, existing, r, sz)
	p.budget(in, est, sz)
	p.Changes = append(p.Changes, p.poolChanges()...)
	p.Changes = append(p.Changes, p.bouncerChanges(in, r.web, db, profiled)...)
	p.Changes = append(p.Changes, p.cacheChanges("")...)
	return p.Plan, nil
}

// withoutMigrate sets compose-scale's migration service apart: it runs
// only with `docker compose run`, so it is no part of the running
// deployment (it inherits web's ports and names through extends, which
// `run` does not use).
func withoutMigrate(services []Service) (active, profiled []Service) {
	active = make([]Service, 0, len(services))
	for _, s := range services {
		if oursMigrate([]Service{s}) != nil {
			profiled = append(profiled, s)
		} else {
			active = append(active, s)
		}
	}
	return active, profiled
}

// roles are the file's services by what they run.
type roles struct {
	sidekiq, streamings []Service
	web, streaming      *Service // the first web; the streaming named so, else the first
	searchMem           int64    // what the search services take
}

// sortRoles sorts the services by role. A sidekiq service switched off
// (scale: 0, by an earlier plan written to an override file) is no
// process, but its name is taken, and a plan that wants it back turns it
// on.
func (p *planning) sortRoles(services []Service, est Estimates) (roles, error) {
	var r roles
	var names []string
	for i := range services {
		s := &services[i]
		names = append(names, s.Name)
		switch RoleOf(*s) {
		case RoleSidekiq:
			if s.Disabled {
				if c, err := ParseSidekiqCommand(s.Command); err == nil {
					p.disabled = append(p.disabled, existingProcess{Service: s.Name, Cmd: c, Queues: c.Queues, Build: s.Build, Image: s.Image, ID: identityOf(*s), Replicas: 1})
				}
				continue
			}
			r.sidekiq = append(r.sidekiq, *s)
		case RoleWeb:
			if r.web == nil {
				r.web = s
			}
		case RoleStreaming:
			r.streamings = append(r.streamings, *s)
			if r.streaming == nil || s.Name == "streaming" {
				r.streaming = s
			}
		case RoleSearch:
			r.searchMem += est.searchFor(*s)
		}
	}
	if len(r.sidekiq) == 0 {
		return r, fmt.Errorf("no sidekiq service found (services: %s): compose-scale looks for a service whose command runs sidekiq, such as `bundle exec sidekiq`", strings.Join(names, ", "))
	}
	return r, nil
}

// chooseStrategy is --strategy, or what the file's layout says: the
// stock file gets auto; a file split per queue keeps per-queue while the
// machine holds it; any other split is the admin's own, kept and
// corrected.
func (p *planning) chooseStrategy(in Input, existing []existingProcess, est Estimates, hasDB, hasRedis bool, searchMem int64) Strategy {
	strategy := in.Strategy
	if strategy == "" {
		strategy = Auto
	}
	stock := len(existing) == 1 && len(existing[0].Queues) == 0
	switch {
	case strategy != Auto:
		p.Why = "chosen with --strategy"
	case stock:
		p.Why = "" // set by sizing
	default:
		s, ok := recognise(withoutForkQueues(existing, p.ForkQueues), p.Version)
		if !ok {
			p.OwnSplit = true
			p.Why = "the file is already split by hand: its services are kept and corrected"
			return HandSplit
		}
		if s == PerQueue { // auto never picks per-queue: keep the admin's choice
			strategy = PerQueue
			p.Why = "the file is already split per queue"
		}
		if s == PerQueue && len(perQueueLayout(p.Version)) > sidekiqFit(in, p.Machine, est, hasDB, hasRedis, p.Version, searchMem) {
			// Too many for this machine: kept and shrunk like any
			// split of the admin's.
			p.OwnSplit = true
			p.Why = "the file is split per queue, more processes than this machine holds: its services are kept and merged to fit"
			return HandSplit
		}
	}
	return strategy
}

// sizeMachine shares the machine out (sizing.go), with the cache Redis
// decided, and says what a bigger Postgres share costs the app side.
func (p *planning) sizeMachine(in Input, est Estimates, hasDB, hasRedis bool, searchMem int64) (sizing, error) {
	var cacheMem int64
	if p.CacheRedis != nil {
		cacheMem = p.CacheRedis.MemoryBytes
	}
	sz, err := size(in, p.Machine, est, hasDB, hasRedis, p.Version, searchMem+cacheMem)
	if err != nil {
		return sz, err
	}
	sz.searchMem, sz.cacheMem = searchMem, cacheMem
	if in.DBMemory > 0 || in.DBMemoryShare > 0 {
		def := in
		def.DBMemory, def.DBMemoryShare = 0, 0
		if dsz, err := size(def, p.Machine, est, hasDB, hasRedis, p.Version, searchMem+cacheMem); err == nil && dsz.sidekiqProcs > sz.sidekiqProcs {
			p.Notes = append(p.Notes, fmt.Sprintf("Postgres gets %s: that leaves room for %d sidekiq processes (%d with half the machine) and %d Puma processes (%d)", FormatBytes(sz.dbMem), sz.sidekiqProcs, dsz.sidekiqProcs, sz.webProcs, dsz.webProcs))
		}
	}
	return sz, nil
}

// makeChanges turns the sidekiq layout, the streaming copies and the
// ports into changes to the file.
func (p *planning) makeChanges(in Input, all []Service, existing []existingProcess, r roles, sz sizing) {
	policy := p.portPolicy(in)
	if in.KeepNames {
		adoptNames(existing, p.Sidekiq)
	}
	taken := takenNames(all)
	p.Changes = append(policy, p.replicaChanges(existing)...)
	p.Changes = append(p.Changes, reconcile(existing, p.Sidekiq, taken, p.disabled)...)
	if id := existing[0].ID; id != (identity{}) && hasClone(p.Changes) {
		p.Notes = append(p.Notes, fmt.Sprintf("%s: new sidekiq services get a container_name and hostname of their own, derived from its own (docker compose creates one container per name)", existing[0].Service))
	}
	p.Changes = append(p.Changes, p.healthcheckChanges(r.sidekiq)...)
	specs := plannedPorts(in.Services, policy)
	if r.streaming != nil && p.Version.AtLeast(4, 2) && !in.Replicated {
		var extra []portSpec
		p.Changes, extra = p.scaleStreaming(p.Changes, *r.streaming, in.Services, specs, taken)
		// The copies' ports are the plan's, not what the file has now.
		kept := specs[:0]
		for _, sp := range specs {
			if m := streamingCopy.FindStringSubmatch(sp.service); m == nil || m[1] != r.streaming.Name {
				kept = append(kept, sp)
			}
		}
		specs = append(kept, extra...)
	}
	clash := p.resolveClashes(specs)
	p.Changes = append(p.Changes, clash...)
	if p.Streaming != nil {
		p.Streaming.Upstream = p.streamingUpstream(specs, clash)
	}
	if p.Web != nil && p.Web.Replicas > 1 {
		p.Web.Upstream = webUpstream(p.Web.Service, specs, clash)
	}
}
