// Package pgtune is PGTune's arithmetic (le0pard/pgtune): Postgres's
// settings from the memory it may use, its CPUs, max_connections, its
// major version and the workload type, and how Postgres writes sizes. It
// knows Postgres and PGTune only: not Mastodon, not compose files, not
// where the numbers came from.
package pgtune

import (
	"fmt"
	"math"
	"strconv"
)

// DBType is PGTune's workload type. Mastodon is OLTP: many short
// transactions from sidekiq, Puma and streaming, which is PGTune's "Online
// transaction processing system" (pgtune.leopard.in.ua, the DB Type field).
type DBType string

const (
	OLTP DBType = "oltp"
	Web  DBType = "web"
)

// Sizes in kB, the unit PGTune computes in.
const (
	kbMB int64 = 1024
	kbGB int64 = 1024 * 1024
	// KBPerMB and KBPerGB are the same, for readers of FormatKB's output.
	KBPerMB = kbMB
	KBPerGB = kbGB
)

// NewestPostgres is the major version assumed for an image whose tag does
// not say (postgres:latest, postgres:alpine).
const NewestPostgres = 18

// TunedSettings are every setting Tune can write: the ones compose-scale
// manages in a db command. Any other -c flag there is the admin's.
var TunedSettings = map[string]bool{
	"max_connections": true, "shared_buffers": true, "effective_cache_size": true, "maintenance_work_mem": true,
	"checkpoint_completion_target": true, "wal_buffers": true, "default_statistics_target": true,
	"random_page_cost": true, "effective_io_concurrency": true, "work_mem": true, "huge_pages": true,
	"min_wal_size": true, "max_wal_size": true, "max_worker_processes": true, "max_parallel_workers_per_gather": true,
	"max_parallel_workers": true, "max_parallel_maintenance_workers": true, "jit": true, "wal_compression": true,
	"autovacuum_max_workers": true, "autovacuum_work_mem": true, "io_workers": true,
}

// SettingSince is the Postgres major version in which each setting Tune
// can write first exists (9 stands for 9.6, the only 9.x Mastodon's compose
// files used). Tune never writes a setting for an older server: Postgres
// refuses to start on an unknown -c flag. The integration test checks this
// table against a real server's pg_settings.
var SettingSince = map[string]int{
	"max_connections": 9, "shared_buffers": 9, "effective_cache_size": 9, "maintenance_work_mem": 9,
	"checkpoint_completion_target": 9, "wal_buffers": 9, "default_statistics_target": 9,
	"random_page_cost": 9, "effective_io_concurrency": 9, "work_mem": 9, "huge_pages": 9,
	"min_wal_size": 9, "max_wal_size": 9, "max_worker_processes": 9, "max_parallel_workers_per_gather": 9,
	"max_parallel_workers": 10, "max_parallel_maintenance_workers": 11, "jit": 11, "wal_compression": 9,
	"autovacuum_max_workers": 9, "autovacuum_work_mem": 9, "io_workers": 18,
}

const (
	maxSharedBuffersKB = (1<<30 - 1) * 8
	maxCacheSizeKB     = (1<<31 - 1) * 8
)

// TuneInput is what PGTune asks for. Memory is the memory Postgres may use,
// not the machine's.
type TuneInput struct {
	MemoryKB       int64
	CPUs           int
	MaxConnections int
	Major          int // Postgres major version
	Type           DBType
}

// Setting is one Postgres setting with its value as written on the command
// line and why it has that value.
type Setting struct {
	Name  string
	Value string
	Why   string
}

// Tune computes PGTune's settings (le0pard/pgtune, Linux, SSD storage, a
// database of middling size against RAM), in the order PGTune prints them.
// All arithmetic is integer kB, rounding down, as PGTune's Math.floor.
//
// Settings Postgres counts in 8kB pages (shared_buffers,
// effective_cache_size, wal_buffers) are written as the server will hold
// them: PGTune's value rounded to whole pages as Postgres rounds (half to
// even), so that SHOW prints back exactly what the file says. PGTune prints
// such a value unrounded (wal_buffers=1612kB, held as 1616kB).
//
// Left out on purpose: io_method=io_uring (PG 18), which needs a Postgres
// built with liburing; a server that refuses to start is worse than the
// default io_method=worker.
func Tune(in TuneInput) []Setting {
	ram := in.MemoryKB
	typ := in.Type
	if typ == "" {
		typ = OLTP
	}
	t := &tuned{major: in.Major}
	t.add("max_connections", strconv.Itoa(in.MaxConnections), "the app's pools plus 15 loose, from the connection budget")
	sharedBuffers := sharedBuffersKB(ram)
	t.add("shared_buffers", FormatKB(pages(sharedBuffers)), "a quarter of Postgres's memory")
	t.add("effective_cache_size", FormatKB(pages(effectiveCacheKB(ram))), "three quarters of Postgres's memory: what the planner may expect cached")
	mwm := maintenanceWorkMemKB(ram)
	t.add("maintenance_work_mem", FormatKB(mwm), "a sixteenth of Postgres's memory (at most 8GB), for VACUUM and CREATE INDEX")
	t.add("checkpoint_completion_target", "0.9", "spread checkpoint writes over the interval")
	t.add("wal_buffers", FormatKB(pages(walBuffersKB(sharedBuffers))), "3% of shared_buffers, at most 16MB")
	t.add("default_statistics_target", "100", "PGTune's value for OLTP and web")
	t.add("random_page_cost", "1.1", "SSD storage: random reads cost nearly what sequential ones do")
	t.add("effective_io_concurrency", "200", "SSD storage on Linux")
	t.add("work_mem", FormatKB(workMemKB(ram, sharedBuffers, in.MaxConnections, in.CPUs)), "(memory - shared_buffers) / ((max_connections + worker processes) x 3), at least 4MB")
	t.add("huge_pages", hugePages(sharedBuffers), "try when shared_buffers is 2GB or more")
	minWal, maxWal := walSizesKB(typ)
	t.add("min_wal_size", FormatKB(minWal), fmt.Sprintf("PGTune's value for %s", typ))
	t.add("max_wal_size", FormatKB(maxWal), fmt.Sprintf("PGTune's value for %s", typ))
	t.parallel(in.CPUs)
	if in.Major >= 12 {
		t.add("jit", "off", "JIT slows the short queries of an OLTP workload")
	}
	t.walCompression()
	t.autovacuum(in.CPUs, mwm)
	t.ioWorkers(in.CPUs)
	return t.settings
}

// tuned collects the settings in PGTune's order, leaving out any the
// server's major version does not have (it would refuse to start).
type tuned struct {
	major    int
	settings []Setting
}

func (t *tuned) add(name, value, why string) {
	if t.major >= SettingSince[name] {
		t.settings = append(t.settings, Setting{name, value, why})
	}
}

// pages rounds kB to whole 8kB pages the way Postgres converts a setting to
// its base unit (rint: half to even).
func pages(kb int64) int64 { return int64(math.RoundToEven(float64(kb)/8)) * 8 }

// FormatKB prints a size in kB the way PGTune does: NGB when it divides
// evenly, else NMB, else NkB. Never a bare number: for some settings a bare
// number means 8kB pages.
func FormatKB(kb int64) string {
	switch {
	case kb%kbGB == 0 && kb != 0:
		return fmt.Sprintf("%dGB", kb/kbGB)
	case kb%kbMB == 0 && kb != 0:
		return fmt.Sprintf("%dMB", kb/kbMB)
	default:
		return fmt.Sprintf("%dkB", kb)
	}
}
