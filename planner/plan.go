package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/compose-scale/compose-scale/planner/mastodon"
	"github.com/compose-scale/compose-scale/planner/sidekiq"
)

// Input is everything the planner decides from.
type Input struct {
	Services []Service // in file order
	Machine  Machine
	Strategy Strategy // "" means Auto
	// Version overrides the Mastodon version read from the image tags.
	Version *Version
	// VarsSource names where interpolated values came from (".env and the
	// environment"), for the report.
	VarsSource string
	// SourceVersion is the version of a build context's source
	// (lib/mastodon/version.rb), used when no image tag says.
	SourceVersion *Version
	// InstanceVersion is the version the running instance reports (its
	// container's image label or lib/mastodon/version.rb), used when
	// neither the tags nor a build context say; InstanceSource says where
	// it came from, or, when it is nil, why the instance could not tell
	// ("" when it was not asked).
	InstanceVersion *Version
	InstanceSource  string
	// MaxConnections fixes Postgres max_connections; 0 plans it.
	MaxConnections int
	// ReservedConnections are connections the pools must leave free on
	// the database for what opens them beside the running processes:
	// the pods a rolling update adds, migration jobs (a cluster's).
	ReservedConnections int
	// DBMemory is the memory Postgres may use; 0 means DBMemoryShare of the
	// machine (default one half: see sizing).
	DBMemory      int64
	DBMemoryShare float64
	// DBMachine is the machine Postgres runs on when it is not this one
	// (a database node of a cluster): Postgres is tuned for its memory and
	// CPUs, and none of Machine goes to it. nil: Postgres shares Machine.
	DBMachine *Machine
	// DBType is PGTune's workload type; "" means OLTP.
	DBType DBType
	// PgBouncer and CacheRedis are --pgbouncer and --cache-redis; ""
	// is auto.
	PgBouncer, CacheRedis Toggle
	// DBService names the database service (--db-service); "" finds it
	// from DB_HOST, depends_on and names.
	DBService string
	// Measured is what reading the running instance found; nil plans
	// with the estimates.
	Measured *Measured
	// KeepNames plans for an override file, which can neither rename nor
	// delete a service: the file's sidekiq services keep their names (the
	// plan's processes adopt them) and a service the plan drops is
	// switched off.
	KeepNames bool
	// Replicated plans for an engine that runs replicas of one service
	// (Kubernetes, Swarm): streaming stays one service, its processes
	// its replicas, instead of copies on ports of their own.
	Replicated bool
	// KeepDBPort keeps a published db/redis port, bound to loopback,
	// for admins who connect from the host.
	KeepDBPort bool
	// WorkersPerCore is the most sidekiq worker processes the plan puts
	// on each CPU, within memory and connections; 0 is the planner's own
	// rule (see afford in assign.go). bench/surge sets 1 to measure the
	// rule against one worker a core.
	WorkersPerCore int
	Estimates      Estimates
}

// Plan is the decided layout, the budget that justifies it, and the changes
// that turn the compose file into it.
type Plan struct {
	Version       Version
	VersionSource string // where Version came from: "image tag of sidekiq", "--mastodon-version"
	// OwnSplit says the file's sidekiq services are the admin's own split
	// (no layout compose-scale writes): what a merge of them loses, a
	// writer keeps for a bigger machine to bring back.
	OwnSplit  bool
	Machine   Machine
	Strategy  Strategy
	Why       string // one line on why this strategy
	Sidekiq   []Process
	Web       *WebPlan
	Streaming *StreamingPlan
	Postgres  *PostgresPlan
	// DBWhy says why Postgres.Service was taken for the database;
	// ExternalDB names the host the app uses when it is not in the file.
	DBWhy      string
	ExternalDB string
	// PgBouncer is the admin's PgBouncer the app connects through, if any.
	PgBouncer *PgBouncerPlan
	// GenBouncer is the PgBouncer compose-scale writes (or keeps up to
	// date).
	GenBouncer *GeneratedBouncer
	// CacheRedis is Rails's cache Redis, when it has one of its own.
	CacheRedis *CacheRedisPlan
	// ForkQueues are queues the file's sidekiq services listen on that no
	// release has (a fork's own): kept, one listener each.
	ForkQueues []Queue
	// RailsPools is how many pools each Rails process (Puma, Sidekiq)
	// opens on the database the plan sizes: Mastodon's primary, plus its
	// read replica when that is the same database.
	RailsPools int
	Budget     Budget
	Changes    []Change
	Estimates  Estimates // the memory figures the plan used
	// MeasuredFigures says which of the plan's numbers came from reading
	// the running instance (--observed), one line each.
	MeasuredFigures []string
	Notes           []string // corrections made to the file, one line each
	Warnings        []string // things an admin should look at
}

// WebPlan sizes Puma.
type WebPlan struct {
	Service        string
	Processes      int // Puma processes in each container; 1 means single mode
	WebConcurrency int // the WEB_CONCURRENCY value: 0 for single mode
	Threads        int
	Replicas       int // containers (scale / deploy.replicas)
	// Upstream is the nginx upstream block when replicas publish a range.
	Upstream string
}

// StreamingPlan sizes the streaming server.
type StreamingPlan struct {
	Service   string
	Processes int // STREAMING_CLUSTER_NUM before 4.2; from 4.2 one per service
	// Services are the streaming services from 4.2 on (streaming,
	// streaming-2, ...), each one process on its own host port.
	Services []string
	// Upstream is the nginx upstream block for more than one service.
	Upstream string
	Pool     int
	// SetsPool is false before 4.1, where the streaming pool is fixed at 10
	// and DB_POOL has no effect on it.
	SetsPool    bool
	SetsCluster bool
}

// PostgresPlan is the database side: its connections and its tuning.
type PostgresPlan struct {
	Service        string
	MaxConnections int
	MemoryBytes    int64 // the memory Postgres is tuned for
	CPUs           int
	Major          int  // from the image tag
	MajorAssumed   bool // the tag did not say: tuned for NewestPostgres
	Type           DBType
	Settings       []Setting // as written in the command, PGTune's order
	Command        []string
	ShmSizeBytes   int64 // planned shm_size
	SetsShmSize    bool  // shm_size is raised (or added)
	RestoresShm    bool  // the admin's own shm_size is enough again: put back
}

// planning is one Make at work: the plan being built and what its phases
// hand each other, none of which a writer needs (Make returns the Plan
// alone).
type planning struct {
	*Plan
	bouncer  *bouncerFacts
	disabled []existingProcess // sidekiq services switched off (scale: 0)
	// removeBouncer names compose-scale's PgBouncer to remove
	// (--pgbouncer off).
	removeBouncer           string
	removeCache, cacheImage string
	cacheURL                bool // the app sets CACHE_REDIS_URL: write that form
	cacheAfter              string
	cacheNetworks           []string
	// wantedClients is what the machine's memory could run through a
	// PgBouncer whose client limit binds.
	wantedClients int
	hasDB         bool
	// perCore is Input.WorkersPerCore; 0 is the planner's own rule.
	perCore int
	// keepEnv and keepField are the kinds that change an entry the admin
	// may have written: keeping what it held, except in an override file.
	keepEnv, keepField ChangeKind
	measured           *Measured
}

func (p *planning) resolveVersion(in Input, sidekiq []Service, web *Service, streamings []Service) error {
	if in.Version != nil {
		p.Version, p.VersionSource = *in.Version, "--mastodon-version"
		return nil
	}
	candidates := append([]Service(nil), sidekiq...)
	if web != nil {
		candidates = append(candidates, *web)
	}
	for _, s := range candidates {
		if v, ok := VersionFromImage(s.image()); ok {
			p.Version, p.VersionSource = v, fmt.Sprintf("from %s's image %s", s.Name, s.Image)
			if s.image() != s.Image {
				p.VersionSource += ", interpolated with " + in.VarsSource
			}
			return nil
		}
	}
	if in.SourceVersion != nil {
		p.Version, p.VersionSource = *in.SourceVersion, "from lib/mastodon/version.rb in the build context"
		return nil
	}
	if in.InstanceVersion != nil {
		p.Version, p.VersionSource = *in.InstanceVersion, "from "+in.InstanceSource+", since the file does not say"
		return nil
	}
	// Nothing says: plan so that every version's rules hold.
	img := sidekiq[0].Image
	if img == "" {
		img = "none: built from source"
	}
	p.Version = UnknownVersion
	p.VersionSource = fmt.Sprintf("%s's image %s has no version tag, and no lib/mastodon/version.rb is in its build context", sidekiq[0].Name, img)
	if in.InstanceSource != "" {
		p.VersionSource += "; the running instance could not tell (" + in.InstanceSource + ")"
	}
	safe := fmt.Sprintf("every version from %s to %s (every queue any of them has, DB_POOL on every service, streaming with DB_POOL and STREAMING_CLUSTER_NUM=1, connections counted for the worst case, 4.2.0's two pools per process)", short(Oldest), short(Newest))
	for _, s := range streamings {
		if base := imageBase(s.image()); base == "mastodon-streaming" {
			// Upstream (and glitch-soc) publish a separate streaming
			// image from 4.3.0: older rules cannot apply.
			p.Version.FloorMajor, p.Version.FloorMinor = 4, 3
			p.VersionSource += fmt.Sprintf("; %s runs %s, published from v4.3", s.Name, s.Image)
			safe = fmt.Sprintf("every version from v4.3 to %s (every queue any of them has, DB_POOL on every service)", short(Newest))
			break
		}
	}
	p.Warnings = append(p.Warnings, fmt.Sprintf("the Mastodon version is unknown: the plan is safe for %s; to plan for yours, tag the image with its version or pass --mastodon-version, for example --mastodon-version v4.3", safe))
	return nil
}

func hasClone(cs []Change) bool {
	for _, c := range cs {
		if c.Kind == Clone {
			return true
		}
	}
	return false
}

// sidekiqFit is how many sidekiq processes the machine's memory holds
// (0 when it cannot be sized: the plan will say why).
func sidekiqFit(in Input, m Machine, est Estimates, hasDB, hasRedis bool, v Version, searchMem int64) int {
	sz, err := size(in, m, est, hasDB, hasRedis, v, searchMem)
	if err != nil {
		return 1 << 30
	}
	return sz.sidekiqProcs
}

// imageBase is an image's name without registry, path or tag.
func imageBase(image string) string {
	repo := strings.ToLower(image)
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo[strings.LastIndex(repo, "/")+1:]
}

func short(v Version) string { return fmt.Sprintf("v%d.%d", v.Major, v.Minor) }

// existingProcess is a sidekiq service as found in the file.
type existingProcess struct {
	Fixed   bool // in a file compose-scale does not write: keeps its name
	Service string
	Cmd     SidekiqCommand
	Queues  []Queue
	Build   bool
	Image   string
	ID      identity
	// Replicas is scale or deploy.replicas: each replica is a process.
	Replicas int
}

func (p *planning) parseSidekiq(services []Service) ([]existingProcess, error) {
	v := p.Version
	known := map[string]bool{}
	for _, q := range QueuesFor(v) {
		known[q.Name] = true
	}
	var out []existingProcess
	for _, s := range services {
		c, err := ParseSidekiqCommand(s.Command)
		if err != nil {
			return nil, &ServiceError{Service: s.Name, Msg: err.Error()}
		}
		for _, q := range c.Queues {
			if !known[q.Name] && !everyReleaseQueue[q.Name] && nearMiss(q.Name) == "" {
				if !hasQueue(p.ForkQueues, q.Name) {
					p.ForkQueues = append(p.ForkQueues, q)
				}
				continue
			}
			if !known[q.Name] {
				if m := nearMiss(q.Name); m != "" && !everyReleaseQueue[q.Name] {
					return nil, &ServiceError{Service: s.Name, Msg: fmt.Sprintf("sidekiq queue %q does not exist in Mastodon %s (queues: %s); did you mean %s? a misspelt queue stalls silently; fix the name", q.Name, v, strings.Join(sidekiq.QueueNames(QueuesFor(v)), ", "), m)}
				}
				return nil, &ServiceError{Service: s.Name, Msg: fmt.Sprintf("sidekiq queue %q does not exist in Mastodon %s (queues: %s): a misspelt queue stalls silently; fix the name", q.Name, v, strings.Join(sidekiq.QueueNames(QueuesFor(v)), ", "))}
			}
		}
		if !mastodon.AcceptsDuplicateQueues(v) {
			if dropped := c.DedupeQueues(); len(dropped) > 0 {
				p.Notes = append(p.Notes, fmt.Sprintf("%s: listed queue %s twice, which Sidekiq 6 and older refuse at boot (\"cannot be defined twice\"): kept the first listing", s.Name, strings.Join(dropped, ", ")))
			}
		}
		if c.ConcurrencyVar != "" {
			p.Notes = append(p.Notes, fmt.Sprintf("%s: -c %s becomes the planned number: DB_POOL must equal it, and the plan sizes both against the connection budget", s.Name, c.ConcurrencyVar))
		}
		out = append(out, existingProcess{Service: s.Name, Cmd: c, Queues: c.Queues, Build: s.Build, Image: s.Image, ID: identityOf(s), Replicas: max(s.Replicas, 1), Fixed: s.Fixed})
	}
	return out, nil
}

// recognise reports which strategy produced a layout, if any: the services'
// names and queue lists must be exactly one of this tool's layouts.
//
// Layouts of earlier Mastodon versions count too, so that a file rewritten
// before an upgrade is re-planned for the new queues rather than patched.
func recognise(existing []existingProcess, current Version) (Strategy, bool) {
	for _, v := range []Version{current, {Major: 3, Minor: 2}, {Major: 3, Minor: 5}, {Major: 4, Minor: 3}, {Major: 4, Minor: 4}, UnknownVersion} {
		if s, ok := recogniseFor(existing, v); ok {
			return s, true
		}
	}
	return "", false
}

// legacyPermuted reports whether the file's split is the permuted layout
// compose-scale planned before default had a worker of its own; it is
// also the seeds' hand recipe, corrected, so it is kept as the admin's.
func legacyPermuted(existing []existingProcess, v Version) bool {
	for w := 2; w <= len(legacyOrderings(v)); w++ {
		if matchesLayout(existing, legacyPermutedLayout(v, w)) {
			return true
		}
	}
	return false
}

func recogniseFor(existing []existingProcess, v Version) (Strategy, bool) {
	if matchesLayout(existing, perQueueLayout(v)) || matchesLayout(existing, perQueueLayoutWithFasp(v)) {
		return PerQueue, true
	}
	// From two workers: auto never plans permuted with one, so a split
	// with one worker (an admin's, or one shrunk to fit) stays theirs.
	for w := 2; w <= len(existing); w++ {
		if matchesLayout(existing, permutedLayout(v, w)) || matchesLayout(existing, aloneLayout(v, w)) || matchesLayout(existing, permutedSmallLayout(v, w, nil)) {
			return Permuted, true
		}
	}

	for w := 0; w <= len(existing); w++ {
		if matchesLayout(existing, weightedLayout(v, w)) {
			return Weighted, true
		}
	}
	return "", false
}

// matchesLayout reports whether the file's sidekiq services are exactly
// layout: each service the layout's process of its name and queues; a
// service that keeps its name (Fixed, under --override, where a planned
// process adopted it) the process of its queues, whatever its name.
func matchesLayout(existing []existingProcess, layout []Process) bool {
	if len(existing) != len(layout) {
		return false
	}
	left := map[string]int{}
	byQueues := map[string]int{}
	for _, p := range layout {
		left[p.Name+"="+sidekiq.Spec(p.Queues)]++
		byQueues[sidekiq.Spec(p.Queues)]++
	}
	var fixed []existingProcess
	for _, e := range existing {
		key := e.Service + "=" + sidekiq.Spec(e.Queues)
		if left[key] > 0 {
			left[key]--
			byQueues[sidekiq.Spec(e.Queues)]--
			continue
		}
		if !e.Fixed {
			return false
		}
		fixed = append(fixed, e)
	}
	for _, e := range fixed {
		if byQueues[sidekiq.Spec(e.Queues)] == 0 {
			return false
		}
		byQueues[sidekiq.Spec(e.Queues)]--
	}
	return true
}

func layoutKey(existing []existingProcess) string {
	ps := make([]Process, len(existing))
	for i, e := range existing {
		ps[i] = Process{Name: e.Service, Queues: e.Queues}
	}
	return layoutKeyOf(ps)
}

// layoutKeyOf identifies a layout by its services' names and queue lists,
// in any order.
func layoutKeyOf(ps []Process) string {
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.Name+"="+sidekiq.Spec(p.Queues))
	}
	sort.Strings(lines)
	return strings.Join(lines, ";")
}
