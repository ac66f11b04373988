package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/planner/pgtune"
)

// maxPostgresWorkers is the most max_parallel_workers,
// max_parallel_workers_per_gather and max_parallel_maintenance_workers
// Postgres accepts (MAX_PARALLEL_WORKER_LIMIT).
const maxPostgresWorkers = 1024

// tunePostgres sizes the db service: PGTune's settings for the memory and
// CPUs Postgres gets and the planned max_connections, merged into its
// command (flags the admin set that PGTune does not manage are kept), and
// shm_size raised where parallel queries need more.
func (p *planning) tunePostgres(in Input, db *Service, sz sizing) error {
	pg := p.Postgres
	pg.Service, pg.MemoryBytes, pg.CPUs = db.Name, sz.dbMem, p.Machine.CPUs
	if in.DBMachine != nil {
		pg.CPUs = max(in.DBMachine.CPUs, 1)
	}
	if pg.CPUs > maxPostgresWorkers {
		// max_parallel_workers (and the gather and maintenance ones)
		// stop at 1024: a server given more refuses to start.
		p.Notes = append(p.Notes, fmt.Sprintf("%s: tuned for %d CPUs, not %d: Postgres accepts at most %d parallel workers", db.Name, maxPostgresWorkers, pg.CPUs, maxPostgresWorkers))
		pg.CPUs = maxPostgresWorkers
	}
	pg.Type = in.DBType
	if pg.Type == "" {
		pg.Type = OLTP
	}
	major, ok := PostgresMajorFromImage(db.image())
	if !ok {
		major, pg.MajorAssumed = NewestPostgres, true
		p.Notes = append(p.Notes, fmt.Sprintf("the image %q does not say which Postgres it runs: tuned for Postgres %d; pin a version tag (postgres:16-alpine) so settings match the server", db.Image, NewestPostgres))
	}
	pg.Major = major
	pg.Settings = pgtune.Tune(pgtune.TuneInput{MemoryKB: sz.dbMem / KiB, CPUs: pg.CPUs, MaxConnections: pg.MaxConnections, Major: major, Type: pg.Type})
	if p.throughBouncer() {
		for i := range pg.Settings {
			if pg.Settings[i].Name == "max_connections" {
				pg.Settings[i].Why = fmt.Sprintf("%s's server pool and the pools that bypass it, plus 15 loose (migrations, psql)", p.bouncer.service)
			}
		}
	}

	cmd, err := ParsePostgresCommand(db.Command)
	if err != nil {
		return &ServiceError{Service: db.Name, Msg: err.Error()}
	}
	cmd.Manage(TunedSettings, pg.Settings)
	pg.Command = cmd.Tokens()

	// Sanity rules a DBA checks after PGTune: each a line in the report
	// when it bites.
	workMem := settingKB(pg.Settings, "work_mem")
	if total := int64(pg.MaxConnections) * workMem * KiB; total > 2*pg.MemoryBytes {
		p.Warnings = append(p.Warnings, fmt.Sprintf("max_connections x work_mem = %s, more than twice Postgres's %s: a burst of sorts could exhaust memory; lower work_mem or give Postgres more (--db-memory)", FormatBytes(total), FormatBytes(pg.MemoryBytes)))
	}

	// Parallel queries share their hash tables through /dev/shm, which is
	// 64 MB in a container unless shm_size says otherwise. Keep room for
	// every parallel worker (and the leader) to hold two work_mem's worth.
	workers := int64(8) // Postgres's default max_parallel_workers
	if v := settingValue(pg.Settings, "max_parallel_workers"); v != "" {
		n, _ := strconv.Atoi(v)
		workers = int64(n)
	}
	need := 2 * workMem * KiB * (workers + 1)
	need = max(256*MiB, (need+64*MiB-1)/(64*MiB)*(64*MiB))
	if limit := max(256*MiB, pg.MemoryBytes/(64*MiB)*(64*MiB)); need > limit {
		// /dev/shm is memory: never more than Postgres has.
		p.Notes = append(p.Notes, fmt.Sprintf("%s: shm_size held at %s, Postgres's memory, though its parallel workers could ask for %s", db.Name, FormatBytes(limit), FormatBytes(need)))
		need = limit
	}
	pg.ShmSizeBytes = db.ShmSizeBytes
	pg.RestoresShm = db.ShmKept && db.ShmSizeBytes >= need
	if db.ShmSizeBytes < need {
		pg.ShmSizeBytes, pg.SetsShmSize = need, true
		was := "Docker's default 64 MB"
		if db.ShmSizeBytes > 0 {
			was = FormatBytes(db.ShmSizeBytes)
		}
		p.Notes = append(p.Notes, fmt.Sprintf("%s: shm_size raised from %s to %s so parallel queries (%d workers, work_mem %s) do not run out of /dev/shm", db.Name, was, FormatBytes(need), workers, pgtune.FormatKB(workMem)))
	}
	return nil
}

func settingValue(s []Setting, name string) string {
	for _, x := range s {
		if x.Name == name {
			return x.Value
		}
	}
	return ""
}

// settingKB reads back a size FormatKB wrote.
func settingKB(s []Setting, name string) int64 {
	v := settingValue(s, name)
	for suffix, mult := range map[string]int64{"GB": pgtune.KBPerGB, "MB": pgtune.KBPerMB, "kB": 1} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			x, _ := strconv.ParseInt(n, 10, 64)
			return x * mult
		}
	}
	return 0
}

// formatShm writes a size the way compose files write shm_size (256mb).
func formatShm(b int64) string {
	if b%GiB == 0 {
		return fmt.Sprintf("%dgb", b/GiB)
	}
	return fmt.Sprintf("%dmb", (b+MiB-1)/MiB)
}
