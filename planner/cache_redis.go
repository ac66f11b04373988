package planner

import (
	"fmt"
	"regexp"
	"strings"
)

// The cache Redis compose-scale writes: Rails's cache in a Redis of its
// own, so that a burst of cache writes evicts cache, never Sidekiq's
// queues or the home feeds (docs.joinmastodon.org/admin/scaling, Cache:
// a Redis of its own for Rails's cache, evicting with an LRU policy).
const (
	cacheService = "redis-cache"
	cachePort    = "6379"
	cacheURL     = "redis://" + cacheService + ":" + cachePort + "/0"
	// cacheAutoFrom is the machine size from which auto writes one: an
	// instance that needs 16 GB has a cache worth keeping apart.
	cacheAutoFrom = 16 * GiB
)

// CacheRedisPlan is the cache Redis: compose-scale's or the admin's.
type CacheRedisPlan struct {
	Service     string
	Generated   bool  // written (or kept up to date) by compose-scale
	Exists      bool  // in the file already
	MaxMemory   int64 // its maxmemory, 0 when the admin's does not say
	MemoryBytes int64 // what the budget counts: maxmemory and Redis's overhead
	Why         string
}

var maxmemoryRE = regexp.MustCompile(`--maxmemory\s+(\S+)`)

// cacheMaxMemory is the cache's size: a thirty-second of the machine,
// between 256 MB and 2 GB. Redis uses about a fifth more than maxmemory
// (its own structures, fragmentation): the budget counts that too.
func cacheMaxMemory(m Machine) int64 {
	return min(max(m.MemoryBytes/32, 256*MiB), 2*GiB)
}

// decideCache settles --cache-redis before the memory is split: an
// admin's own cache Redis (the one the app's CACHE_REDIS_HOST or
// CACHE_REDIS_URL names) is kept and counted; auto writes one from 16 GB.
func (p *planning) decideCache(in Input, redis *Service) {
	var ours *Service
	for i := range in.Services {
		s := &in.Services[i]
		if s.Name == cacheService && strings.Contains(strings.Join(s.Command, " "), "allkeys-lru") {
			ours = s
		}
	}
	if theirs, unused := p.adminsCache(in.Services, redis, ours); theirs != nil {
		p.keepAdminsCache(theirs, unused)
		return
	}
	want, why := false, ""
	switch in.CacheRedis {
	case ToggleOff:
		why = "--cache-redis off"
	case ToggleOn:
		want, why = true, "--cache-redis on"
	default:
		want = p.Machine.MemoryBytes >= cacheAutoFrom && redis != nil
		if want {
			why = fmt.Sprintf("auto: from %s, Rails's cache gets a Redis of its own, so its evictions never touch Sidekiq's queues and the feeds", FormatBytes(cacheAutoFrom))
		} else {
			why = fmt.Sprintf("auto: below %s the cache shares the one Redis", FormatBytes(cacheAutoFrom))
		}
	}
	if !want {
		if ours != nil {
			p.removeCache = ours.Name
			p.Notes = append(p.Notes, fmt.Sprintf("%s: removed (%s), and the app's CACHE_REDIS_HOST and CACHE_REDIS_PORT that pointed at it", ours.Name, why))
		}
		return
	}
	mem := cacheMaxMemory(p.Machine)
	p.CacheRedis = &CacheRedisPlan{Service: cacheService, Generated: true, Exists: ours != nil, MaxMemory: mem, MemoryBytes: mem + mem/5, Why: why}
	p.cacheImage = "redis:7-alpine"
	if redis != nil && redis.Image != "" {
		p.cacheImage = redis.Image
	}
	p.cacheAfter, p.cacheNetworks = "", nil
	if redis != nil {
		p.cacheAfter, p.cacheNetworks = redis.Name, redis.Networks
	}
}

// adminsCache is the admin's own cache Redis: the one the app's
// CACHE_REDIS_URL or CACHE_REDIS_HOST names, else a Redis named as a
// cache that the app does not use yet (unused). The Redis the app keeps
// its queues and feeds in is no cache Redis, whatever a cache variable
// says: a cache pointed at it is the one Redis, and the split still to
// be made. It also notes which form the app names the cache in.
func (p *planning) adminsCache(services []Service, redis, ours *Service) (theirs *Service, unused bool) {
	main := map[string]bool{}
	if redis != nil {
		main[redis.Name] = true
	}
	for _, s := range services {
		if r := RoleOf(s); r != RoleWeb && r != RoleSidekiq {
			continue
		}
		for _, h := range []string{s.ConnEnv["SIDEKIQ_REDIS_HOST"], urlHost(s.ConnEnv["SIDEKIQ_REDIS_URL"])} {
			if t := byHost(services, h); t != nil {
				main[t.Name] = true
			}
		}
		if _, ok := s.ConnFrom["CACHE_REDIS_URL"]; ok {
			p.cacheURL = true // it beats CACHE_REDIS_HOST: the form to write
		}
	}
	notOurs := func(t *Service) bool { return t != ours && (ours == nil || t.Name != ours.Name) && !main[t.Name] }
	for _, s := range services {
		if r := RoleOf(s); r != RoleWeb && r != RoleSidekiq {
			continue
		}
		// CACHE_REDIS_URL first, as Mastodon reads it.
		host := urlHost(s.ConnEnv["CACHE_REDIS_URL"])
		if host == "" {
			host = s.ConnEnv["CACHE_REDIS_HOST"]
		}
		if t := byHost(services, host); t != nil && notOurs(t) {
			return t, false
		}
	}
	for i := range services {
		s := &services[i]
		if RoleOf(*s) == RoleRedis && strings.Contains(s.Name, "cache") && notOurs(s) {
			return s, true
		}
	}
	return nil, false
}

// keepAdminsCache keeps the admin's cache Redis and counts it: its
// maxmemory with a fifth for Redis's own overhead, or what compose-scale
// would give one when it sets none. Never a second one beside it.
func (p *planning) keepAdminsCache(theirs *Service, unused bool) {
	mem := int64(0)
	if m := maxmemoryRE.FindStringSubmatch(strings.Join(theirs.Command, " ")); m != nil {
		mem = parseRedisBytes(m[1])
	}
	budget := mem + mem/5
	if mem == 0 {
		budget = cacheMaxMemory(p.Machine) + cacheMaxMemory(p.Machine)/5
	}
	p.CacheRedis = &CacheRedisPlan{Service: theirs.Name, Exists: true, MaxMemory: mem, MemoryBytes: budget, Why: "the app's CACHE_REDIS_URL or CACHE_REDIS_HOST names the file's own cache Redis: kept, and counted in the memory budget"}
	if unused {
		p.CacheRedis.Why = fmt.Sprintf("the file's own %s, kept and counted in the memory budget; compose-scale writes no second one", theirs.Name)
		p.Notes = append(p.Notes, fmt.Sprintf("%s runs Redis, but the app's CACHE_REDIS_HOST and CACHE_REDIS_URL do not name it, so Rails's cache is in the main Redis: set CACHE_REDIS_HOST=%s on web and sidekiq (and give it --maxmemory with --maxmemory-policy allkeys-lru) to use it", theirs.Name, theirs.Name))
	}
}

// CacheRedisCommand is the generated service's command: an LRU cache that
// never persists (no RDB snapshots, no AOF) and never refuses a write.
func CacheRedisCommand(maxMemory int64) []string {
	return []string{"redis-server", "--maxmemory", fmt.Sprintf("%dmb", maxMemory/MiB), "--maxmemory-policy", "allkeys-lru", "--save", "", "--appendonly", "no"}
}

// cacheChanges writes, updates or removes compose-scale's cache Redis and
// points web and sidekiq at it (streaming reads only REDIS_*).
func (p *planning) cacheChanges(after string) []Change {
	var app []string
	if p.Web != nil {
		app = append(app, p.Web.Service)
	}
	for _, s := range p.Sidekiq {
		app = append(app, s.Name)
	}
	pointers := [][2]string{{"CACHE_REDIS_HOST", cacheService}, {"CACHE_REDIS_PORT", cachePort}}
	if p.cacheURL {
		// The app reads CACHE_REDIS_URL before CACHE_REDIS_HOST; the
		// cache Redis has no password, so pointing it there copies none.
		pointers = [][2]string{{"CACHE_REDIS_URL", cacheURL}}
	}
	var c []Change
	if p.removeCache != "" {
		c = append(c, Change{Kind: Remove, Service: p.removeCache})
		for _, name := range app {
			for _, kv := range [][2]string{{"CACHE_REDIS_HOST", cacheService}, {"CACHE_REDIS_PORT", cachePort}, {"CACHE_REDIS_URL", cacheURL}} {
				c = append(c, Change{Kind: RemoveEnv, Service: name, Key: kv[0], Value: kv[1]})
			}
		}
		return c
	}
	cr := p.CacheRedis
	if cr == nil || !cr.Generated {
		return nil
	}
	cmd := CacheRedisCommand(cr.MaxMemory)
	if cr.Exists {
		c = append(c, Change{Kind: SetCommand, Service: cacheService, Command: cmd})
	} else {
		if after == "" {
			after = p.cacheAfter
		}
		c = append(c, Change{Kind: AddService, Service: cacheService, After: after, New: &NewService{
			Comment:     "Rails's cache, written by compose-scale: LRU, never persisted",
			Image:       p.cacheImage,
			Restart:     "always",
			Command:     cmd,
			CommandFlow: true,
			Networks:    p.cacheNetworks,
			Healthcheck: []string{"CMD", "redis-cli", "ping"},
		}})
	}
	keep := p.keepEnv // first written: what the admin had is kept
	if cr.Exists {
		keep = SetEnv
	}
	for _, name := range app {
		for _, kv := range pointers {
			c = append(c, Change{Kind: keep, Service: name, Key: kv[0], Value: kv[1]})
		}
	}
	return c
}

// parseRedisBytes reads Redis's memory units: 512mb, 1gb, 100000.
func parseRedisBytes(s string) int64 {
	s = strings.ToLower(strings.Trim(s, `"'`))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"gb", GiB}, {"mb", MiB}, {"kb", KiB}, {"g", 1000 * 1000 * 1000}, {"m", 1000 * 1000}, {"k", 1000}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.n
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		return 0
	}
	return n * mult
}
